"""Linear classifiers on activations ("linear probes"): per-layer standardized logistic regression with held-out
AUROC and bootstrap intervals.

A saved probe (safetensors: mean, scale, weight, bias; metadata: layer, position, model, kind, scores)
can be loaded as a judge or input classifier (`--judge probe:FILE`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RedlineError


@dataclass
class LayerScore:
    layer: int
    auroc: float
    low: float
    high: float
    train_auroc: float


@dataclass
class LinearProbe:
    """Standardize, then a linear score; `predict_proba` gives P(positive class)."""

    layer: int
    position: str
    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    bias: float
    model_id: str = ""
    model_path: str = ""
    kind: str = "input"  # input: harmful vs harmless prompt; response: refused vs complied reply
    labels: tuple[str, str] = ("harmless", "harmful")
    threshold: float = 0.5
    scores: list[dict] = field(default_factory=list)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        z = ((np.asarray(x, dtype=np.float64) - self.mean) / self.scale) @ self.weight + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: str | Path) -> Path:
        from safetensors.numpy import save_file

        meta = {k: v for k, v in asdict(self).items() if k not in ("mean", "scale", "weight")}
        tensors = {
            "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "weight": self.weight.astype(np.float32),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(path), metadata={"redline": "probe", "meta": json.dumps(meta)})
        return path

    @classmethod
    def load(cls, path: str | Path) -> LinearProbe:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
                if meta.get("redline") != "probe":
                    raise RedlineError(f"{path} is not a redline probe file")
                tensors = {k: f.get_tensor(k).astype(np.float64) for k in ("mean", "scale", "weight")}
        except (OSError, FileNotFoundError) as exc:
            raise RedlineError(f"cannot read probe {path}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a corrupt file is a user error
            if isinstance(exc, RedlineError):
                raise
            raise RedlineError(f"cannot read probe {path}: {type(exc).__name__}") from None
        data = json.loads(meta["meta"])
        data["labels"] = tuple(data["labels"])
        return cls(**tensors, **data)


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); 0.5 when one class is missing."""
    y = np.asarray(y).astype(bool)
    pos, neg = score[y], score[~y]
    if len(pos) == 0 or len(neg) == 0:
        return 0.5
    diff = pos[:, None] - neg[None, :]
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


def auroc_interval(
    y: np.ndarray, score: np.ndarray, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Stratified percentile bootstrap interval for the AUROC."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y).astype(bool)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    stats = []
    for _ in range(n_resamples):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        stats.append(auroc(y[idx], score[idx]))
    alpha = (1 - confidence) / 2
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))


def stratified_split(y: np.ndarray, test_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with both classes in each part."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        cut = max(1, int(round(len(idx) * test_fraction)))
        if cut >= len(idx):
            raise RedlineError("too few examples of a class for a held-out split")
        test.extend(idx[:cut])
        train.extend(idx[cut:])
    return np.sort(train), np.sort(test)


def fit_probe(
    x: np.ndarray, y: np.ndarray, c: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, weight, bias) of a standardized L2 logistic regression."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit((x - mean) / scale, y)
    return mean, scale, clf.coef_[0].astype(np.float64), float(clf.intercept_[0])


def probe_layers(
    acts: Any, y: np.ndarray, test_fraction: float = 0.3, seed: int = 0, c: float = 1.0
) -> tuple[list[LayerScore], dict[int, tuple]]:
    """Fit one probe per layer on `acts` [n, layers, hidden]; score each on a held-out split."""
    x_all = np.asarray(acts, dtype=np.float64)
    y = np.asarray(y).astype(int)
    if len(np.unique(y)) != 2:
        raise RedlineError("probes need examples of both classes")
    train, test = stratified_split(y, test_fraction, seed)
    scores, params = [], {}
    for layer in range(x_all.shape[1]):
        x = x_all[:, layer, :]
        mean, scale, w, b = fit_probe(x[train], y[train], c)
        s_test = ((x[test] - mean) / scale) @ w + b
        s_train = ((x[train] - mean) / scale) @ w + b
        low, high = auroc_interval(y[test], s_test, seed=seed)
        scores.append(LayerScore(layer, auroc(y[test], s_test), low, high, auroc(y[train], s_train)))
        params[layer] = (mean, scale, w, b)
    return scores, params


def best_layer(scores: list[LayerScore]) -> LayerScore:
    """Highest held-out AUROC; ties go to the earlier layer (cheaper to monitor)."""
    return max(scores, key=lambda s: (round(s.auroc, 4), -s.layer))
