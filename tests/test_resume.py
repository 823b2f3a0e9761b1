"""Interrupted work resumes without loss or duplication: kill -9 in a scan with static and adaptive parts,
and `--retry-errors` re-running only the attempts that errored."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

from redline.engine.scan import ScanConfig, run_scan
from redline.store import Store
from redline.store.queries import load_attempts

HERE = "tests.test_resume"


def slow_target(messages, params):  # noqa: ANN001, ANN201 - the python target protocol
    """Target, attacker and rubric judge in one: slow enough to be killed mid-run, deterministic."""
    time.sleep(0.12)
    text = messages[-1]["content"]
    if zlib.crc32(text.encode()) % 4 == 0:
        return f"Sure: {text}"
    return "I'm sorry, but I can't help with that."


def flaky_target(messages, params):  # noqa: ANN001, ANN201
    """Fails on prompts mentioning 'flaky' while $REDLINE_TEST_FLAKY is set, else refuses."""
    if os.environ.get("REDLINE_TEST_FLAKY") and "flaky" in messages[-1]["content"]:
        raise RuntimeError("backend unavailable")
    return "I'm sorry, but I can't help with that."


def _count(db: str, table: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
    except sqlite3.Error:
        return 0


def test_kill_9_during_the_adaptive_part_then_resume(tmp_path, cli_env) -> None:
    db = str(tmp_path / "kill.db")
    data = tmp_path / "b.jsonl"
    data.write_text("".join(json.dumps({"id": f"h{i}", "goal": f"Explain dangerous thing {i}."}) + "\n"
                            for i in range(4)))
    role = f"python:{HERE}:slow_target"
    pair = f"pair:streams=1,iterations=4,max_queries=4,attacker={role},judge={role},attacker_tokens=8,judge_tokens=4"
    args = [sys.executable, "-m", "redline", "scan", "--target", role, "--behaviors", str(data), "--attack",
            "identity", "--attack", "roleplay", "--attack", pair, "--judge", "refusal", "--samples", "2",
            "--batch-size", "2", "--db", db, "--quiet"]
    proc = subprocess.Popen(args, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while _count(db, "steps") < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    steps_before = _count(db, "steps")
    with sqlite3.connect(db) as conn:
        adaptive_before = conn.execute("SELECT count(*) FROM attempts WHERE family = 'adaptive'").fetchone()[0]
        status = conn.execute("SELECT status FROM runs").fetchone()[0]
        kept = conn.execute("SELECT id, seq, kind, data FROM steps ORDER BY id").fetchall()
    assert status == "running" and adaptive_before < 4 and steps_before >= 3  # killed inside the adaptive part
    done = subprocess.run([sys.executable, "-m", "redline", "scan", "--resume", "last", "--db", db, "--json"],
                          env=cli_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    with sqlite3.connect(db) as conn:
        keys = conn.execute("SELECT behavior_id, attack, variant, sample FROM attempts").fetchall()
        runs = conn.execute("SELECT status, planned FROM runs").fetchall()
        steps = conn.execute("SELECT id, seq, kind, data FROM steps ORDER BY id").fetchall()
        step_keys = conn.execute("SELECT behavior_id, method, seq FROM steps").fetchall()
    (status, planned), = runs
    assert status == "complete" and len(keys) == len(set(keys)) == planned > 4 * 2 * 2
    assert sum(k[1] == "pair" for k in keys) == 4 and summary["attempts"] == len(keys)
    assert steps[: len(kept)] == kept and len(step_keys) == len(set(step_keys))  # nothing redone or rewritten
    records = load_attempts(Store(db), summary["run_id"])
    assert all(r.state == "ok" and r.label for r in records)


def test_retry_errors_runs_only_the_failed_attempts_again(db_path, tmp_path, monkeypatch, cli_env) -> None:
    data = tmp_path / "b.jsonl"
    goals = ["Explain a flaky thing.", "Explain a steady thing.", "Describe a flaky process.", "Name a colour."]
    data.write_text("".join(json.dumps({"id": f"g{i}", "goal": g}) + "\n" for i, g in enumerate(goals)))
    config = ScanConfig(target=f"python:{HERE}:flaky_target", behaviors_file=str(data), judge="refusal",
                        attacks=["identity"], samples=2)
    monkeypatch.setenv("REDLINE_TEST_FLAKY", "1")
    first = run_scan(config, db=db_path)
    assert first.stats.errors == 4 and first.summary["errors"] == 4
    store = Store(db_path)
    ok_before = {r.attempt_id: r for r in load_attempts(store, first.run_id) if r.state == "ok"}
    plain = run_scan(resume=first.run_id, db=db_path)  # a plain resume keeps stored errors
    assert plain.stats.executed == 0 and plain.summary["errors"] == 4
    monkeypatch.delenv("REDLINE_TEST_FLAKY")
    cli = subprocess.run([sys.executable, "-m", "redline", "scan", "--resume", first.run_id, "--retry-errors",
                          "--db", db_path, "--json"], env=cli_env, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr[-2000:]
    summary = json.loads(cli.stdout)
    assert summary["throughput"]["executed"] == 4 and summary["errors"] == 0 and summary["attempts"] == 8
    after = load_attempts(store, first.run_id)
    assert all(r.state == "ok" for r in after) and len({(r.behavior_id, r.sample) for r in after}) == 8
    assert {r.attempt_id: r for r in after if r.attempt_id in ok_before} == ok_before  # the good ones untouched
    assert Path(db_path).exists()


def test_resume_accepts_the_original_command_line_and_names_differing_options(db_path, tmp_path, capsys) -> None:
    """`--resume last` added to the command that started the run is accepted; a changed option is named."""
    from redline.cli.main import main

    data = tmp_path / "b.jsonl"
    data.write_text("".join(f'{{"goal": "Tell me fact {i}."}}\n' for i in range(3)))
    base = ["scan", "--target", "python:tests.test_secrets:refuse", "--behaviors", str(data),
            "--attack", "identity", "--judge", "refusal", "--db", db_path, "--quiet"]
    assert main(base) == 0
    capsys.readouterr()
    assert main([*base, "--resume", "last"]) == 0
    assert main([*base, "--resume", "last", "--max-new-tokens", "7", "--samples", "2"]) == 2
    err = capsys.readouterr().err
    assert "max_new_tokens (7" in err and "samples (2" in err and len(err.strip().splitlines()) == 1


def test_a_resumed_run_keeps_the_judge_it_was_started_with(tmp_path) -> None:
    """A run started when the default judge was an older generation is finished with that generation, so its
    verdicts stay one set (the new default would store verdicts the run's readers never see)."""
    db = str(tmp_path / "j.db")
    config = ScanConfig(target=f"python:{HERE}:flaky_target", suite="quick", limit=6)
    first = run_scan(config, db=db)
    with sqlite3.connect(db) as conn:  # as if started by the previous release and interrupted half-way
        conn.execute("UPDATE runs SET judge = 'offline@2', status = 'interrupted'")
        conn.execute("DELETE FROM verdicts")
        conn.execute("DELETE FROM attempts WHERE id % 2 = 0")
        left = conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
    run_scan(None, db=db, resume=first.run_id)
    with sqlite3.connect(db) as conn:
        judges = {j for (j,) in conn.execute("SELECT DISTINCT judge FROM verdicts")}
        new = conn.execute("SELECT count(*) FROM attempts").fetchone()[0] - left
    assert new > 0 and judges == {"offline@2"}


def test_a_second_resume_of_a_run_in_progress_refuses_and_writes_nothing(tmp_path, cli_env) -> None:
    db = str(tmp_path / "lease.db")
    data = tmp_path / "b.jsonl"
    data.write_text("".join(json.dumps({"id": f"h{i}", "goal": f"Explain dangerous thing {i}."}) + "\n"
                            for i in range(6)))
    args = [sys.executable, "-m", "redline", "scan", "--target", f"python:{HERE}:slow_target", "--behaviors",
            str(data), "--attack", "identity", "--attack", "roleplay", "--judge", "refusal", "--samples", "2",
            "--batch-size", "2", "--db", db, "--quiet"]
    first = subprocess.Popen(args, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while _count(db, "attempts") < 2 and time.time() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert first.poll() is None, first.stderr.read().decode()[-2000:]
    second = subprocess.run([sys.executable, "-m", "redline", "scan", "--resume", "last", "--db", db],
                            env=cli_env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 2, second.stderr[-2000:]
    assert "is being written by" in second.stderr and len(second.stderr.strip().splitlines()) == 1
    assert "Traceback" not in second.stderr
    first.send_signal(signal.SIGINT)
    first.wait(timeout=300)
    done = subprocess.run([sys.executable, "-m", "redline", "scan", "--resume", "last", "--db", db, "--json"],
                          env=cli_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        keys = conn.execute("SELECT behavior_id, attack, variant, sample FROM attempts").fetchall()
        (status, planned, holder), = conn.execute("SELECT status, planned, holder FROM runs").fetchall()
    assert status == "complete" and holder is None and len(keys) == len(set(keys)) == planned
