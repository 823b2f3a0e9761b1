"""DP fine-tuning of a causal LM's LoRA adapter (DP-SGD), with its accountant's epsilon.

Per-example gradients come from one backward pass per example (exact, no Opacus module wrapping: the
LoRA parameters are few, and this works with any transformers model); each is clipped to
`max_grad_norm`, summed, and Gaussian noise of sd `noise_multiplier * max_grad_norm` is added before
dividing by the expected batch size. Batches are Poisson-sampled (each text with probability
`sample_rate`), as the accountant assumes. Opacus's accountant (RDP or PRV) turns (noise multiplier,
sample rate, steps) into epsilon, or finds the noise multiplier for a target epsilon.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import RedlineError
from ..privacy.lm import encode_batch, sequence_nll, token_nll
from ..privacy.memorization import lora_model


def noise_for_epsilon(epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str = "rdp") -> float:
    """The noise multiplier that spends `epsilon` at `delta` over `steps` Poisson-sampled steps."""
    from opacus.accountants.utils import get_noise_multiplier

    return float(get_noise_multiplier(target_epsilon=epsilon, target_delta=delta, sample_rate=sample_rate,
                                      steps=steps, accountant=accountant))


def spent_epsilon(noise: float, delta: float, sample_rate: float, steps: int, accountant: str = "rdp") -> float:
    """The accountant's epsilon at `delta` after `steps` steps of DP-SGD."""
    from opacus.accountants import create_accountant

    acc = create_accountant(accountant)
    acc.history = [(noise, sample_rate, steps)]
    return float(acc.get_epsilon(delta))


def dp_lora_finetune(model: Any, tokenizer: Any, texts: Sequence[str], target_epsilon: float | None = None,
                     noise_multiplier: float | None = None, delta: float | None = None, epochs: float = 4.0,
                     batch_size: int = 8, lr: float = 3e-3, max_grad_norm: float = 1.0, rank: int = 8,
                     accountant: str = "rdp", seed: int = 0) -> tuple[Any, dict]:
    """DP-SGD on a fresh LoRA adapter of a copy of `model`; returns (peft model, info with epsilon).

    Give `target_epsilon` or `noise_multiplier`; `batch_size` is the expected Poisson batch size and
    `delta` defaults to 1/(10 n)."""
    import torch

    n = len(texts)
    if n < 2:
        raise RedlineError("DP fine-tuning needs at least two texts")
    if (target_epsilon is None) == (noise_multiplier is None):
        raise RedlineError("give target_epsilon or noise_multiplier (not both)")
    q = min(1.0, batch_size / n)
    steps = max(1, round(epochs / q))
    delta = delta or 1.0 / (10 * n)
    sigma = (noise_for_epsilon(target_epsilon, delta, q, steps, accountant) if target_epsilon is not None
             else float(noise_multiplier))
    torch.manual_seed(seed)
    peft_model, targets = lora_model(model, rank)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    rng = random.Random(seed)
    clipped, losses = 0, []
    start = time.perf_counter()
    peft_model.train()
    for _ in range(steps):
        batch = [i for i in range(n) if rng.random() < q]
        total = [torch.zeros_like(p) for p in params]
        for i in batch:
            nll, mask = token_nll(peft_model, encode_batch(tokenizer, [texts[i]]))
            loss = nll.sum() / mask.sum()
            grads = torch.autograd.grad(loss, params)
            norm = math.sqrt(sum(float(g.pow(2).sum()) for g in grads))
            scale = min(1.0, max_grad_norm / (norm + 1e-12))
            clipped += scale < 1.0
            for t, g in zip(total, grads, strict=True):
                t.add_(g, alpha=scale)
            losses.append(float(loss.detach()))
        for p, t in zip(params, total, strict=True):
            p.grad = (t + torch.randn_like(t) * sigma * max_grad_norm) / (q * n)
        opt.step()
        opt.zero_grad(set_to_none=True)
    peft_model.eval()
    examples = max(1, len(losses))
    info = {"dp": True, "epsilon": spent_epsilon(sigma, delta, q, steps, accountant) if sigma > 0 else math.inf,
            "delta": delta, "noise_multiplier": sigma, "sample_rate": q, "steps": steps, "epochs": epochs,
            "expected_batch": batch_size, "max_grad_norm": max_grad_norm, "lr": lr, "lora_rank": rank,
            "target_modules": targets, "accountant": accountant, "clipped_fraction": clipped / examples,
            "first_loss": float(np.mean(losses[:batch_size])) if losses else None,
            "last_loss": float(np.mean(losses[-batch_size:])) if losses else None,
            "seconds": round(time.perf_counter() - start, 1)}
    return peft_model, info


def perplexity(model: Any, tokenizer: Any, texts: Sequence[str]) -> float:
    """exp(mean NLL per token) over all of `texts` (utility on held-out text)."""
    total, count = sequence_nll(model, tokenizer, texts)
    return float(math.exp(total.sum() / max(1, count.sum())))


def privacy_and_utility(tuned: Any, tokenizer: Any, members: Sequence[str], held_out: Sequence[str],
                        canaries: Sequence[str] = (), n_candidates: int = 1000, seed: int = 0) -> dict:
    """Held-out perplexity, canary exposure and membership inference (loss; LiRA against the base model,
    i.e. the adapter disabled) of a LoRA-tuned model."""
    from ..privacy import mia
    from ..privacy.lm import scorer
    from ..privacy.memorization import canary_exposure

    target, base = scorer(tuned, tokenizer), scorer(tuned, tokenizer, adapter=False)
    t_mem, t_non, b_mem, b_non = target(members), target(held_out), base(members), base(held_out)
    with tuned.disable_adapter():
        base_ppl = perplexity(tuned, tokenizer, held_out)
    return {
        "held_out_perplexity": perplexity(tuned, tokenizer, held_out),
        "base_held_out_perplexity": base_ppl,
        "exposure": canary_exposure(tuned, tokenizer, canaries, n_candidates, seed) if canaries else [],
        "mia": {"loss": mia.metrics(mia.loss_attack(t_mem), mia.loss_attack(t_non)),
                "lira_offline": mia.metrics(mia.lira_offline(t_mem, b_mem), mia.lira_offline(t_non, b_non))},
    }
