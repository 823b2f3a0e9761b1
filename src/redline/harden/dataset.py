"""SFT pairs and DPO triples as JSONL (the conversational formats TRL and Hugging Face `datasets` read).

SFT rows: `prompt` (messages) and `completion` (one assistant message); DPO rows: `prompt`, `chosen`, `rejected`.
Every row carries its behavior, category, kind (`failure` / `benign`), split, the source of the chosen reply and its
provenance (run, attempt, attack, family). Rows are deduplicated, and behaviors are split into `train` and
`heldout` per category by a seeded hash, so no behavior is in both. "Rejected" replies are the target's own stored
outputs: the export belongs beside the user's database, never in a repository.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import RedlineError
from .collect import Collection, Item, stable_rank
from .revise import Revision, template_refusal

SPLITS = ("train", "heldout")


def split_behaviors(behaviors: dict[str, dict[str, Any]], fraction: float = 0.3, seed: int = 0) -> dict[str, str]:
    """behavior id -> `train` / `heldout`: per category, the `fraction` with the lowest seeded hash is held out
    (at least one when a category has two or more behaviors)."""
    if not 0 < fraction < 1:
        raise RedlineError("the held-out fraction must be between 0 and 1")
    by_cat: dict[str, list[str]] = {}
    for bid, b in behaviors.items():
        by_cat.setdefault(str(b.get("category", "")), []).append(bid)
    out: dict[str, str] = {}
    for ids in by_cat.values():
        ids.sort(key=lambda i: stable_rank(i, seed))
        n_held = max(1, round(fraction * len(ids))) if len(ids) >= 2 else 0
        for k, bid in enumerate(ids):
            out[bid] = "heldout" if k < n_held else "train"
    return out


def _msg(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def _base(item: Item, rev: Revision, split: str, run_id: str) -> dict[str, Any]:
    return {
        "prompt": item.prompt, "behavior_id": item.behavior_id, "category": item.category, "kind": item.kind,
        "split": split, "source": rev.source,
        "provenance": {"run_id": run_id, "attempt_id": item.attempt_id, "attack": item.attack, "family": item.family},
    }


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def build_rows(collection: Collection, revisions: dict[str, Revision], split: dict[str, str]
               ) -> tuple[list[dict], list[dict], dict[str, int]]:
    """(SFT rows, DPO rows, counts) from collected items and their revisions; duplicates are dropped."""
    sft: list[dict] = []
    dpo: list[dict] = []
    seen: set[str] = set()
    counts = {"sft_duplicates": 0, "dpo_duplicates": 0, "no_reply": 0}
    for item in [*collection.failures, *collection.benign]:
        rev = revisions.get(item.key)
        if rev is None or rev.chosen is None:
            counts["no_reply"] += 1
            continue
        where = split.get(item.behavior_id, "train")
        key = _digest("sft", item.prompt, rev.chosen)
        if key in seen:
            counts["sft_duplicates"] += 1
        else:
            seen.add(key)
            sft.append({**_base(item, rev, where, collection.run_id), "completion": _msg(rev.chosen)})
        rejected, rejected_source = item.rejected, "target"
        if rejected is None:  # a benign prompt the target answered: the refusal to avoid is the template's
            rejected, rejected_source = template_refusal("default", item.key), "template"
        key = _digest("dpo", item.prompt, rev.chosen, rejected)
        if key in seen:
            counts["dpo_duplicates"] += 1
            continue
        seen.add(key)
        dpo.append({**_base(item, rev, where, collection.run_id), "chosen": _msg(rev.chosen),
                    "rejected": _msg(rejected), "rejected_source": rejected_source})
    return sft, dpo, counts


def overlap(rows: Iterable[dict]) -> set[str]:
    """Behaviors found in more than one split (empty for a well-made dataset)."""
    where: dict[str, set[str]] = {}
    for r in rows:
        where.setdefault(r["behavior_id"], set()).add(r["split"])
    return {b for b, s in where.items() if len(s) > 1}


def write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: str | Path) -> list[dict]:
    try:
        return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise RedlineError(f"cannot read dataset {path}: {exc}") from None


def write_dataset(out_dir: Path, sft: list[dict], dpo: list[dict]) -> dict[str, Any]:
    """`sft.train.jsonl`, `sft.heldout.jsonl`, `dpo.train.jsonl`, `dpo.heldout.jsonl` in `out_dir`; returns paths
    and row counts."""
    bad = overlap([*sft, *dpo])
    if bad:
        raise RedlineError(f"behaviors in both splits: {', '.join(sorted(bad)[:5])}")
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    for name, rows in (("sft", sft), ("dpo", dpo)):
        for split in SPLITS:
            path = out_dir / f"{name}.{split}.jsonl"
            files[f"{name}.{split}"] = {"path": str(path), "rows": write_jsonl(path, (r for r in rows
                                                                                       if r["split"] == split))}
    return files
