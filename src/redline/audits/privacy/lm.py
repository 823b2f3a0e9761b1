"""Per-sequence token log-likelihood of a causal LM: the one helper that canary exposure, extraction,
LoRA fine-tuning and membership inference on LMs share.

Every text is prefixed with the tokenizer's BOS (or EOS) token so that its first token is scored too;
batches are left padded with explicit position ids, so padding does not change any score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def encode_batch(tokenizer: Any, texts: Sequence[str], max_length: int = 512) -> dict[str, Any]:
    """Left-padded input ids, attention mask and position ids for `texts`, each prefixed with BOS."""
    import torch

    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else start
    rows = []
    for t in texts:
        ids = tokenizer(t, add_special_tokens=False)["input_ids"][: max_length - 1]
        rows.append([start, *ids])
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = torch.tensor(r)
        mask[i, width - len(r):] = 1
    return {"input_ids": ids, "attention_mask": mask, "position_ids": (mask.cumsum(1) - 1).clamp(min=0)}


def token_nll(model: Any, batch: dict[str, Any]) -> tuple[Any, Any]:
    """(per-token negative log-likelihood [B, T-1], mask of scored tokens [B, T-1]) for one batch."""
    import torch.nn.functional as F

    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    logits = model(**batch).logits[:, :-1].float()
    target = batch["input_ids"][:, 1:]
    nll = F.cross_entropy(logits.transpose(1, 2), target, reduction="none")
    am = batch["attention_mask"]
    mask = (am[:, 1:] * am[:, :-1]).to(nll.dtype)  # real target predicted from a real token (not BOS from a pad)
    return nll * mask, mask


def sequence_nll(model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 16) -> tuple[np.ndarray,
                                                                                                   np.ndarray]:
    """(total NLL in nats, number of scored tokens) of each text; texts are batched by length."""
    import torch

    texts = list(texts)
    total = np.zeros(len(texts))
    count = np.zeros(len(texts), dtype=np.int64)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with torch.no_grad():
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            nll, mask = token_nll(model, encode_batch(tokenizer, [texts[i] for i in idx]))
            total[idx] = nll.sum(1).double().cpu().numpy()
            count[idx] = mask.sum(1).long().cpu().numpy()
    return total, count


def log_perplexity(model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
    """Mean token NLL (log-perplexity) of each text; NaN for a text with no tokens."""
    total, count = sequence_nll(model, tokenizer, texts, batch_size)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def scorer(model: Any, tokenizer: Any, batch_size: int = 16, adapter: bool = True,
           total: bool = False) -> Callable[[Sequence[str]], np.ndarray]:
    """A log-perplexity function of texts (`total=True`: total NLL in nats); `adapter=False` scores a
    peft model with its adapter disabled."""

    def measure(texts: Sequence[str]) -> np.ndarray:
        if total:
            return sequence_nll(model, tokenizer, texts, batch_size)[0]
        return log_perplexity(model, tokenizer, texts, batch_size)

    def score(texts: Sequence[str]) -> np.ndarray:
        if adapter or not hasattr(model, "disable_adapter"):
            return measure(texts)
        with model.disable_adapter():
            return measure(texts)

    return score
