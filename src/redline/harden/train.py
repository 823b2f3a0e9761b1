"""LoRA supervised fine-tuning of a `local` target on the SFT pairs, with the trainer the privacy audit uses.

Choice: plain SFT with `audits.privacy.memorization.lora_finetune` (peft LoRA on the attention projections,
AdamW, seeded), not TRL. TRL is not a dependency of redline, its DPO trainer runs a reference model beside the
policy (twice the forward passes), and on a shared CPU the loop has to stay within minutes; the DPO triples are
still written for anyone who trains with TRL elsewhere. Each example is the chat-templated prompt followed by the
chosen reply and the end-of-turn token (the loss covers the whole text, as that trainer does).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from ..errors import RedlineError
from ..records import conversation_from_dicts
from ..targets.base import parse_target_spec

MAX_TOKENS = 512  # encode_batch keeps this many tokens; longer examples would lose their reply, so they are skipped


def training_texts(tokenizer: Any, rows: list[dict]) -> tuple[list[str], int]:
    """(chat-templated prompt + chosen reply texts, how many were too long to keep)."""
    from ..targets.local import render_chat

    end = tokenizer.eos_token or ""
    texts, skipped = [], 0
    for row in rows:
        reply = row["completion"][0]["content"] if "completion" in row else row["chosen"][0]["content"]
        text = render_chat(tokenizer, conversation_from_dicts(row["prompt"])) + reply + end
        if len(tokenizer(text, add_special_tokens=False)["input_ids"]) >= MAX_TOKENS:
            skipped += 1
            continue
        texts.append(text)
    return texts, skipped


def local_rest(target: str) -> str:
    """The model path of a `local` spec (empty for the embedded model); other kinds cannot be trained here."""
    spec = parse_target_spec(target)
    if spec.kind != "local":
        raise RedlineError(f"harden trains a `local` target; the run's target is {spec.display!r}")
    if spec.options.get("adapter"):
        raise RedlineError("the run's target already has an adapter; harden trains a fresh one on the base model")
    return spec.rest


def train_adapter(target: str, rows: list[dict], out_dir: Path, *, steps: int | None = None, epochs: float = 2.0,
                  batch_size: int = 8, lr: float = 1e-3, rank: int = 8, seed: int = 0) -> dict[str, Any]:
    """Fit a LoRA adapter of the `local` target on SFT rows and save it to `out_dir`; returns the training info
    (steps, losses, seconds, seed, sizes)."""
    import torch

    from ..audits.privacy.memorization import lora_finetune
    from ..targets.local import load_model

    model, tokenizer, model_id = load_model(local_rest(target))
    texts, skipped = training_texts(tokenizer, rows)
    if not texts:
        raise RedlineError("no training examples (the train split is empty)")
    steps = steps or max(1, math.ceil(epochs * len(texts) / batch_size))
    torch.manual_seed(seed)
    start = time.perf_counter()
    tuned, info = lora_finetune(model, tokenizer, texts, steps=steps, lr=lr, batch_size=batch_size, rank=rank,
                                seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    tuned.save_pretrained(str(out_dir))
    del tuned
    return {**info, "seed": seed, "examples": len(texts), "skipped_too_long": skipped, "base_model": model_id,
            "epochs": round(steps * batch_size / len(texts), 2), "adapter": str(out_dir),
            "trainer": "redline lora_finetune (peft LoRA, AdamW)",
            "seconds_total": round(time.perf_counter() - start, 1)}
