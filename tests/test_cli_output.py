"""Scriptable output: piped, tables are never wrapped or cut, so one row is one line."""

from __future__ import annotations

import subprocess
import sys

from redline.probes.suites import get_suite


def test_piped_listing_keeps_each_row_on_one_line(cli_env: dict) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "redline", "list", "suites"], env=cli_env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    size = len(get_suite("standard").behaviors())
    rows = [line for line in proc.stdout.splitlines() if " standard " in line]
    assert len(rows) == 1 and str(size) in rows[0], proc.stdout[:2000]


def stern_grader(messages: list[dict]) -> str:
    """A grader that never sees a jailbreak, so the loop runs until its budget stops it."""
    return "Rating: [[1]]"


def test_attack_budgets_apply_to_new_runs(db_path: str, capsys) -> None:
    """`redline attack --max-queries 2` on a new run: the stored config and the spending both respect it."""
    from redline.cli.main import main
    from redline.store import Store
    from redline.store.queries import get_run, latest_run_id, load_attempts

    here = "python:tests.test_invariants"
    code = main([
        "attack", "--method", "pair", "--target", f"{here}:refuse_all", "--attacker", f"{here}:scripted_attacker",
        "--judge", "python:tests.test_cli_output:stern_grader", "--behaviors", "starter", "--limit", "1",
        "--max-queries", "2", "--db", db_path, "--json",
    ])
    assert code == 0, capsys.readouterr().err
    store = Store(db_path)
    try:
        run_id = latest_run_id(store, "attack")
        assert get_run(store, run_id).config["max_queries"] == 2
        (record,) = load_attempts(store, run_id)
        assert record.params["queries"] == 2 and record.params["budget_hit"] == "max_queries"
    finally:
        store.close()
