"""Residual-stream activations per layer at chosen token positions, batched and cached (safetensors).

Layer `i` is the output of decoder block `i`. Positions are counted from the end of the prompt,
which left padding aligns across a batch: `last` is the final token, `post` the chat-template tokens
after the user's message (for ChatML: `<|im_end|>\\n<|im_start|>assistant\\n`).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RedlineError
from ..records import Conversation, user
from .hooks import add_hooks, decoder_layers, residual

MARKER = "\x00REDLINE-MARK\x00"


def post_instruction_length(tokenizer: Any) -> int:
    """How many tokens the chat template puts after the user's message (at least 1)."""
    from ..targets.local import render_chat

    text = render_chat(tokenizer, [user(MARKER)])
    suffix = text[text.index(MARKER) + len(MARKER) :]
    return max(1, len(tokenizer(suffix, add_special_tokens=False)["input_ids"]))


def n_positions(tokenizer: Any, position: str) -> int:
    """`last` -> 1, `post` -> the post-instruction token count, `N` -> N final tokens."""
    if position == "last":
        return 1
    if position == "post":
        return post_instruction_length(tokenizer)
    if position.isdigit() and int(position) > 0:
        return int(position)
    raise RedlineError(f"unknown token position {position!r} (use last, post, or a number of final tokens)")


def encode(tokenizer: Any, item: str | Conversation) -> list[int]:
    """Chat-template token ids of a prompt (a user message) or a whole conversation."""
    from ..targets.local import render_chat

    conv = [user(item)] if isinstance(item, str) else item
    return tokenizer(render_chat(tokenizer, conv), add_special_tokens=False)["input_ids"]


def batch_tensors(tokenizer: Any, seqs: list[list[int]], device: Any) -> dict[str, Any]:
    """Left-padded input ids, attention mask and position ids for one forward pass."""
    import torch

    width = max(len(s) for s in seqs)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs], device=device)
    mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs], device=device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return {"input_ids": ids, "attention_mask": mask, "position_ids": positions}


def collect_activations(
    model: Any,
    tokenizer: Any,
    prompts: list[str | Conversation],
    position: str = "last",
    batch_size: int = 16,
    layers: list[int] | None = None,
) -> Any:
    """Activations as a float32 tensor [prompts, layers, positions, hidden] (on CPU)."""
    import torch

    if not prompts:
        raise RedlineError("no prompts to collect activations for")
    blocks = decoder_layers(model)
    layer_ids = list(range(len(blocks))) if layers is None else layers
    k = n_positions(tokenizer, position)
    encoded = [encode(tokenizer, p) for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    out = torch.zeros(len(prompts), len(layer_ids), k, model.config.hidden_size)
    store: dict[int, Any] = {}

    def keep(idx: int):  # noqa: ANN202
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            store[idx] = residual(output)[:, -k:, :].detach().float().cpu()

        return hook

    hooks = [(blocks[layer], keep(j)) for j, layer in enumerate(layer_ids)]
    with add_hooks(module_forward_hooks=hooks), torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            model(**batch_tensors(tokenizer, [encoded[i] for i in rows], model.device), use_cache=False)
            for j in range(len(layer_ids)):
                out[rows, j] = store[j]
    return out


def prompts_hash(prompts: list[str | Conversation]) -> str:
    """A stable hash of a prompt set (strings or conversations)."""
    data = [p if isinstance(p, str) else [[m.role, m.content] for m in p] for p in prompts]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:16]


@dataclass
class CachedActivations:
    """Activations with where they came from."""

    tensor: Any
    model_id: str
    prompt_hash: str
    position: str
    path: Path
    seconds: float
    from_cache: bool


def activation_cache_dir() -> Path:
    from ..targets.local import cache_dir

    return cache_dir() / "activations"


def cached_activations(
    model: Any,
    tokenizer: Any,
    model_id: str,
    prompts: list[str | Conversation],
    position: str = "last",
    batch_size: int = 16,
    cache: Path | None = None,
    refresh: bool = False,
) -> CachedActivations:
    """Collect, or load from the safetensors cache keyed by model id, position and prompt-set hash."""
    from safetensors.torch import load_file, save_file

    digest = prompts_hash(prompts)
    safe_id = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model_id)
    folder = cache or activation_cache_dir()
    path = folder / f"{safe_id}-{position}-{digest}.safetensors"
    if path.exists() and not refresh:
        return CachedActivations(
            load_file(str(path))["activations"], model_id, digest, position, path, 0.0, True
        )
    start = time.perf_counter()
    tensor = collect_activations(model, tokenizer, prompts, position, batch_size)
    seconds = time.perf_counter() - start
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"model_id": model_id, "prompt_hash": digest, "position": position, "n": str(len(prompts))}
    tmp = path.with_suffix(".tmp")
    save_file({"activations": tensor.contiguous()}, str(tmp), metadata=meta)
    tmp.replace(path)
    return CachedActivations(tensor, model_id, digest, position, path, seconds, False)
