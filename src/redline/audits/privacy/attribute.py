"""Attribute inference: does a fine-tuned LM reveal a record's masked sensitive attribute?

Each record is a text with one attribute value replaced by `{?}` and its true value. An attacker fills
the mask with every candidate value and picks the most likely text (total NLL, so values of different
token lengths compare fairly). Three attackers: the fine-tuned model (`target`), the base model
(`reference`: what is inferable without the fine-tune), and their ratio (`target - reference` NLL, the
calibrated attack). Accuracy is compared with the prior (always guessing the most frequent value) and
with the reference, on training records and, when given, on held-out records of the same distribution.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ...errors import RedlineError
from ...stats import bootstrap_interval, permutation_test_paired, wilson_interval

MASK = "{?}"
Score = Callable[[Sequence[str]], np.ndarray]


def mask_records(texts: Sequence[str], values: Sequence[str]) -> list[tuple[str, str]]:
    """(masked text, true value) for each text containing exactly one of `values` exactly once."""
    out = []
    for t in texts:
        found = [v for v in values if t.count(v) == 1]
        if len(found) == 1 and sum(t.count(v) for v in values) == 1:
            out.append((t.replace(found[0], MASK), found[0]))
    return out


def load_records(path: str | Path) -> list[tuple[str, str]]:
    """Records from JSON lines `{"text": "... {?} ...", "value": "true value"}`."""
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RedlineError(f"cannot read records file {path}: {exc.strerror or exc}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, value = str(row["text"]), str(row["value"])
        except (ValueError, KeyError, TypeError):
            raise RedlineError(f"{path}:{n}: expected {{\"text\": ..., \"value\": ...}}") from None
        if text.count(MASK) != 1:
            raise RedlineError(f"{path}:{n}: the text must contain {MASK} exactly once")
        out.append((text, value))
    if not out:
        raise RedlineError(f"records file {path} has no records")
    return out


def guesses(score: Score, records: Sequence[tuple[str, str]], values: Sequence[str]) -> np.ndarray:
    """Total NLL [records, values] of every record filled with every candidate value."""
    filled = [text.replace(MASK, v) for text, _ in records for v in values]
    return np.asarray(score(filled), dtype=float).reshape(len(records), len(values))


def _prior_accuracy(truth: np.ndarray) -> float:
    return Counter(truth.tolist()).most_common(1)[0][1] / len(truth)


def evaluate(nll: dict[str, np.ndarray], truth: np.ndarray, seed: int = 0) -> dict:
    """Accuracy per attacker, advantage over the prior and over the reference, with 95% intervals.

    `nll[attacker]` is [records, values]; `truth` the index of each true value. The prior is the share
    of the most frequent true value (the best constant guess); its advantage interval bootstraps records.
    """
    n = len(truth)
    idx = np.arange(n, dtype=float)
    prior = _prior_accuracy(truth)
    out: dict = {"records": n, "prior": prior}
    correct = {}
    for name, table in nll.items():
        hit = (table.argmin(1) == truth).astype(float)
        correct[name] = hit
        k = int(hit.sum())

        def advantage(rows: np.ndarray, hit: np.ndarray = hit) -> float:
            r = rows.astype(int)
            return float(hit[r].mean() - _prior_accuracy(truth[r]))

        out[name] = {
            "accuracy": k / n,
            "accuracy_ci": list(wilson_interval(k, n)),
            "advantage_over_prior": k / n - prior,
            "advantage_over_prior_ci": list(bootstrap_interval(idx, advantage, seed=seed)),
        }
    if "reference" in correct:
        for name in (x for x in correct if x != "reference"):
            diff = correct[name] - correct["reference"]
            out[name]["advantage_over_reference"] = float(diff.mean())
            out[name]["advantage_over_reference_ci"] = list(bootstrap_interval(diff, seed=seed))
            out[name]["p_vs_reference"] = permutation_test_paired(diff, seed=seed)
    return out


def attribute_inference(target: Score, records: Sequence[tuple[str, str]], values: Sequence[str] | None = None,
                        reference: Score | None = None, seed: int = 0) -> dict:
    """Attribute inference over `records` (masked text, true value) among `values` (default: the true ones)."""
    values = list(dict.fromkeys(values or [v for _, v in records]))
    if len(values) < 2:
        raise RedlineError("attribute inference needs at least two candidate values")
    missing = {v for _, v in records} - set(values)
    if missing:
        raise RedlineError(f"true value(s) not among the candidates: {sorted(missing)[:3]}")
    truth = np.array([values.index(v) for _, v in records])
    nll = {"target": guesses(target, records, values)}
    if reference is not None:
        nll["reference"] = guesses(reference, records, values)
        nll["ratio"] = nll["target"] - nll["reference"]
    return {"values": values, **evaluate(nll, truth, seed)}


def demo(n_docs: int = 120, steps: int = 120, seed: int = 0,
         progress: Callable[[int, float], None] | None = None) -> dict:
    """The memorization demo's data: LoRA-tune the embedded model on `n_docs` synthetic documents; the
    sensitive attribute is the place. Training records and as many held-out records are attacked."""
    import torch

    from ...targets.local import load_model
    from .lm import scorer
    from .memorization import PLACES, lora_finetune, make_corpus

    torch.manual_seed(seed)
    docs = list(dict.fromkeys(make_corpus(3 * n_docs, seed=seed)))
    members, held_out = docs[:n_docs], docs[n_docs : 2 * n_docs]
    model, tokenizer, model_id = load_model()
    tuned, info = lora_finetune(model, tokenizer, members, steps=steps, seed=seed, progress=progress)
    target, reference = scorer(tuned, tokenizer, total=True), scorer(tuned, tokenizer, adapter=False, total=True)
    out = {"model": model_id, "attribute": "place", "finetune": info, "members": n_docs}
    for name, texts in (("training", members), ("held_out", held_out)):
        out[name] = attribute_inference(target, mask_records(texts, PLACES), PLACES, reference, seed)
    return out
