"""The RunRecorder as the one writer of runs, and the queries that read them back ("last", kinds, judges)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from redline.errors import RedlineError
from redline.probes.behavior import Behavior
from redline.store import Store
from redline.store.db import _alembic_config
from redline.store.queries import latest_run_id, list_runs, load_attempts, resolve_run_id
from redline.store.recorder import NewAttempt, NewVerdict, RunRecorder


@dataclass
class _JudgeVerdict:
    """A judge verdict as the judges hand it over (without request_harm, like today's Verdict)."""

    judge: str
    label: str
    harm: float
    confidence: float
    success: bool | None
    rationale: str = ""


def _attempt(bid: str, verdict: NewVerdict | None, sample: int = 0) -> NewAttempt:
    return NewAttempt(bid, "identity", "identity", "", sample, "harmful_content", "ok",
                      [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "a", verdict=verdict)


def _start(store: Store, kind: str = "scan") -> RunRecorder:
    behaviors = [Behavior(id="b1", goal="g1", category="harmful_content"), Behavior(id="b2", goal="g2",
                                                                                  category="harmful_content")]
    return RunRecorder.start(store, kind, "python:x", {"k": kind}, judge="refusal", behaviors=behaviors)


def test_recorder_writes_attempts_verdicts_and_a_second_judge(db_path) -> None:
    store = Store(db_path)
    rec = _start(store)
    plain = NewVerdict.of(_JudgeVerdict("refusal", "complied", 0.4, 0.9, True))
    assert plain.request_harm is None  # a verdict without the field stores NULL
    ids = rec.record([_attempt("b1", plain), _attempt("b2", NewVerdict("refusal", "refused", request_harm=0.7,
                                                                       success=False))])
    rec.finish()
    records = load_attempts(store, rec.run_id)
    assert [r.request_harm for r in records] == [None, 0.7] and [r.success for r in records] == [True, False]
    # a second judge's verdicts sit beside the first; readers choose which, the run's own by default
    assert rec.record_verdicts([(ids[0], NewVerdict("other", "refused", success=False))]) == 1
    assert rec.record_verdicts([(ids[0], NewVerdict("other", "unscorable"))]) == 1  # replaced, not duplicated
    assert [r.label for r in load_attempts(store, rec.run_id)] == ["complied", "refused"]
    assert [r.label for r in load_attempts(store, rec.run_id, judge="other")] == ["unscorable", None]
    with pytest.raises(RedlineError):
        RunRecorder.open(store, "no-such-run")


def test_last_means_the_newest_scan_and_audits_are_listed_apart(db_path, cli_env) -> None:
    store = Store(db_path)
    scan = _start(store).run_id
    audit = _start(store, "audit-bias").run_id
    attack = _start(store, "attack").run_id
    assert resolve_run_id(store, "last") == scan == latest_run_id(store)
    assert resolve_run_id(store, "last", kind="audit") == audit
    assert resolve_run_id(store, "last", kind="attack") == attack
    assert [r["run_id"] for r in list_runs(store, "audit")] == [audit]
    assert {r["run_id"] for r in list_runs(store)} == {scan, audit, attack}
    out = subprocess.run([sys.executable, "-m", "redline", "runs", "--kind", "audit", "--db", db_path, "--json"],
                         env=cli_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and audit in out.stdout and scan not in out.stdout
    empty = Store(db_path.replace("redline.db", "empty.db"))
    with pytest.raises(RedlineError, match="no scan run"):
        resolve_run_id(empty, "last")


def test_database_of_the_first_schema_is_migrated_with_null_request_harm(tmp_path) -> None:
    from alembic import command

    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
        conn.execute(text("INSERT INTO runs (id, kind, created_at, status, target, target_id, suite, judge, seed, "
                          "planned, config, config_hash, version, note) VALUES ('r1', 'scan', '2026-01-01', "
                          "'complete', 't', 't', 's', 'refusal', 0, 1, '{}', '', '', '')"))
        conn.execute(text("INSERT INTO behaviors (run_id, behavior_id, category, subcategory, source, expected, "
                          "goal, data) VALUES ('r1', 'b1', 'harmful_content', '', '', 'refuse', 'g', '{}')"))
        conn.execute(text("INSERT INTO attempts (id, run_id, behavior_id, attack, family, variant, sample, category, "
                          "state, conversation, response, tokens, latency_s, params, created_at) VALUES (1, 'r1', "
                          "'b1', 'identity', 'identity', '', 0, 'harmful_content', 'ok', '[]', 'no', 0, 0, '{}', "
                          "'2026-01-01')"))
        conn.execute(text("INSERT INTO verdicts (attempt_id, judge, label, harm, confidence, success, rationale, "
                          "created_at) VALUES (1, 'refusal', 'refused', 0, 1, 0, '', '2026-01-01')"))
    engine.dispose()
    records = load_attempts(Store(str(path)), "r1")
    assert len(records) == 1 and records[0].label == "refused" and records[0].request_harm is None


def _set_holder(db_path: str, run_id: str, holder: str, age_s: float) -> None:
    """Make the run look written by another process (`holder`) whose last write was `age_s` ago."""
    from datetime import timedelta

    from redline.store.models import utcnow

    with create_engine(f"sqlite:///{db_path}").begin() as conn:
        conn.execute(text("UPDATE runs SET status = 'running', holder = :h, heartbeat_at = :t WHERE id = :i"),
                     {"h": holder, "t": utcnow() - timedelta(seconds=age_s), "i": run_id})


def test_a_run_written_elsewhere_is_leased_until_its_writer_stops_or_goes_silent(db_path) -> None:
    from redline.store.recorder import LEASE_TTL_S

    store = Store(db_path)
    first = _start(store)
    first.record([_attempt("b1", None)])
    _set_holder(db_path, first.run_id, "another-machine:4242", age_s=5)
    with pytest.raises(RedlineError, match="being written by another-machine:4242"):
        RunRecorder.open(store, first.run_id, lease=True)
    assert RunRecorder.open(store, first.run_id).holder is None  # re-judging reads without a lease
    with pytest.raises(RedlineError, match="taken over"):  # the original writer lost the run: it writes nothing
        first.record([_attempt("b2", None)])
    assert len(load_attempts(store, first.run_id)) == 1

    _set_holder(db_path, first.run_id, "another-machine:4242", age_s=LEASE_TTL_S + 1)
    second = RunRecorder.open(store, first.run_id, lease=True)  # silent for longer than the lease: taken over
    second.record([_attempt("b2", None)])
    second.finish("interrupted")
    assert RunRecorder.open(store, first.run_id, lease=True).holder  # a stopped run is free at once
    store.close()


def test_a_run_whose_writer_died_on_this_machine_is_free_at_once(db_path) -> None:
    import socket

    store = Store(db_path)
    rec = _start(store)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _set_holder(db_path, rec.run_id, f"{socket.gethostname()}:{dead.pid}", age_s=1)
    assert RunRecorder.open(store, rec.run_id, lease=True).holder != f"{socket.gethostname()}:{dead.pid}"
    store.close()
