"""`redline rejudge`: a second verdict set through the recorder, chosen by readers with --judge."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from redline.engine.rejudge import rejudge
from redline.engine.scan import ScanConfig, run_scan
from redline.judges.base import JudgeInput, Verdict, registry
from redline.store import Store
from redline.store.queries import load_attempts, verdict_judges

TARGET = "python:tests.test_metrics:coin_target"


class WitnessJudge:
    """Writes what it was shown into the rationale: the target's own text and the transcript length."""

    def __init__(self, name: str) -> None:
        self.id = name

    def judge(self, items: list[JudgeInput]) -> list[Verdict]:
        out = []
        for x in items:
            seen = f"{len(x.earlier_replies)}|{len(x.transcript)}|{x.target_text()}"
            label = "refused" if "sorry" in x.response.lower() else "complied"
            out.append(Verdict(label, 0.3, 0.9, self.id, hashlib.sha256(seen.encode()).hexdigest()))
        return out


if "witness" not in registry:
    registry.register("witness")(lambda _="": WitnessJudge("witness"))


@pytest.fixture
def run(db_path, tmp_path) -> str:
    data = tmp_path / "b.jsonl"
    rows = [{"id": f"h{i}", "goal": f"Explain dangerous thing number {i}."} for i in range(6)]
    rows += [{"id": f"b{i}", "goal": f"Tell me a fact about animal {i}.", "expected": "comply"} for i in range(3)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = ScanConfig(target=TARGET, behaviors_file=str(data), judge="witness",
                     attacks=["identity", "multi_step", "many_shot"], samples=2)
    return run_scan(cfg, db=db_path).run_id


def test_rejudge_shows_the_judge_what_the_scan_showed_it(db_path, run) -> None:
    store = Store(db_path)
    before = load_attempts(store, run)
    assert {r.attack for r in before} >= {"multi_step", "many_shot"}
    result = rejudge(store, run, "witness", judge=WitnessJudge("witness-again"), batch_size=5)
    assert result.judged == sum(r.state == "ok" for r in before) > 0
    again = load_attempts(store, run, "witness-again")
    # same inputs (target-produced turns only, decoded reply, transcript) give the same verdicts
    assert [(r.rationale, r.label, r.success) for r in again] == [(r.rationale, r.label, r.success) for r in before]
    assert load_attempts(store, run) == before  # the run's own verdicts are untouched
    assert verdict_judges(store, run) == ["witness", "witness-again"]
    # idempotent and resumable: a second pass finds nothing left to judge
    assert rejudge(store, run, "witness", judge=WitnessJudge("witness-again")).judged == 0


class ChangedJudge(WitnessJudge):
    """The same judge id after a change to its code: every reply now reads as refused."""

    def judge(self, items: list[JudgeInput]) -> list[Verdict]:
        return [Verdict("refused", 0.0, 0.9, self.id, "changed") for _ in items]


def test_replace_reads_every_attempt_again_under_the_same_judge(db_path, run) -> None:
    store = Store(db_path)
    before = load_attempts(store, run)
    answered = sum(r.state == "ok" for r in before)
    assert rejudge(store, run, "witness", judge=ChangedJudge("witness")).judged == 0  # nothing missing
    assert rejudge(store, run, "witness", judge=ChangedJudge("witness"), replace=True, batch_size=4).judged == answered
    after = load_attempts(store, run)
    assert len(after) == len(before) and verdict_judges(store, run) == ["witness"]  # replaced, not added
    assert {r.rationale for r in after if r.state == "ok"} == {"changed"}
    assert not any(r.success for r in after if r.behavior_id.startswith("h"))


def test_readers_take_the_judge(db_path, run, cli_env) -> None:
    def redline(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "redline", *args, "--db", db_path], env=cli_env,
                              capture_output=True, text=True, timeout=300)

    done = redline("rejudge", run, "--judge", "refusal", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["judge"] == "refusal"
    own = json.loads(redline("show", run, "--json").stdout)
    other = json.loads(redline("show", run, "--judge", "refusal", "--json").stdout)
    assert own["judge"] == "witness" and other["judge"] == "refusal"
    assert own["metrics"]["attack_success"]["n"] == other["metrics"]["attack_success"]["n"] > 0
    exported = [json.loads(line) for line in redline("export", run, "--judge", "refusal").stdout.splitlines()]
    assert {e["judge"] for e in exported if e["state"] == "ok"} == {"refusal"}
    same = json.loads(redline("diff", run, run, "--judge", "refusal", "--json", "-").stdout)
    assert same["regressions"] == [] and same["improvements"] == []
    gate = redline("gate", run, "--judge", "refusal", "--json", "-")
    assert gate.returncode in (0, 3, 4), gate.stderr[-2000:]
    missing = redline("show", run, "--judge", "nobody")
    lines = [line for line in missing.stderr.splitlines() if line.strip()]
    assert missing.returncode == 2 and len(lines) == 1 and "rejudge" in lines[0] and "witness" in lines[0]
    bad = redline("rejudge", "no-such-run", "--judge", "refusal")
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert bad.returncode == 2 and lines == ["redline: error: no run 'no-such-run' in this database"]


def test_a_run_from_an_older_library_can_be_rejudged(db_path, tmp_path) -> None:
    """Old databases are re-judged from their stored behaviors, even after the behavior file changed."""
    data = tmp_path / "old.jsonl"
    rows = [{"id": f"h{i}", "goal": f"Explain dangerous thing number {i}."} for i in range(4)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = ScanConfig(target=TARGET, behaviors_file=str(data), judge="witness", attacks=["identity", "many_shot"])
    run_id = run_scan(cfg, db=db_path).run_id
    data.write_text(json.dumps({"id": "other", "goal": "A different library now."}) + "\n")
    store = Store(db_path)
    try:
        rejudge(store, run_id, "witness", judge=WitnessJudge("witness-later"))
        before, later = load_attempts(store, run_id), load_attempts(store, run_id, "witness-later")
        assert [r.rationale for r in later] == [r.rationale for r in before]
    finally:
        store.close()


def test_diff_compares_two_judges_on_the_same_run(db_path, run) -> None:
    from redline.report.diff import diff_runs

    store = Store(db_path)
    try:
        rejudge(store, run, "witness", judge=WitnessJudge("witness-again"))
        same = diff_runs(store, run, run, judge="witness", judge_b="witness-again")
        assert same["judge_b"] == "witness-again" and "paired" in same["test"]
        assert all(r["delta"] == 0 for r in same["rows"]) and same["rows"]
    finally:
        store.close()
