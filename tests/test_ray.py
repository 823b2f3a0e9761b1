"""`--executor ray`: the same attempts and verdicts as in-process, a dying replica loses nothing, a killed
driver resumes exactly, campaigns compare targets and resume. Real Ray (a local cluster on this machine)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redline import scan
from redline.cli.main import main
from redline.redaction import add_secret, redact
from redline.store.db import Store
from redline.store.queries import load_attempts

ray = pytest.importorskip("ray")
MARKER_ENV = "REDLINE_TEST_DIE_MARKER"
REDLINE = [sys.executable, "-m", "redline"]


def reply(messages: list[dict]) -> str:
    """Deterministic: refuses prompts of odd length, complies (with no content) otherwise."""
    if len(messages[-1]["content"]) % 2:
        return "I can't help with that."
    return "Sure. [details redacted]"


def die_once(messages: list[dict]) -> str:
    """Kills its own worker process the first time it is called (a replica crash), then behaves as `reply`."""
    marker = Path(os.environ[MARKER_ENV])
    if not marker.exists():
        marker.write_text("died", encoding="utf-8")
        os._exit(1)
    return reply(messages)


def slow(messages: list[dict]) -> str:
    time.sleep(0.05)
    return reply(messages)


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    """One local Ray cluster for the module (pools join it and leave it running); its workers see the
    environment of this moment, so the crash marker's path is set first."""
    os.environ[MARKER_ENV] = str(tmp_path_factory.mktemp("ray") / "died")
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    yield Path(os.environ[MARKER_ENV])
    ray.shutdown()
    os.environ.pop(MARKER_ENV, None)


def stored(db: str, run_id: str) -> list[tuple]:
    store = Store(db)
    try:
        rows = load_attempts(store, run_id)
    finally:
        store.close()
    return sorted((r.behavior_id, r.attack, r.variant, r.sample, r.state, r.response, r.label, r.harm) for r in rows)


@pytest.mark.parametrize("target", ["python:tests.test_ray:reply", "local"])
def test_ray_executor_gives_the_in_process_attempts_and_verdicts(tmp_path, ray_session, target: str) -> None:
    local = target == "local"
    options = {"suite": "quick", "limit": 3 if local else 8, "max_new_tokens": 8 if local else 32, "batch_size": 4}
    if local:
        options["attacks"] = ["identity", "base64"]
    a = scan(target=target, db=str(tmp_path / "a.db"), **options)
    b = scan(target=target, db=str(tmp_path / "b.db"), executor="ray", replicas=1 if local else 2, **options)
    assert a.stats.executed == b.stats.executed > 0
    assert stored(str(tmp_path / "a.db"), a.run_id) == stored(str(tmp_path / "b.db"), b.run_id)


def test_a_ray_scan_records_into_sqlite_and_postgresql(store_url, ray_session) -> None:
    """The driver is the only writer whatever the store (`store_url`: conftest); PostgreSQL is the multi-node store."""
    result = scan(target="python:tests.test_ray:reply", suite="quick", db=store_url, limit=5, batch_size=2,
                  executor="ray", replicas=2)
    keys = [r[:4] for r in stored(store_url, result.run_id)]
    assert len(keys) == len(set(keys)) == result.stats.planned == result.stats.executed


def test_a_replica_that_dies_mid_run_is_restarted_and_its_batch_retried(tmp_path, ray_session) -> None:
    db = str(tmp_path / "d.db")
    result = scan(target="python:tests.test_ray:die_once", suite="quick", db=db, limit=6, batch_size=3,
                  executor="ray", replicas=2)
    assert ray_session.exists()  # the fault happened
    rows = stored(db, result.run_id)
    keys = [r[:4] for r in rows]
    assert len(keys) == len(set(keys)) == result.stats.planned
    assert all(r[4] == "ok" for r in rows) and result.summary["status"] == "complete"


def test_kill_9_of_the_driver_then_resume_loses_and_duplicates_nothing(tmp_path, cli_env, ray_session) -> None:
    db = str(tmp_path / "k.db")
    args = [*REDLINE, "scan", "--target", "python:tests.test_ray:slow", "--suite", "standard", "--limit", "12",
            "--db", db, "--executor", "ray", "--replicas", "2", "--batch-size", "4", "--quiet"]
    proc = subprocess.Popen(args, env=cli_env, cwd=Path(__file__).parents[1], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    count = 0
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
        try:
            with sqlite3.connect(db) as con:
                count = con.execute("select count(*) from attempts").fetchone()[0]
        except sqlite3.Error:
            continue
        if count >= 40:
            break
    assert proc.poll() is None, "the scan finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray processes it started
    proc.wait()
    assert count >= 40
    with sqlite3.connect(db) as con:
        run_id, status = con.execute("select id, status from runs").fetchone()
        before = con.execute("select count(*) from attempts").fetchone()[0]
    assert status == "running"
    code = main(["scan", "--resume", run_id, "--db", db, "--executor", "ray", "--replicas", "2", "--quiet"])
    assert code == 0
    rows = stored(db, run_id)
    keys = [r[:4] for r in rows]
    assert len(keys) == len(set(keys)) > before


def test_a_campaign_scans_each_target_once_and_compares_them(tmp_path, capsys) -> None:
    db = str(tmp_path / "c.db")
    file = tmp_path / "campaign.yaml"
    file.write_text(
        "targets: ['python:tests.test_ray:reply', 'python:tests.test_ray:slow']\nsuite: quick\nlimit: 4\n",
        encoding="utf-8",
    )
    assert main(["campaign", str(file), "--db", db, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert [r["target"] for r in first] == ["python:tests.test_ray:reply", "python:tests.test_ray:slow"]
    assert all(r["status"] == "complete" and r["attempts"] > 0 for r in first)
    assert first[0]["attack_success"] == first[1]["attack_success"]  # the same replies, the same numbers
    with sqlite3.connect(db) as con:
        attempts = con.execute("select count(*) from attempts").fetchone()[0]
    assert main(["campaign", str(file), "--db", db, "--json"]) == 0  # again: nothing is re-run
    again = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in again] == [r["run_id"] for r in first]
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from attempts").fetchone()[0] == attempts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("targets: []\n", "targets"),
        ("targets: [local]\nexecutor: spark\n", "unknown executor 'spark'"),
        ("targets: [local, local]\n", "listed twice"),
        ("targets: [local]\nsuite: nonexistent\n", "nonexistent"),
    ],
)
def test_bad_campaign_files_are_refused_in_one_line(tmp_path, capsys, text: str, message: str) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    assert main(["campaign", str(file), "--db", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_replicas_without_the_ray_executor_are_refused(tmp_path, capsys) -> None:
    assert main(["scan", "--target", "python:tests.test_ray:reply", "--replicas", "2", "--db",
                 str(tmp_path / "r.db")]) == 2
    assert "--executor ray" in capsys.readouterr().err


def test_the_cluster_token_is_redacted_and_ray_stays_out_of_import_redline() -> None:
    token = "0123456789abcdef" * 4
    add_secret(token)
    assert token not in redact(f"connecting with {token} failed") and "[redacted]" in redact(token)
    code = "import sys, redline, redline.cli.main; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
