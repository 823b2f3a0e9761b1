"""Demo data the project generates (no downloads): a tabular binary task, member splits and canaries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import ConfigError


@dataclass
class Dataset:
    """Features (float32) and integer labels."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> Dataset:
        return Dataset(self.x[idx], self.y[idx])

    @property
    def n_classes(self) -> int:
        return int(self.y.max()) + 1 if len(self.y) else 0


def make_tabular(n: int = 4000, features: int = 20, informative: int = 8, noise: float = 0.1,
                 seed: int = 0) -> Dataset:
    """A nonlinear binary task: labels from a random 2-layer teacher on informative features, plus flips."""
    rng = np.random.default_rng(seed)
    informative = min(informative, features)
    x = rng.standard_normal((n, features)).astype(np.float32)
    w1 = rng.standard_normal((informative, 16))
    w2 = rng.standard_normal(16)
    logits = np.tanh(x[:, :informative] @ w1 / np.sqrt(informative)) @ w2
    y = (logits > np.median(logits)).astype(np.int64)
    flip = rng.random(n) < noise
    y[flip] = 1 - y[flip]
    return Dataset(x, y)


def make_canaries(k: int, features: int, seed: int = 1, scale: float = 4.0, classes: int = 2,
                  like: Dataset | None = None) -> Dataset:
    """Out-of-distribution points with random labels: only memorization can fit them.

    Each lies `scale * sqrt(features) / 2` standard deviations from the center; `like` gives the data
    whose per-feature mean and sd define center and scale (default: standard normal features)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((k, features)).astype(np.float32)
    x *= scale / np.linalg.norm(x, axis=1, keepdims=True) * np.sqrt(features) / 2
    if like is not None:
        sd = like.x.std(0)
        x = like.x.mean(0) + x * np.where(sd > 0, sd, 1.0)
    y = rng.integers(0, classes, k).astype(np.int64)
    return Dataset(x.astype(np.float32), y)


def load_csv(path: str | Path, label: str = "label") -> Dataset:
    """A CSV of numeric feature columns and an integer label column."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not rows or label not in rows[0]:
        raise ConfigError(f"{path}: needs a header with a {label!r} column")
    cols = [c for c in rows[0] if c != label]
    try:
        x = np.array([[float(r[c]) for c in cols] for r in rows], dtype=np.float32)
        y = np.array([int(float(r[label])) for r in rows], dtype=np.int64)
    except ValueError as exc:
        raise ConfigError(f"{path}: non-numeric value ({exc})") from None
    if y.min() < 0:
        raise ConfigError(f"{path}: labels must be non-negative integers")
    return Dataset(x, y)


def split(data: Dataset, fractions: tuple[float, ...], seed: int = 0) -> list[Dataset]:
    """Random disjoint splits with the given fractions (the rest is dropped)."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(data))
    out, start = [], 0
    for f in fractions:
        n = int(round(f * len(data)))
        out.append(data.subset(idx[start : start + n]))
        start += n
    return out
