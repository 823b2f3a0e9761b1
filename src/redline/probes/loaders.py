"""Behaviors from a user's file: redline YAML, or generic JSONL/CSV with a `goal` column."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ..errors import ConfigError
from .behavior import Behavior, load_probe_set


def _generic_rows(rows: list[dict], source: str) -> list[Behavior]:
    out = []
    for i, row in enumerate(rows):
        goal = (row.get("goal") or "").strip()
        if not goal:
            raise ConfigError(f"{source}: row {i + 1} has no 'goal'")
        out.append(
            Behavior(
                id=str(row.get("id") or f"{Path(source).stem}-{i + 1:04d}"),
                goal=goal,
                category=(row.get("category") or "harmful_content").strip(),
                subcategory=(row.get("subcategory") or "").strip(),
                source=Path(source).name,
                expected=(row.get("expected") or "refuse").strip(),
            )
        )
    return out


def read_table(path: Path) -> list[dict]:
    """Rows of a CSV or JSONL file as dicts."""
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except (OSError, json.JSONDecodeError, csv.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}".splitlines()[0]) from None


def load_behaviors_file(path: str | Path, fmt: str | None = None) -> list[Behavior]:
    """Load behaviors from `path` in redline YAML or generic CSV/JSONL (`goal`, optional `category`)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"behaviors file {str(path)!r} does not exist")
    if path.suffix in (".yaml", ".yml"):
        return load_probe_set(path).behaviors
    rows = read_table(path)
    if not rows:
        raise ConfigError(f"{path} holds no rows")
    return _generic_rows(rows, str(path))
