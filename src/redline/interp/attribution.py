"""Direct attribution: how much each layer's attention and MLP output writes along a direction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .activations import batch_tensors, encode, n_positions
from .hooks import add_hooks, block_parts, decoder_layers, residual
from .interventions import Direction


@dataclass
class LayerAttribution:
    layer: int
    attn: float  # mean projection of the attention output on the unit direction
    mlp: float
    resid: float  # projection of the residual stream (layer output), for scale


def attribute(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    direction: Direction,
    position: str = "last",
    batch_size: int = 16,
) -> list[LayerAttribution]:
    """Mean projection over prompts and the final `position` tokens, per layer and component."""
    import torch

    unit = torch.tensor(direction.unit, dtype=torch.float32)
    k = n_positions(tokenizer, position)
    layers = decoder_layers(model)
    sums = np.zeros((len(layers), 3))

    def keep(i: int, c: int):  # noqa: ANN202
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            x = residual(output)[:, -k:, :].float().cpu()
            sums[i, c] += float((x @ unit).mean(dim=1).sum())

        return hook

    hooks = []
    for i, layer in enumerate(layers):
        attn, mlp = block_parts(layer)
        hooks += [(attn, keep(i, 0)), (mlp, keep(i, 1)), (layer, keep(i, 2))]
    encoded = [encode(tokenizer, p) for p in prompts]
    with add_hooks(module_forward_hooks=hooks), torch.inference_mode():
        for start in range(0, len(encoded), batch_size):
            model(
                **batch_tensors(tokenizer, encoded[start : start + batch_size], model.device), use_cache=False
            )
    means = sums / len(prompts)
    return [LayerAttribution(i, *map(float, means[i])) for i in range(len(layers))]


def _save(fig: Any, path: str | Path) -> Path:
    """Write a matplotlib figure as a PNG (creating folders) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_attribution(rows: list[LayerAttribution], path: str | Path, title: str = "") -> Path:
    """Bar chart of attention and MLP writes per layer, with the residual projection as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.array([r.layer for r in rows])
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar(x - 0.2, [r.attn for r in rows], width=0.4, label="attention output")
    ax.bar(x + 0.2, [r.mlp for r in rows], width=0.4, label="MLP output")
    ax.plot(x, [r.resid for r in rows], color="black", marker=".", lw=1, label="residual stream")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("layer")
    ax.set_ylabel("projection on refusal direction")
    ax.set_title(title or "Direct writes along the refusal direction (harmful prompts)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_auroc(scores: list, path: str | Path, title: str = "") -> Path:
    """Held-out probe AUROC by layer with bootstrap intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [s.layer for s in scores]
    y = np.array([s.auroc for s in scores])
    err = np.array([[s.auroc - s.low for s in scores], [s.high - s.auroc for s in scores]])
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.errorbar(x, y, yerr=err, fmt="o-", ms=3, capsize=2)
    ax.axhline(0.5, color="grey", ls="--", lw=0.8, label="chance")
    ax.set_ylim(0.4, 1.02)
    ax.set_xlabel("layer")
    ax.set_ylabel("held-out AUROC (95% bootstrap)")
    ax.set_title(title or "Linear probe: harmful vs harmless instructions")
    ax.legend(fontsize=8)
    return _save(fig, path)
