"""`redline harden`: collecting failures, revision filtering, the dataset split, a tiny LoRA run, the adapter as a
target option, and resuming an interrupted harden run. Stored runs are real SQLite; fixtures hold placeholders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harden_fixtures import BENIGN, CALLS, COMPLIED, FACTS, HARMFUL, N_FAILURES, REFUSAL, make_source_run
from redline.errors import RedlineError, TargetError
from redline.harden.collect import collect
from redline.harden.dataset import build_rows, overlap, read_jsonl, split_behaviors, write_dataset
from redline.harden.revise import Revision, template_refusal
from redline.policy.model import load_policy
from redline.store.db import Store
from redline.targets.base import parse_target_spec

REDLINE = [sys.executable, "-m", "redline"]


@pytest.fixture
def source(db_path: str) -> str:
    return make_source_run(db_path)


def test_collect_failures_and_benign(db_path: str, source: str) -> None:
    store = Store(db_path)
    try:
        c = collect(store, source)
        assert len(c.failures) == N_FAILURES  # every harmful attempt succeeded, twice or more: confirmed
        assert all(f.confirmed and f.rejected == COMPLIED for f in c.failures)
        assert all(f.prompt[-1]["role"] == "user" for f in c.failures)  # the target's reply is not the prompt
        assert len(c.benign) >= len(c.failures)  # topped up from the probe library
        own = [b for b in c.benign if b.attempt_id is not None]
        assert len(own) == 2 * len(BENIGN) and sum(b.rejected is not None for b in own) == 1  # one refusal
        assert c.counts["benign_from_library"] == len(c.benign) - len(own)
        strict = load_policy().model_copy(update={"confirmation": load_policy().confirmation.model_copy(
            update={"repeat_successes": 4, "other_judges": False})})
        with pytest.raises(RedlineError, match="no confirmed attack successes"):
            collect(store, source, policy=strict)
        assert len(collect(store, source, policy=strict, confirmed_only=False).failures) == N_FAILURES
    finally:
        store.close()


def test_collect_filters_and_caps(db_path: str, source: str) -> None:
    store = Store(db_path)
    try:
        direct = collect(store, source, attacks=["identity"])
        assert direct.failures and {f.attack for f in direct.failures} == {"identity"}
        assert {b.attack for b in direct.benign if b.attempt_id is not None} == {"identity"}
        capped = collect(store, source, max_failures=4)
        assert len(capped.failures) == 4 and capped.counts["failures_capped_out"] == N_FAILURES - 4
        # spread: every category and both attack families are represented among 4 of 17 failures
        assert {f.category for f in capped.failures} == {b.category for b in HARMFUL}
        assert len({f.family for f in capped.failures}) == 2
        assert len({f.key for f in capped.failures}) == 4
        assert [f.key for f in collect(store, source, max_failures=4).failures] == [f.key for f in capped.failures]
        assert [f.key for f in collect(store, source, max_failures=4, seed=1).failures] != [
            f.key for f in capped.failures]
        own = [b for b in capped.benign if b.attempt_id is not None]
        assert len(own) == 4 and len(capped.benign) >= 4  # as many benign prompts from the run as failures
    finally:
        store.close()


def test_remeasure_cap_spreads_over_metrics() -> None:
    from redline.harden.remeasure import heldout_behaviors

    behaviors = {b.id: {**b.to_data(), "id": b.id, "goal": b.goal, "category": b.category,
                        "expected": b.expected} for b in [*HARMFUL, *BENIGN, *FACTS]}
    split = {bid: "heldout" for bid in behaviors}
    main, facts = heldout_behaviors(behaviors, split, limit=4)
    assert len(main) == 4 and len(facts) == 1
    harmful = [b for b in main if b.category != "over_refusal"]
    assert len(harmful) == 2 and len({b.category for b in harmful}) == 2  # half per metric, spread over categories
    assert heldout_behaviors(behaviors, split)[0] == sorted([*HARMFUL, *BENIGN], key=lambda b: b.id)


def test_split_by_behavior_and_dataset(db_path: str, source: str, tmp_path: Path) -> None:
    store = Store(db_path)
    try:
        c = collect(store, source)
    finally:
        store.close()
    split = split_behaviors(c.behaviors, 0.3, seed=1)
    assert split == split_behaviors(c.behaviors, 0.3, seed=1)  # deterministic
    for cat in {b["category"] for b in c.behaviors.values()}:
        ids = [i for i, b in c.behaviors.items() if b["category"] == cat]
        if len(ids) >= 2:
            assert 0 < sum(split[i] == "heldout" for i in ids) < len(ids)
    revisions = {it.key: Revision(it.key, it.kind, REFUSAL if it.kind == "failure" else "Here is how.", "reviser")
                 for it in [*c.failures, *c.benign]}
    sft, dpo, counts = build_rows(c, revisions, split)
    assert not overlap([*sft, *dpo])
    assert {r["split"] for r in sft} == {"train", "heldout"}
    # two samples of one prompt give one SFT pair (same prompt, same chosen reply)
    assert counts["sft_duplicates"] > 0 and len({json.dumps([r["prompt"], r["completion"]]) for r in sft}) == len(sft)
    row = next(r for r in dpo if r["kind"] == "failure")
    assert row["rejected"][0]["content"] == COMPLIED and row["provenance"]["run_id"] == source
    assert row["provenance"]["attempt_id"] and row["provenance"]["attack"]
    files = write_dataset(tmp_path, sft, dpo)
    train = read_jsonl(files["sft.train"]["path"])
    assert train and all(r["split"] == "train" for r in train) and "completion" in train[0]
    held = {r["behavior_id"] for r in read_jsonl(files["dpo.heldout"]["path"])}
    assert held and not held & {r["behavior_id"] for r in train}
    bad = [dict(sft[0]), {**sft[0], "split": "heldout" if sft[0]["split"] == "train" else "train"}]
    with pytest.raises(RedlineError, match="both splits"):
        write_dataset(tmp_path, bad, [])


def test_revision_filtering(db_path: str, source: str) -> None:
    from redline.harden.revise import answer_benign, revise_all, revision_counts
    from redline.judges.base import create_judge
    from redline.judges.rubric import load_constitution
    from redline.targets import create_target

    store = Store(db_path)
    try:
        c = collect(store, source)
    finally:
        store.close()
    judge, rules = create_judge("offline"), load_constitution()
    fails = c.failures[:3]
    kept = revise_all(fails, create_target("python:harden_fixtures:refusing_reviser"), judge, rules)
    assert all(r.source == "reviser" and r.chosen == REFUSAL and r.dropped is None for r in kept.values())
    bad = revise_all(fails, create_target("python:harden_fixtures:complying_reviser"), judge, rules)
    for it in fails:
        r = bad[it.key]
        assert r.dropped in ("harmful", "not_declined") and r.source == "template"
        assert r.chosen == template_refusal(it.category, it.key) and "principle" in r.chosen
    assert revision_counts(bad)["failure_template"] == len(fails)
    benign = [b for b in c.benign if not b.answer][:2]
    refused = answer_benign(benign, create_target("python:harden_fixtures:refusing_reviser"), judge)
    assert all(r.chosen is None and r.dropped == "refused_benign" for r in refused)
    own = [b for b in c.benign if b.answer][:1]
    assert answer_benign(own, create_target("python:harden_fixtures:refusing_reviser"), judge)[0].source == "target"


def test_adapter_spec() -> None:
    spec = parse_target_spec("local:/models/m;adapter=/tmp/a")
    assert spec.rest == "/models/m" and spec.options["adapter"] == "/tmp/a"
    assert spec.display == "local:/models/m;adapter=/tmp/a" and parse_target_spec("local").display == "local"


@pytest.mark.slow
def test_tiny_lora_changes_replies_and_loads_as_target(tmp_path: Path, embedded_target) -> None:
    from redline.harden.train import train_adapter
    from redline.records import GenerationParams, user
    from redline.targets import create_target

    prompts = ["Name a colour.", "Say something about boats.", "What is a good breakfast?"]
    rows = [{"prompt": [{"role": "user", "content": p}],
             "completion": [{"role": "assistant", "content": "Zebra lantern harbour. Zebra lantern harbour."}]}
            for p in prompts]
    info = train_adapter("local", rows, tmp_path / "adapter", steps=8, batch_size=3, lr=5e-3, seed=3)
    assert info["seed"] == 3 and info["examples"] == 3 and info["last_loss"] < info["first_loss"]
    params = GenerationParams(max_new_tokens=8)
    convs = [[user(p)] for p in prompts]
    before = [g.text for g in embedded_target.generate(convs, params)]
    tuned = create_target(f"local;adapter={tmp_path / 'adapter'}", batch_size=4)
    after = [g.text for g in tuned.generate(convs, params)]
    assert "adapter" in tuned.id and after != before
    assert sum("Zebra" in a for a in after) >= 2
    assert [g.text for g in embedded_target.generate(convs, params)] == before  # the base model is untouched
    with pytest.raises(TargetError, match="not a saved peft adapter"):
        create_target(f"local;adapter={tmp_path}")


@pytest.mark.slow
def test_interrupted_harden_resumes(db_path: str, source: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from redline.harden import pipeline
    from redline.report.data import build_data
    from redline.report.diff import diff_runs
    from redline.report.html import render_report
    from redline.store.queries import get_run, load_audit_results

    def crash(*args: object, **kwargs: object) -> None:  # a fault a real trainer cannot be made to produce
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "train_adapter", crash)
    CALLS["n"] = 0
    opts = dict(reviser="python:harden_fixtures:refusing_reviser", out=str(tmp_path / "out"), steps=1,
                max_new_tokens=8, revise_tokens=8, heldout_attacks=["refusal_suppression"])
    with pytest.raises(KeyboardInterrupt):
        pipeline.harden(db_path, source, **opts)
    store = Store(db_path)
    try:
        run_id = next(r for r in [get_run(store, k) for k in _run_ids(store)] if r.kind == "harden").id
        assert get_run(store, run_id).status == "interrupted"
        stages = {r.key for r in load_audit_results(store, run_id, "harden")}
        assert {"collect", "revise", "dataset"} <= stages and "train" not in stages
    finally:
        store.close()
    calls = CALLS["n"]
    assert calls > 0
    monkeypatch.undo()
    result = pipeline.harden(db_path, run_id, resume=True)
    assert CALLS["n"] == calls  # revisions came from the checkpoint
    assert result["run_id"] == run_id and result["train"]["seed"] == 0
    store = Store(db_path)
    try:
        assert get_run(store, run_id).status == "complete"
        before, after = get_run(store, result["before_run"]), get_run(store, result["after_run"])
        assert before.kind == after.kind == "scan"
        assert after.target.endswith(";adapter=" + str(tmp_path / "out" / "adapter"))
        assert diff_runs(store, before.id, after.id)["rows"]
        section = build_data(store, after.id)["hardening"]
        assert section["harden_run"] == run_id and "Before and after hardening" in render_report(
            build_data(store, before.id))
    finally:
        store.close()
    names = [r["row"] for r in result["rows"]]
    assert any("held-out attack families" in n for n in names) and result["heldout_attacks"] == ["refusal_suppression"]
    assert result["perplexity"]["before"]["perplexity"] > 1
    # a second job trains DPO on the same data without revising again; different data options are refused
    with pytest.raises(RedlineError, match="seed differs"):
        pipeline.harden(db_path, source, **{**opts, "out": str(tmp_path / "dpo"), "seed": 5, "reuse": run_id})
    dpo = pipeline.harden(db_path, source, **{**opts, "out": str(tmp_path / "dpo"), "method": "dpo", "reuse": run_id})
    assert CALLS["n"] == calls and dpo["train"]["method"] == "dpo" and dpo["dataset"]["reused_from"] == run_id
    assert dpo["train"]["adapter"] == str(tmp_path / "dpo" / "adapter") and dpo["rows"]


def _run_ids(store: Store) -> list[str]:
    from redline.store.queries import list_runs

    return [r["run_id"] for r in list_runs(store)]


def test_cli_bad_input(db_path: str, source: str, cli_env: dict[str, str]) -> None:
    cases = [
        ([*REDLINE, "harden", "nosuchrun", "--db", db_path], "no run"),
        ([*REDLINE, "harden", source, "--db", db_path, "--resume", "--steps", "3"], "--resume"),
        ([*REDLINE, "harden", source, "--db", db_path, "--steps", "3", "--epochs", "1"], "not both"),
        ([*REDLINE, "harden", "last", "--db", db_path, "--resume"], "no harden run"),
        ([*REDLINE, "harden", source, "--db", db_path, "--method", "ppo"], "method"),
        ([*REDLINE, "harden", source, "--db", db_path, "--attack", "nosuchattack"], "nosuchattack"),
        ([*REDLINE, "harden", source, "--db", db_path, "--suite", "nosuchsuite"], "nosuchsuite"),
        ([*REDLINE, "harden", source, "--db", db_path, "--max-failures", "0"], "max_failures"),
        ([*REDLINE, "harden", source, "--db", db_path, "--benign-ratio", "0.5"], "benign_ratio"),
    ]
    for argv, text in cases:
        proc = subprocess.run(argv, capture_output=True, text=True, env=cli_env, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert text in proc.stderr and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
