"""Behaviors from a user's file: redline YAML, the published formats of public benchmarks, or generic rows.

Formats (detected by columns, or chosen with `--format`):
`harmbench` (Behavior, FunctionalCategory, SemanticCategory, Tags, ContextString, BehaviorID),
`advbench` (goal, target), `jbb` (Index, Goal, Target, Behavior, Category, Source),
`strongreject` (category, source, forbidden_prompt), `xstest` (id, prompt, type, label, focus, note),
`generic` (goal, optional category/id/subcategory/expected), `redline` (probe-set YAML).
Rows may come from CSV, JSONL or a JSON list.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from ..errors import ConfigError, invalid
from .behavior import CATEGORIES, Behavior, load_probe_set

HARMBENCH_CATEGORIES = {
    "chemical_biological": ("dangerous_capability", ["domain:chem", "domain:bio"]),
    "cybercrime_intrusion": ("harmful_content", []),
    "misinformation_disinformation": ("harmful_content", []),
    "harassment_bullying": ("harmful_content", []),
    "illegal": ("harmful_content", []),
    "harmful": ("harmful_content", []),
    "copyright": ("harmful_content", []),
}
JBB_CATEGORIES = {"privacy": "privacy", "harassment/discrimination": "bias"}
STRONGREJECT_CATEGORIES = {"hate, harassment and discrimination": "bias"}


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.strip().lower()).strip("_")


def _cell(row: dict, *names: str) -> str:
    for name in names:
        value = row.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def _harmbench(rows: list[dict], source: str) -> list[Behavior]:
    out = []
    for i, row in enumerate(rows):
        semantic = _cell(row, "SemanticCategory")
        category, tags = HARMBENCH_CATEGORIES.get(semantic, ("harmful_content", []))
        extra = [t.strip() for t in _cell(row, "Tags").split(",") if t.strip()]
        functional = _cell(row, "FunctionalCategory")
        out.append(_make(
            source, i, id=_cell(row, "BehaviorID") or f"harmbench-{i + 1:04d}", goal=_cell(row, "Behavior"),
            category=category, subcategory=semantic, source="harmbench",
            tags=[*tags, *extra, *([f"functional:{functional}"] if functional else [])],
            context=_cell(row, "ContextString") or None,
        ))
    return out


def _advbench(rows: list[dict], source: str) -> list[Behavior]:
    return [_make(source, i, id=f"advbench-{i + 1:04d}", goal=_cell(row, "goal"), category="harmful_content",
                  source="advbench") for i, row in enumerate(rows)]


def _jbb(rows: list[dict], source: str) -> list[Behavior]:
    benign = "benign" in Path(source).name.lower()
    out = []
    for i, row in enumerate(rows):
        cat = _cell(row, "Category")
        category = "over_refusal" if benign else JBB_CATEGORIES.get(cat.lower(), "harmful_content")
        out.append(_make(
            source, i, id=f"jbb-{'benign-' if benign else ''}{_cell(row, 'Index') or i + 1}",
            goal=_cell(row, "Goal"), category=category, subcategory=_slug(cat),
            source=f"jbb:{_cell(row, 'Source')}" if _cell(row, "Source") else "jbb",
            expected="comply" if benign else "refuse",
            tags=[f"behavior:{_slug(_cell(row, 'Behavior'))}"] if _cell(row, "Behavior") else [],
        ))
    return out


def _strongreject(rows: list[dict], source: str) -> list[Behavior]:
    out = []
    for i, row in enumerate(rows):
        cat = _cell(row, "category")
        out.append(_make(
            source, i, id=f"strongreject-{i + 1:04d}", goal=_cell(row, "forbidden_prompt"),
            category=STRONGREJECT_CATEGORIES.get(cat.lower(), "harmful_content"), subcategory=_slug(cat),
            source=f"strongreject:{_cell(row, 'source')}" if _cell(row, "source") else "strongreject",
        ))
    return out


def _xstest(rows: list[dict], source: str) -> list[Behavior]:
    out = []
    for i, row in enumerate(rows):
        label = _cell(row, "label").lower()
        if label not in ("safe", "unsafe"):
            raise ConfigError(f"{source}: row {i + 1} has label {label!r} (expected safe or unsafe)")
        safe = label == "safe"
        out.append(_make(
            source, i, id=f"xstest-{_cell(row, 'id') or i + 1}", goal=_cell(row, "prompt"),
            category="over_refusal" if safe else "harmful_content", subcategory=_cell(row, "type"),
            source="xstest", expected="comply" if safe else "refuse",
            tags=[f"focus:{_cell(row, 'focus')}"] if _cell(row, "focus") else [],
        ))
    return out


def _generic(rows: list[dict], source: str) -> list[Behavior]:
    out = []
    for i, row in enumerate(rows):
        expected = _cell(row, "expected") or "refuse"
        if expected not in ("refuse", "comply"):
            raise ConfigError(f"{source}: row {i + 1} has expected {expected!r} (refuse or comply)")
        out.append(_make(
            source, i, id=_cell(row, "id") or f"{Path(source).stem}-{i + 1:04d}", goal=_cell(row, "goal"),
            category=_cell(row, "category") or "harmful_content", subcategory=_cell(row, "subcategory"),
            source=Path(source).name, expected=expected,
        ))
    return out


def _make(where: str, index: int, **fields: object) -> Behavior:
    if not fields.get("goal"):
        raise ConfigError(f"{where}: row {index + 1} has an empty prompt/goal")
    try:
        return Behavior(**fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise invalid(f"{where}: row {index + 1}", exc) from None


FORMATS: dict[str, tuple[frozenset[str], Callable[[list[dict], str], list[Behavior]]]] = {
    "harmbench": (frozenset({"Behavior", "SemanticCategory", "BehaviorID"}), _harmbench),
    "jbb": (frozenset({"Goal", "Target", "Behavior", "Category"}), _jbb),
    "strongreject": (frozenset({"forbidden_prompt"}), _strongreject),
    "xstest": (frozenset({"prompt", "label", "type"}), _xstest),
    "advbench": (frozenset({"goal", "target"}), _advbench),
    "generic": (frozenset({"goal"}), _generic),
}
FORMAT_NAMES = ("redline", *FORMATS)


def detect_format(columns: set[str]) -> str:
    """The first format (most specific first) whose required columns are all present."""
    for name, (required, _) in FORMATS.items():
        if required <= columns:
            return name
    shown = ", ".join(sorted(columns)[:8]) or "none"
    raise ConfigError(f"cannot tell the format from the columns ({shown}); pass --format "
                      f"({', '.join(FORMAT_NAMES)})")


def read_table(path: Path) -> list[dict]:
    """Rows of a CSV, JSONL or JSON-list file as dicts."""
    try:
        if path.suffix == ".jsonl":
            lines = path.read_text(encoding="utf-8").splitlines()
            rows = [json.loads(line) for line in lines if line.strip()]
        elif path.suffix == ".json":
            rows = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(rows, dict):  # {"behaviors": [...]} or {"data": [...]}
                rows = rows.get("behaviors") or rows.get("data") or []
        else:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
    except (OSError, json.JSONDecodeError, csv.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}".splitlines()[0]) from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"{path}: expected rows of named columns (CSV header, JSON objects)")
    return [{str(k).strip(): v for k, v in r.items() if k is not None} for r in rows]


def load_behaviors_file(path: str | Path, fmt: str | None = None) -> list[Behavior]:
    """Load behaviors from `path`; `fmt` is one of FORMAT_NAMES, or None to detect it from the columns."""
    path = Path(path)
    if fmt is not None and fmt not in FORMAT_NAMES:
        raise ConfigError(f"unknown behaviors format {fmt!r} (one of: {', '.join(FORMAT_NAMES)})")
    if not path.exists():
        raise ConfigError(f"behaviors file {str(path)!r} does not exist")
    if fmt == "redline" or (fmt is None and path.suffix in (".yaml", ".yml")):
        return load_probe_set(path).behaviors
    rows = read_table(path)
    if not rows:
        raise ConfigError(f"{path} holds no rows")
    columns = set().union(*(r.keys() for r in rows))
    name = fmt or detect_format(columns)
    required, parse = FORMATS[name]
    missing = required - columns
    if missing:
        raise ConfigError(f"{path.name} lacks column(s) {sorted(missing)} needed by format {name!r}")
    behaviors = parse(rows, str(path))
    ids = [b.id for b in behaviors]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"{path.name}: duplicate behavior ids {dupes[:5]}")
    return behaviors


__all__ = ["CATEGORIES", "FORMAT_NAMES", "detect_format", "load_behaviors_file", "read_table"]
