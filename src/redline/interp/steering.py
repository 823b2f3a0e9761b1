"""Contrastive steering vectors from user-given prompt pairs (mean difference), saved as directions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import ConfigError
from .activations import collect_activations
from .interventions import Direction


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """Pairs from YAML/JSON (`[{positive, negative}]` or `{pairs: [...]}`) or JSONL."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if p.suffix == ".jsonl":
        items = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        data = yaml.safe_load(text)
        items = data.get("pairs", []) if isinstance(data, dict) else data
    pairs = []
    for i, item in enumerate(items or []):
        if not isinstance(item, dict) or not item.get("positive") or not item.get("negative"):
            raise ConfigError(f"{path}: pair {i + 1} needs 'positive' and 'negative' prompts")
        pairs.append((str(item["positive"]), str(item["negative"])))
    if not pairs:
        raise ConfigError(f"{path} holds no prompt pairs")
    return pairs


def steering_vector(
    model: Any,
    tokenizer: Any,
    pairs: list[tuple[str, str]],
    layer: int | None = None,
    position: str = "last",
    model_id: str = "",
    skip: float = 0.2,
) -> Direction:
    """Mean(positive) - mean(negative) at `layer`; by default the layer where the pairs separate most
    (largest mean per-pair projection on the difference, relative to the activation spread)."""
    pos = collect_activations(model, tokenizer, [p for p, _ in pairs], position).mean(dim=2)
    neg = collect_activations(model, tokenizer, [n for _, n in pairs], position).mean(dim=2)
    diffs = (pos - neg).double().numpy()  # [pairs, layers, hidden]
    mean = diffs.mean(axis=0)
    n_layers = mean.shape[0]
    if layer is None:
        limit = max(1, int(n_layers * (1 - skip)))
        sep = []
        for i in range(limit):
            unit = mean[i] / max(np.linalg.norm(mean[i]), 1e-12)
            proj = diffs[:, i, :] @ unit
            sep.append(proj.mean() / (proj.std() + 1e-6) if len(proj) > 1 else proj.mean())
        layer = int(np.argmax(sep))
    if not 0 <= layer < n_layers:
        raise ConfigError(f"layer {layer} is out of range (the model has {n_layers} layers)")
    return Direction(mean[layer], layer, position, "steering", model_id, {"pairs": len(pairs)})
