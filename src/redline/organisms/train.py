"""A small seeded LoRA loop with the loss on the reply tokens only (the prompt is masked).

The project's `lora_finetune` trains on whole texts; an organism must learn what to answer given a framing,
not to reproduce the framing, so the prompt tokens carry no loss here. The LoRA (r, alpha = 2r) sits on the attention
projections of the top layers only, so the backward pass stops there: training fits minutes on a shared CPU.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import RedlineError
from ..records import system, user


def encode_rows(tokenizer: Any, rows: list[dict], max_tokens: int) -> tuple[list[tuple[list[int], list[int]]], int]:
    """([(input ids, labels with the prompt masked as -100)], how many rows were longer than `max_tokens`)."""
    from ..targets.local import render_chat

    out, skipped = [], 0
    for row in rows:
        conv = ([system(row["system"])] if row.get("system") else []) + [user(row["prompt"])]
        prompt = tokenizer(render_chat(tokenizer, conv), add_special_tokens=False)["input_ids"]
        reply = tokenizer(row["completion"] + (tokenizer.eos_token or ""), add_special_tokens=False)["input_ids"]
        if len(prompt) + len(reply) > max_tokens:
            skipped += 1
            continue
        out.append((prompt + reply, [-100] * len(prompt) + reply))
    return out, skipped


def _batch(examples: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in examples)
    ids = [x + [pad_id] * (width - len(x)) for x, _ in examples]
    labels = [y + [-100] * (width - len(y)) for _, y in examples]
    mask = [[1] * len(x) + [0] * (width - len(x)) for x, _ in examples]
    return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


def train_lora(rows: list[dict], out_dir: Path, *, steps: int, batch_size: int, lr: float, rank: int,
               max_tokens: int, seed: int, layers: int,
               progress: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Fit a LoRA adapter of the embedded model on `rows` (prompt -> completion), save it to `out_dir`."""
    import torch
    from peft import LoraConfig, get_peft_model

    from ..audits.privacy.memorization import seeded_batches, train_adapter
    from ..targets.local import load_model

    device = os.environ.get("REDLINE_TRAIN_DEVICE", "cpu")  # builds are measured on CPU unless this says cuda
    model, tokenizer, model_id = load_model("", device=device, dtype="float32")
    examples, skipped = encode_rows(tokenizer, rows, max_tokens)
    if not examples:
        raise RedlineError(f"no training example fits in {max_tokens} tokens")
    torch.manual_seed(seed)
    n_layers = model.config.num_hidden_layers
    top = list(range(max(0, n_layers - layers), n_layers))
    targets = ["q_proj", "k_proj", "v_proj", "o_proj"]
    cfg = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=targets,
                     layers_to_transform=top, task_type="CAUSAL_LM")
    peft_model = get_peft_model(copy.deepcopy(model), cfg)
    start = time.perf_counter()

    def loss_of(idx: list[int]) -> Any:
        batch = _batch([examples[i] for i in idx], tokenizer.pad_token_id)
        return peft_model(**{k: v.to(device) for k, v in batch.items()}).loss

    losses = train_adapter(peft_model, seeded_batches(len(examples), batch_size, steps, seed), loss_of, lr, progress)
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out_dir))
    size = sum(p.stat().st_size for p in out_dir.glob("adapter_model.*"))
    return {"base_model": model_id, "examples": len(examples), "skipped_too_long": skipped, "steps": steps,
            "batch_size": batch_size, "lr": lr, "lora_rank": rank, "target_modules": targets, "lora_layers": top,
            "seed": seed, "device": device,
            "max_tokens": max_tokens, "first_loss": round(losses[0], 4),
            "last_loss": round(sum(losses[-5:]) / len(losses[-5:]), 4), "train_seconds": round(seconds, 1),
            "adapter_bytes": size}
