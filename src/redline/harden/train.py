"""LoRA fine-tuning of a `local` target on the harden dataset: SFT on the chosen replies, or DPO on the triples.

Both losses cover the **reply tokens only**: each example is the chat-templated prompt followed by the reply and the
end-of-turn token, and the prompt's labels are -100 (`encode_pairs`), so the gradient goes into what to answer, not
into modelling long jailbreak wrappers. The adapter is a fresh peft LoRA on the attention projections
(`audits.privacy.memorization.lora_model`, the privacy audit's helper; its `lora_finetune` scores whole texts and is
left as it is for its own callers).

DPO (Rafailov et al. 2023) is a direct loss of our own, not TRL: TRL would add `datasets` and `pyarrow` to the
install, and its trainer runs the reference model at every step; here the reference is the same peft model with the
adapter disabled, and its log-probabilities are computed once, before training (the reference never changes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RedlineError
from ..records import conversation_from_dicts
from ..targets.base import parse_target_spec

MAX_TOKENS = 512  # an example longer than this (prompt + reply) would lose its reply, so it is skipped
METHODS = ("sft", "dpo")
IGNORE = -100


def _reply(message: list[dict] | str) -> str:
    return message if isinstance(message, str) else message[0]["content"]


def prompt_text(tokenizer: Any, row: dict) -> str:
    """The chat-templated prompt of a row, ending with the assistant turn's header."""
    from ..targets.local import render_chat

    return render_chat(tokenizer, conversation_from_dicts(row["prompt"]))


def encode_pairs(tokenizer: Any, prompts: Sequence[str], replies: Sequence[str]) -> dict[str, Any]:
    """Left-padded batch of BOS + prompt + reply + EOS with `labels` = the reply's token ids and -100 on BOS, the
    prompt and the padding (the loss covers the reply only)."""
    import torch

    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else start
    end = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    rows = []
    for p, r in zip(prompts, replies, strict=True):
        head = [start, *tokenizer(p, add_special_tokens=False)["input_ids"]]
        rows.append((head, [*tokenizer(r, add_special_tokens=False)["input_ids"], *end]))
    width = max(len(h) + len(r) for h, r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (head, reply) in enumerate(rows):
        seq = head + reply
        ids[i, width - len(seq):] = torch.tensor(seq)
        labels[i, width - len(reply):] = torch.tensor(reply)
        mask[i, width - len(seq):] = 1
    return {"input_ids": ids, "attention_mask": mask, "position_ids": (mask.cumsum(1) - 1).clamp(min=0),
            "labels": labels}


def reply_logprobs(model: Any, batch: dict[str, Any]) -> tuple[Any, Any]:
    """(summed log-probability of each row's labelled tokens [B], their count [B])."""
    import torch

    device = next(model.parameters()).device
    inputs = {k: batch[k].to(device) for k in ("input_ids", "attention_mask", "position_ids")}
    logits = model(**inputs).logits[:, :-1].float()
    labels = batch["labels"][:, 1:].to(device)
    keep = labels != IGNORE
    logp = torch.log_softmax(logits, dim=-1).gather(2, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (logp * keep).sum(1), keep.sum(1)


def sft_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Mean negative log-likelihood per reply token of the batch."""
    logp, count = reply_logprobs(model, batch)
    return -logp.sum() / count.sum().clamp(min=1)


def dpo_loss(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float = 0.1) -> Any:
    """Mean DPO loss: -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r))) over summed reply log-probs."""
    import torch.nn.functional as F

    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    return -F.logsigmoid(beta * margin).mean()


def pair_logprobs(model: Any, tokenizer: Any, prompts: Sequence[str], chosen: Sequence[str],
                  rejected: Sequence[str]) -> tuple[Any, Any]:
    """(log p(chosen | prompt), log p(rejected | prompt)), one forward pass over both halves."""
    logp, _ = reply_logprobs(model, encode_pairs(tokenizer, [*prompts, *prompts], [*chosen, *rejected]))
    return logp[: len(prompts)], logp[len(prompts):]


def examples(tokenizer: Any, rows: list[dict], method: str) -> tuple[list[tuple[str, ...]], int]:
    """((prompt text, chosen[, rejected]) per usable row, how many were too long to keep)."""
    out, skipped = [], 0
    for row in rows:
        prompt = prompt_text(tokenizer, row)
        replies = [_reply(row["completion"] if "completion" in row else row["chosen"])]
        if method == "dpo":
            replies.append(_reply(row["rejected"]))
        n = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        if any(n + len(tokenizer(r, add_special_tokens=False)["input_ids"]) + 2 > MAX_TOKENS for r in replies):
            skipped += 1
            continue
        out.append((prompt, *replies))
    return out, skipped


def fit(model: Any, tokenizer: Any, data: list[tuple[str, ...]], method: str = "sft", *, steps: int = 10,
        lr: float = 2e-4, batch_size: int = 8, rank: int = 8, beta: float = 0.1, seed: int = 0,
        copy_model: bool = True, progress: Callable[[int, float], None] | None = None) -> tuple[Any, dict[str, Any]]:
    """LoRA-train a copy of `model` on (prompt, chosen[, rejected]) examples; returns (peft model, info)."""
    import torch

    from ..audits.privacy.memorization import lora_model, seeded_batches, train_adapter

    if method not in METHODS:
        raise RedlineError(f"unknown training method {method!r}; use one of {', '.join(METHODS)}")
    if not data:
        raise RedlineError("no training examples (the train split is empty)")
    torch.manual_seed(seed)
    peft_model, targets = lora_model(model, rank, copy_model)
    ref: tuple[Any, Any] | None = None
    start = time.perf_counter()
    if method == "dpo":  # the reference (adapter off) never changes: score every pair once
        ref_c, ref_r = torch.zeros(len(data)), torch.zeros(len(data))
        with torch.no_grad(), peft_model.disable_adapter():
            for s in range(0, len(data), batch_size):
                part = data[s:s + batch_size]
                c, r = pair_logprobs(peft_model, tokenizer, *zip(*part, strict=True))
                ref_c[s:s + len(part)], ref_r[s:s + len(part)] = c.cpu(), r.cpu()
        ref = (ref_c, ref_r)

    def loss_of(idx: list[int]) -> Any:
        part = [data[i] for i in idx]
        if ref is None:
            return sft_loss(peft_model, encode_pairs(tokenizer, [p[0] for p in part], [p[1] for p in part]))
        c, r = pair_logprobs(peft_model, tokenizer, *zip(*part, strict=True))
        return dpo_loss(c, r, ref[0][idx].to(c.device), ref[1][idx].to(c.device), beta)

    order = seeded_batches(len(data), min(batch_size, len(data)), steps, seed)
    losses = train_adapter(peft_model, order, loss_of, lr, progress)
    info = {"method": method, "steps": steps, "lr": lr, "batch_size": batch_size, "lora_rank": rank,
            "target_modules": targets, "first_loss": losses[0] if losses else None,
            "last_loss": float(np.mean(losses[-5:])) if losses else None, "losses": [round(x, 4) for x in losses],
            "seconds": round(time.perf_counter() - start, 1), **({"beta": beta} if method == "dpo" else {})}
    return peft_model, info


def local_rest(target: str) -> str:
    """The model path of a `local` spec (empty for the embedded model); other kinds cannot be trained here."""
    spec = parse_target_spec(target)
    if spec.kind != "local":
        raise RedlineError(f"harden trains a `local` target; the run's target is {spec.display!r}")
    if spec.options.get("adapter"):
        raise RedlineError("the run's target already has an adapter; harden trains a fresh one on the base model")
    return spec.rest


def train_adapter(target: str, rows: list[dict], out_dir: Path, *, method: str = "sft", steps: int | None = None,
                  epochs: float = 4.0, batch_size: int = 8, lr: float = 2e-4, rank: int = 8, beta: float = 0.1,
                  seed: int = 0, progress: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Fit a LoRA adapter of the `local` target on SFT rows (`sft`) or DPO rows (`dpo`) and save it to `out_dir`;
    returns the training info (method, steps, losses, seconds, seed, sizes)."""
    from ..targets.local import load_model

    model, tokenizer, model_id = load_model(local_rest(target))
    data, skipped = examples(tokenizer, rows, method)
    if not data:
        raise RedlineError("no training examples (the train split is empty or every example is too long)")
    steps = steps or max(1, math.ceil(epochs * len(data) / batch_size))
    start = time.perf_counter()
    tuned, info = fit(model, tokenizer, data, method, steps=steps, lr=lr, batch_size=batch_size, rank=rank,
                      beta=beta, seed=seed, progress=progress)  # a copy: the loaded model is cached
    out_dir.mkdir(parents=True, exist_ok=True)
    tuned.save_pretrained(str(out_dir))
    del tuned
    return {**info, "seed": seed, "examples": len(data), "skipped_too_long": skipped, "base_model": model_id,
            "epochs": round(steps * min(batch_size, len(data)) / len(data), 2), "adapter": str(out_dir),
            "trainer": f"redline harden.train ({method}, loss on reply tokens, peft LoRA, AdamW)",
            "seconds_total": round(time.perf_counter() - start, 1)}
