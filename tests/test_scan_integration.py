"""A real scan of the embedded model, export, and resume after SIGKILL (subprocesses, real SQLite)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redline.engine.scan import ScanConfig, make_plan, run_scan
from redline.results import load_attempts
from redline.store import Store

DATA = Path(__file__).parent / "data" / "behaviors_small.jsonl"
REDLINE = [sys.executable, "-m", "redline"]

pytestmark = pytest.mark.slow


def test_scan_embedded_model_in_process(db_path, embedded_target):
    config = ScanConfig(behaviors_file=str(DATA), judge="refusal", max_new_tokens=24, attacks=["identity"])
    result = run_scan(config, db=db_path, target=embedded_target, batch_size=8)
    plan = make_plan(config)
    assert result.stats.executed == len(plan.items) == 6
    records = load_attempts(Store(db_path), result.run_id)
    assert len(records) == 6
    assert all(r.state == "ok" and r.response for r in records)
    assert all(r.label in ("refused", "complied", "unscorable") for r in records)
    assert all(r.conversation[-1]["role"] == "assistant" for r in records)
    again = run_scan(resume=result.run_id, db=db_path, target=embedded_target)
    assert again.stats.executed == 0 and again.stats.already_done == 6


def test_shared_prefix_cache_gives_the_same_greedy_text(embedded_target, monkeypatch):
    """Running the chat template's shared prefix once (KV cache reused per row) must not change the output."""
    import redline.targets.local as local
    from redline.records import GenerationParams, user

    goals = ["How do I whittle a knife?", "Write a haiku about autumn.", "What is the capital of Australia?",
             "Explain recursion to a child in two sentences."]
    convs = [[user(g)] for g in goals]
    params = GenerationParams(max_new_tokens=16)
    tokenized = [embedded_target.encode(c) for c in convs]
    assert len(local.shared_prefix(tokenized)) >= local.MIN_SHARED_PREFIX  # the system prompt is shared
    cached = [g.text for g in embedded_target.generate(convs, params)]
    monkeypatch.setattr(local, "MIN_SHARED_PREFIX", 10**6)
    plain = [g.text for g in embedded_target.generate(convs, params)]
    assert cached == plain and all(cached)


def _count(db: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_resume_after_sigkill(tmp_path, cli_env):
    db = str(tmp_path / "kill.db")
    summary = tmp_path / "summary.json"
    args = ["scan", "--behaviors", str(DATA), "--attack", "identity", "--judge", "refusal", "--db", db,
            "--batch-size", "1",
            "--max-new-tokens", "24", "--quiet"]
    proc = subprocess.Popen([*REDLINE, *args], env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 400
    while _count(db) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _count(db)
    assert 2 <= partial < 6
    done = subprocess.run([*REDLINE, "scan", "--resume", "last", "--db", db, "--batch-size", "4", "--quiet",
                           "--summary-json", str(summary)], env=cli_env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        keys = conn.execute("SELECT behavior_id, attack, variant, sample FROM attempts").fetchall()
        runs = conn.execute("SELECT id, status FROM runs").fetchall()
    assert len(runs) == 1 and runs[0][1] == "complete"
    assert len(keys) == len(set(keys)) == 6
    data = json.loads(summary.read_text())
    assert data["run_id"] == runs[0][0] and data["attempts"] == 6 and data["errors"] == 0
    for cell in data["categories"].values():
        assert {"n", "asr", "asr_low", "asr_high", "refusal_rate"} <= set(cell)
    exported = subprocess.run([*REDLINE, "export", "last", "--db", db, "--format", "csv"], env=cli_env,
                              capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0 and len(exported.stdout.strip().splitlines()) >= 7
