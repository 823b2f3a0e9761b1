"""The offline judge's labelled corpora: goal x response-family templates, expanded deterministically.

`corpus_train.yaml` and the training half of `smollm2_labelled_*.jsonl` (real outputs of the embedded model,
labelled by hand, split by behavior) train the shipped classifier; `corpus_eval.yaml` (other goals, other
phrasings) and `smollm2_labelled_eval.jsonl` evaluate it.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class LabelledItem:
    """One labelled (goal, response) pair; `expected` is what the goal asks of a safe model."""

    goal: str
    response: str
    label: str
    harm: float = 0.0
    expected: str = "refuse"
    family: str = ""


def _fill(template: str, goal: str, topic: str) -> str:
    return (
        template.replace("{topic}", topic)
        .replace("{Topic}", topic[:1].upper() + topic[1:])
        .replace("{goal}", goal)
    )


def _split(entry: str) -> tuple[str, str]:
    goal, _, topic = entry.rpartition(" | ")
    return goal.strip(), topic.strip()


def _encode(text: str, how: str) -> str:
    if how == "base64":
        return base64.b64encode(text.encode()).decode()
    return codecs.encode(text, "rot13")


def expand(path: Path, per_family: int = 4, encoded_every: int = 9) -> list[LabelledItem]:
    """Expand a corpus YAML: for each goal and applicable family, `per_family` templates picked by seed.

    Every `encoded_every`-th item is also added base64- or rot13-encoded, with the same label.
    """
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    items: list[LabelledItem] = []
    goals = [(*_split(s), "refuse") for s in raw["harmful_goals"]]
    goals += [(*_split(s), "comply") for s in raw["benign_goals"]]
    for goal, topic, expected in goals:
        for fam in raw["families"]:
            only = fam.get("only")
            if (only == "harmful" and expected == "comply") or (only == "benign" and expected == "refuse"):
                continue
            seed = int(hashlib.sha256(f"{goal}|{fam['name']}".encode()).hexdigest()[:8], 16)
            templates = random.Random(seed).sample(fam["templates"], min(per_family, len(fam["templates"])))
            harm = float(fam.get("harm", 0.0)) if expected == "refuse" else 0.0
            for tpl in templates:
                items.append(
                    LabelledItem(goal, _fill(tpl, goal, topic), fam["label"], harm, expected, fam["name"])
                )
    extra = [_plain(item, k) for k, item in enumerate(items) if "redacted]" in item.response and k % 3 == 0]
    for i, item in enumerate(items):
        if i % encoded_every == 0:
            how = "base64" if (i // encoded_every) % 2 == 0 else "rot13"
            extra.append(
                LabelledItem(
                    item.goal,
                    _encode(item.response, how),
                    item.label,
                    item.harm,
                    item.expected,
                    f"{item.family}+{how}",
                )
            )
    return items + extra


FILLERS = [
    "the right materials",
    "the usual method",
    "a careful setup",
    "the standard procedure",
    "the tools mentioned above",
    "a quiet moment",
    "the approach people commonly use",
    "a few simple checks",
]
_PLACEHOLDER = re.compile(r"\[[^\]\n]*redacted\]")


def _plain(item: LabelledItem, k: int) -> LabelledItem:
    """The same reply with its redaction placeholders replaced by vague filler (so the judge does not
    learn that only bracketed placeholders mean compliance)."""
    counter = iter(range(1000))
    text = _PLACEHOLDER.sub(lambda _: FILLERS[(k + next(counter)) % len(FILLERS)], item.response)
    return LabelledItem(item.goal, text, item.label, item.harm, item.expected, f"{item.family}+plain")


def load_jsonl(path: Path) -> list[LabelledItem]:
    """Hand-labelled items: one JSON object per line with goal, response, label, harm, expected."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(
                LabelledItem(
                    d["goal"],
                    d["response"],
                    d["label"],
                    float(d.get("harm", 0.0)),
                    d.get("expected", "refuse"),
                    d.get("family", "hand"),
                )
            )
    return out


def training_corpus() -> list[LabelledItem]:
    """What scripts/build_judge.py trains on: expanded templates, hand-written items, and the training half
    of the hand-labelled SmolLM2 outputs."""
    return expand(DATA / "corpus_train.yaml") + load_jsonl(DATA / "handwritten_train.jsonl") + smollm2_corpus("train")


def evaluation_corpus() -> list[LabelledItem]:
    """The held-apart template set (different goals and phrasings from training)."""
    return expand(DATA / "corpus_eval.yaml", per_family=3)


def smollm2_corpus(split: str = "eval") -> list[LabelledItem]:
    """Real greedy outputs of the embedded SmolLM2-135M-Instruct, labelled by hand, split by behavior
    (`train` or `eval`; no behavior is in both)."""
    return load_jsonl(DATA / f"smollm2_labelled_{split}.jsonl")
