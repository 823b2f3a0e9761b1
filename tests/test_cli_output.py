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
