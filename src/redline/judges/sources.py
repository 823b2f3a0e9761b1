"""Labelled sources for building and checking the offline judge, mapped onto its three readings.

Each row carries what its source says about the three readings (None where the source is silent):
`answered` (True = complied), `request_harm` (the goal asks for something harmful) and `content_harm`
(the reply gives specific, usable help toward a harmful goal). Mapping (see docs/judges.md):

- jailbreak files (`gptfuzz`, `jbb`): harmful goals (request harm 1); `complied` = substantive harmful help ->
  answered complied, content harm 1; `refused` (refusal, vague or off-topic) -> content harm 0, and answered
  refused only where the reply opens with a refusal (a vague play-along is not a refusal);
- `self_defense` (full answers only): answered complied; request harm = content harm = the `harmful` column
  (harmful answers to attack prompts, benign answers to benign prompts);
- `xstest`: full compliance and partial refusal -> complied, full refusal -> refused; request harm = the
  prompt is an unsafe contrast; content harm 1 only for a complying reply to an unsafe prompt;
- project data (`templates`, `handwritten`, `styles`, `smollm2`): label, expected, content harm = harm >= 0.5;
- `probes`: goals of the shipped behavior sets with their `expected` (request harm only).

Redaction placeholders (`[details redacted]`) are stripped from every reply: they carry no label signal.
The public files are read where they lie (never copied into the repository).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..probes.behavior import DATA_DIR as PROBES_DIR
from .corpus import DATA, expand, load_jsonl
from .refusal import refusal_evidence

PUBLIC_FILES = {
    "gptfuzz": "gptfuzz.csv",
    "jbb": "jbb_artifacts_model_labelled.csv",
    "self_defense": "llm_self_defense.csv",
    "xstest": "xstest_dev.csv",
}
PROJECT = ("templates", "handwritten", "styles", "smollm2")
REDACTED = re.compile(r"\s*\[[^\]\n]{0,60}redacted\]", re.I)


@dataclass(frozen=True)
class Row:
    """One labelled (goal, reply) pair; `response` empty for goal-only rows (request harm)."""

    source: str
    goal: str
    response: str
    answered: bool | None = None
    request_harm: bool | None = None
    content_harm: bool | None = None
    group: str = ""


def strip_placeholders(text: str) -> str:
    """Remove redaction placeholders, which label files add to complying replies only."""
    return REDACTED.sub("", text)


def _csv(path: Path) -> list[dict]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _jailbreak(name: str, path: Path) -> list[Row]:
    rows = []
    for r in _csv(path):
        meta = json.loads(r.get("meta") or "{}")
        goal = meta.get("goal") or r["prompt"]
        complied = r["label"] == "complied"
        refuses, helps = refusal_evidence(r["response"])
        answered = True if complied else (False if refuses and not helps else None)
        rows.append(Row(name, goal, r["response"], answered, True, complied, group=r.get("model", "")))
    return rows


def _self_defense(path: Path) -> list[Row]:
    return [
        Row(
            "self_defense",
            r["prompt"],
            r["response"],
            True,
            r["harmful"] == "1",
            r["harmful"] == "1",
            r.get("model", ""),
        )
        for r in _csv(path)
    ]


def _xstest(path: Path) -> list[Row]:
    rows = []
    for r in _csv(path):
        unsafe = r["type"].startswith("contrast")
        complied = r["final_label"] != "2_full_refusal"
        rows.append(
            Row("xstest", r["prompt"], r["completion"], complied, unsafe, unsafe and complied, r.get("model", ""))
        )
    return rows


def public_rows(folder: Path) -> list[Row]:
    """All rows of the public judge-data files found in `folder` (missing files are skipped)."""
    out: list[Row] = []
    for name, file in PUBLIC_FILES.items():
        path = folder / file
        if not path.exists():
            continue
        if name in ("gptfuzz", "jbb"):
            out += _jailbreak(name, path)
        elif name == "self_defense":
            out += _self_defense(path)
        else:
            out += _xstest(path)
    return out


def _project(name: str, items: list) -> list[Row]:
    return [
        Row(
            name,
            i.goal,
            strip_placeholders(i.response),
            i.label == "complied",
            i.expected == "refuse",
            i.label == "complied" and i.expected == "refuse" and i.harm >= 0.5,
        )
        for i in items
    ]


def project_rows() -> list[Row]:
    """This project's own training data: templates, hand-written items, the train half of the SmolLM2 labels.

    The eval half (`smollm2_labelled_eval.jsonl`) and `corpus_eval.yaml` stay held out (tests measure them).
    """
    return (
        _project("templates", expand(DATA / "corpus_train.yaml"))
        + _project("handwritten", load_jsonl(DATA / "handwritten_train.jsonl"))
        + _project("styles", load_jsonl(DATA / "handwritten_styles.jsonl"))
        + _project("smollm2", load_jsonl(DATA / "smollm2_labelled_train.jsonl"))
    )


def smollm2_eval_rows() -> list[Row]:
    """The held-out half of the hand-labelled SmolLM2 replies, placeholders stripped."""
    return _project("smollm2_eval", load_jsonl(DATA / "smollm2_labelled_eval.jsonl"))


def probe_goal_rows() -> list[Row]:
    """Goals of the shipped behavior sets with their expected answer (request harm only)."""
    out = []
    for path in sorted(PROBES_DIR.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for b in raw.get("behaviors", []):
            if b.get("goal") and not b.get("options") and not b.get("references") and not b.get("secret"):
                out.append(Row("probes", b["goal"], "", request_harm=b.get("expected", "refuse") == "refuse"))
    return out
