"""The typer application object and shared CLI helpers (console, errors, options)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from ..errors import RedlineError

app = typer.Typer(
    name="redline",
    help="Red-team, audit and gate AI models before they ship.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# on a terminal rich fits tables to the window; piped or redirected, lines are never wrapped or cut, so
# `redline list suites | grep standard` finds the row (use --json for machines)
PLAIN_WIDTH = 100_000
console = Console(stderr=False, width=None if sys.stdout.isatty() else PLAIN_WIDTH)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else PLAIN_WIDTH)

JUDGE_HELP = "Read the verdicts of this judge (default: the run's own); `redline rejudge` stores others"
RUN_HELP = "Run id, unique prefix, or 'last' (the newest scan)"
DB_HELP = "Results database: a SQLite path or a SQLAlchemy URL (postgresql+psycopg://...). Default: ./redline.db"


def run_attempts(db: str | None, run_ref: str, judge: str | None = None) -> tuple[str, list]:
    """(run id, its attempt records read with `judge`'s verdicts) for a run reference (`last`, id, prefix)."""
    from ..store.db import Store
    from ..store.queries import load_attempts, resolve_run_id

    store = Store(db)
    try:
        run_id = resolve_run_id(store, run_ref)
        return run_id, load_attempts(store, run_id, judge)
    finally:
        store.close()


def pct(x: float | None) -> str:
    """A share as a percentage with one decimal, '-' when missing."""
    return "-" if x is None else f"{100 * x:.1f}%"


def rate_cell(rate: dict) -> str:
    """A rate dict (`rate`, `low`, `high`, `k`, `n`) as 'r% [low, high] (k/n)', '-' when there is no rate."""
    if rate.get("rate") is None:
        return "-"
    return f"{100 * rate['rate']:.1f}% [{100 * rate['low']:.1f}, {100 * rate['high']:.1f}] ({rate['k']}/{rate['n']})"


def fail(message: str) -> None:
    """Raise a user-facing error (one line, exit code 2)."""
    raise RedlineError(message)


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON to a file, or to stdout when path is '-'."""
    text = json.dumps(data, indent=2, default=str)
    if str(path) == "-":
        sys.stdout.write(text + "\n")
        return
    try:
        Path(path).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise RedlineError(f"cannot write {path}: {exc.strerror or exc}") from None
