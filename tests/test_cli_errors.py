"""Bad input: one clear line on stderr, exit code 2, no traceback, nothing half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REDLINE = [sys.executable, "-m", "redline"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["scan", "--target", "warp:drive"], "unknown target kind"),
        (["scan", "--target", "local:/no/such/model.gguf"], "does not exist"),
        (["scan", "--suite", "nope"], "unknown suite"),
        (["scan", "--batch-size", "many"], "--batch-size"),
        (["scan", "--target", "openai:m@http://127.0.0.1:9/v1"], "unreachable"),
        (["scan", "--target", "openai:m@http://127.0.0.1:9/v1;api_key=sk-secret"], "environment variable"),
        (["scan", "--attack", "nonexistent_attack"], "unknown attack"),
        (["show", "no-such-run"], "no run"),
        (["export", "last", "--format", "xml"], "unknown export format"),
        (["scan", "--resume", "last"], "no run to resume"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, fragment, tmp_path, cli_env):
    db = tmp_path / "x.db"
    proc = subprocess.run([*REDLINE, *args, "--db", str(db)], env=cli_env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert fragment in lines[0] and "Traceback" not in proc.stderr
    assert "sk-secret" not in proc.stderr
    if db.exists():  # a failed scan must not leave a run behind
        import sqlite3

        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_unwritable_database_folder(tmp_path, cli_env):
    proc = subprocess.run([*REDLINE, "scan", "--db", str(tmp_path / "nope" / "r.db")], env=cli_env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert not (tmp_path / "nope").exists()


def test_import_redline_does_not_import_torch():
    code = "import sys, redline, redline.cli.main; redline.cli.main._register(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == "False", out.stderr
