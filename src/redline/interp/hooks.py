"""One context manager that registers forward hooks and always removes them, plus model accessors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import TargetError

Hook = tuple[Any, Callable[..., Any]]


@contextmanager
def add_hooks(
    module_forward_pre_hooks: Iterable[Hook] = (),
    module_forward_hooks: Iterable[Hook] = (),
) -> Iterator[list[Any]]:
    """Register (module, hook) pairs for the duration of the block; removed even on exceptions."""
    handles: list[Any] = []
    try:
        for module, hook in module_forward_pre_hooks:
            handles.append(module.register_forward_pre_hook(hook))
        for module, hook in module_forward_hooks:
            handles.append(module.register_forward_hook(hook))
        yield handles
    finally:
        for handle in handles:
            handle.remove()


def decoder_layers(model: Any) -> Any:
    """The list of decoder blocks of a causal LM (Llama/Mistral/Qwen/Gemma, GPT-2, GPT-NeoX)."""
    for path in ("model.layers", "transformer.h", "gpt_neox.layers", "model.decoder.layers"):
        obj = model
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None:
            return obj
    raise TargetError(f"cannot find the decoder layers of {type(model).__name__}")


def block_parts(layer: Any) -> tuple[Any, Any]:
    """(attention module, MLP module) of one decoder block."""
    attn = (
        getattr(layer, "self_attn", None) or getattr(layer, "attn", None) or getattr(layer, "attention", None)
    )
    mlp = getattr(layer, "mlp", None) or getattr(layer, "feed_forward", None)
    if attn is None or mlp is None:
        raise TargetError(f"cannot find attention and MLP modules in {type(layer).__name__}")
    return attn, mlp


def residual(output: Any) -> Any:
    """The hidden-state tensor of a module output (a tensor, or the first item of a tuple)."""
    return output[0] if isinstance(output, tuple) else output


def with_residual(output: Any, tensor: Any) -> Any:
    """Rebuild a module output with its hidden-state tensor replaced."""
    if isinstance(output, tuple):
        return (tensor, *output[1:])
    return tensor
