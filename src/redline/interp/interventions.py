"""Directions and the two interventions on them: directional ablation and activation addition.

- ablation: the component along the unit direction is projected out of the embedding output and of
  every attention and MLP output, so no layer's residual stream carries it (Arditi et al. 2024);
- addition: `alpha` times the direction (in units of its stored norm, the harmful-minus-harmless mean
  difference, so alpha=1 moves a harmless mean onto the harmful one) is added to one layer's output.

As target options: `--target "local;steer=FILE:alpha[:layer]"` or `"local;ablate=FILE"`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, RedlineError
from .hooks import Hook, add_hooks, block_parts, decoder_layers, residual, with_residual


@dataclass
class Direction:
    """A residual-stream direction at one layer (and token position), with where it came from."""

    vector: np.ndarray  # unnormalized (e.g. mean difference); its norm sets the scale of alpha
    layer: int
    position: str = "last"
    kind: str = "refusal"  # refusal | steering
    model_id: str = ""
    scores: dict = field(default_factory=dict)

    @property
    def norm(self) -> float:
        return float(np.linalg.norm(self.vector))

    @property
    def unit(self) -> np.ndarray:
        return self.vector / max(self.norm, 1e-12)

    def save(self, path: str | Path) -> Path:
        from safetensors.numpy import save_file

        meta = {k: v for k, v in asdict(self).items() if k != "vector"}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(
            {"direction": self.vector.astype(np.float32)},
            str(path),
            metadata={"redline": "direction", "meta": json.dumps(meta, default=float)},
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> Direction:
        from safetensors import safe_open

        if not Path(path).is_file():
            raise ConfigError(f"direction file {str(path)!r} does not exist")
        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
                if meta.get("redline") != "direction":
                    raise ConfigError(f"{path} is not a redline direction file")
                vector = f.get_tensor("direction").astype(np.float64)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - a corrupt file is a user error
            raise ConfigError(f"cannot read direction {path}: {type(exc).__name__}") from None
        return cls(vector=vector, **json.loads(meta["meta"]))


def _unit_tensor(direction: Direction | np.ndarray) -> Any:
    import torch

    vec = direction.unit if isinstance(direction, Direction) else direction / np.linalg.norm(direction)
    return torch.tensor(vec, dtype=torch.float32)


def _like(tensor: Any) -> Any:
    """`tensor` on the device and in the dtype of a given activation (one copy per device and dtype)."""
    cache: dict[tuple, Any] = {}

    def get(x: Any) -> Any:
        key = (x.device, x.dtype)
        if key not in cache:
            cache[key] = tensor.to(device=x.device, dtype=x.dtype)
        return cache[key]

    return get


def _project_out(unit: Any) -> Any:
    unit_like = _like(unit)

    def hook(_module: Any, _inputs: Any, output: Any) -> Any:
        x = residual(output)
        u = unit_like(x)
        return with_residual(output, x - (x @ u).unsqueeze(-1) * u)

    return hook


def _add(vector: Any) -> Any:
    vector_like = _like(vector)

    def hook(_module: Any, _inputs: Any, output: Any) -> Any:
        x = residual(output)
        return with_residual(output, x + vector_like(x))

    return hook


def ablation_hooks(model: Any, direction: Direction | np.ndarray) -> list[Hook]:
    """Forward hooks removing the direction from the embeddings and every attention and MLP output."""
    hook = _project_out(_unit_tensor(direction))
    hooks: list[Hook] = [(model.get_input_embeddings(), hook)]
    for layer in decoder_layers(model):
        attn, mlp = block_parts(layer)
        hooks += [(attn, hook), (mlp, hook)]
    return hooks


def addition_hooks(model: Any, direction: Direction, alpha: float, layer: int | None = None) -> list[Hook]:
    """A forward hook adding alpha * direction (stored scale) to the output of one decoder layer."""
    import torch

    layers = decoder_layers(model)
    at = direction.layer if layer is None else layer
    if not 0 <= at < len(layers):
        raise ConfigError(f"layer {at} is out of range (the model has {len(layers)} layers)")
    vector = torch.tensor(alpha * direction.vector, dtype=torch.float32)
    return [(layers[at], _add(vector))]


def intervention_hooks(
    model: Any, kind: str, direction: Direction, alpha: float = 1.0, layer: int | None = None
):
    """Hooks for `ablate` or `steer` (activation addition)."""
    if kind == "ablate":
        return ablation_hooks(model, direction)
    if kind == "steer":
        return addition_hooks(model, direction, alpha, layer)
    raise ConfigError(f"unknown intervention {kind!r} (use steer or ablate)")


@contextmanager
def intervene(
    model: Any, kind: str, direction: Direction, alpha: float = 1.0, layer: int | None = None
) -> Iterator[None]:
    """Apply an intervention for the duration of the block (hooks always removed)."""
    with add_hooks(module_forward_hooks=intervention_hooks(model, kind, direction, alpha, layer)):
        yield


def parse_steer(value: str) -> tuple[str, float, int | None]:
    """`FILE:alpha[:layer]` -> (file, alpha, layer or None)."""
    parts = value.split(":")
    numbers: list[str] = []
    while len(parts) > 1 and len(numbers) < 2 and _is_number(parts[-1]):
        numbers.insert(0, parts.pop())
    if not numbers:
        raise ConfigError(f"steer option {value!r} needs FILE:alpha[:layer]")
    path = ":".join(parts)
    alpha = float(numbers[0])
    layer = None
    if len(numbers) == 2:
        if not numbers[1].lstrip("-").isdigit():
            raise ConfigError(f"steer layer must be an integer in {value!r}")
        layer = int(numbers[1])
    return path, alpha, layer


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def apply_target_intervention(target: Any, kind: str, value: str) -> None:
    """Install `steer=FILE:alpha[:layer]` or `ablate=FILE` on a LocalTarget (handles in `target.hooks`).

    The hooks stay until `target.close()`. The loaded model is shared by targets of the same
    process, so an intervened target must be closed before the plain model is used again.
    """
    model = getattr(target, "model", None)
    if model is None:
        raise RedlineError(f"{kind} needs a local transformers target")
    if kind == "steer":
        path, alpha, layer = parse_steer(value)
    elif kind == "ablate":
        path, alpha, layer = value, 1.0, None
    else:
        raise ConfigError(f"unknown intervention {kind!r} (use steer or ablate)")
    direction = Direction.load(path)
    if direction.vector.shape[0] != model.config.hidden_size:
        raise ConfigError(
            f"{path} has width {direction.vector.shape[0]}, "
            f"the model's hidden size is {model.config.hidden_size}"
        )
    for module, hook in intervention_hooks(model, kind, direction, alpha, layer):
        target.hooks.append(module.register_forward_hook(hook))
    name = Path(path).stem
    at = direction.layer if layer is None else layer
    target.id += f"+ablate({name})" if kind == "ablate" else f"+steer({name},{alpha:g}@{at})"
