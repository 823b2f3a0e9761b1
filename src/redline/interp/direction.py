"""The refusal direction (Arditi et al. 2024): difference of means, chosen by its measured effect.

For every layer and post-instruction position: mean activation on harmful minus mean on harmless
instructions. Each candidate outside the last `skip` fraction of layers is scored on held-out prompts:
- `ablate_score`: refusal score on harmful prompts with the direction ablated (lower = refusal
  depends on it);
- `steer_score`: refusal score on harmless prompts with the direction added at its layer (higher =
  it induces refusal);
- `kl`: KL divergence of the next-token distribution on harmless prompts under ablation (small =
  ablation leaves other behavior alone).
The chosen candidate has the lowest ablate_score among those with steer_score above the harmless
baseline and kl below `max_kl`; without such a candidate, the lowest ablate_score with the smallest kl.
The refusal score is log P(refusal start) - log P(other) for the first response token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .activations import batch_tensors, encode, n_positions
from .hooks import Hook, add_hooks
from .interventions import Direction, ablation_hooks, addition_hooks

REFUSAL_STARTS = ["I", "I'm", "Sorry", "As", "Unfortunately", "I cannot", "I can't", "No", "It is not"]


def refusal_token_ids(tokenizer: Any) -> list[int]:
    """First tokens of common refusal openings (with and without a leading space)."""
    ids: set[int] = set()
    for text in REFUSAL_STARTS:
        for variant in (text, " " + text):
            toks = tokenizer(variant, add_special_tokens=False)["input_ids"]
            if toks:
                ids.add(toks[0])
    return sorted(ids)


def mean_difference(harmful: Any, harmless: Any) -> Any:
    """[layers, positions, hidden] mean(harmful) - mean(harmless) of activations [n, L, P, d]."""
    return harmful.mean(dim=0) - harmless.mean(dim=0)


def next_token_logprobs(
    model: Any, tokenizer: Any, prompts: list[str], hooks: list[Hook] = (), batch_size: int = 32
) -> Any:
    """Log-probabilities of the first response token, [prompts, vocab], with hooks applied."""
    import torch

    encoded = [encode(tokenizer, p) for p in prompts]
    rows = []
    with add_hooks(module_forward_hooks=hooks), torch.inference_mode():
        for start in range(0, len(encoded), batch_size):
            batch = batch_tensors(tokenizer, encoded[start : start + batch_size], model.device)
            logits = model(**batch, use_cache=False, logits_to_keep=1).logits[:, -1, :].float()
            rows.append(torch.log_softmax(logits, dim=-1).cpu())
    return torch.cat(rows)


def refusal_scores(logprobs: Any, token_ids: list[int]) -> np.ndarray:
    """Per prompt: log P(refusal token) - log P(any other token)."""
    import torch

    lp = torch.logsumexp(logprobs[:, token_ids], dim=-1)
    other = torch.log1p(-lp.exp().clamp(max=1 - 1e-6))
    return (lp - other).numpy()


def kl_divergence(base: Any, new: Any) -> float:
    """Mean KL(base || new) over prompts, from log-probabilities."""
    return float((base.exp() * (base - new)).sum(-1).mean())


@dataclass
class Candidate:
    layer: int
    position: int  # offset from the end of the prompt: -1 is the last token
    ablate_score: float
    steer_score: float
    kl: float
    norm: float
    passes: bool = False


def score_candidates(
    model: Any,
    tokenizer: Any,
    diffs: Any,
    harmful_val: list[str],
    harmless_val: list[str],
    skip: float = 0.2,
    positions: str = "last",
    max_kl: float = 0.1,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Candidate], dict]:
    """Score each (layer, position) candidate direction by its effect on held-out prompts."""
    token_ids = refusal_token_ids(tokenizer)
    base_harm = next_token_logprobs(model, tokenizer, harmful_val)
    base_harmless = next_token_logprobs(model, tokenizer, harmless_val)
    baseline = {
        "harmful_score": float(refusal_scores(base_harm, token_ids).mean()),
        "harmless_score": float(refusal_scores(base_harmless, token_ids).mean()),
    }
    n_layers, n_pos = diffs.shape[0], diffs.shape[1]
    max_layer = max(1, int(n_layers * (1 - skip)))
    pos_list = list(range(n_pos)) if positions == "all" else [n_pos - 1]
    jobs = [(layer, p) for layer in range(max_layer) for p in pos_list]
    out = []
    for i, (layer, p) in enumerate(jobs):
        vec = diffs[layer, p].double().numpy()
        d = Direction(vec, layer)
        ablated = next_token_logprobs(model, tokenizer, harmful_val + harmless_val, ablation_hooks(model, d))
        ablated_harm, ablated_harmless = ablated[: len(harmful_val)], ablated[len(harmful_val) :]
        steered = next_token_logprobs(model, tokenizer, harmless_val, addition_hooks(model, d, 1.0))
        cand = Candidate(
            layer=layer,
            position=p - n_pos,
            ablate_score=float(refusal_scores(ablated_harm, token_ids).mean()),
            steer_score=float(refusal_scores(steered, token_ids).mean()),
            kl=kl_divergence(base_harmless, ablated_harmless),
            norm=float(np.linalg.norm(vec)),
        )
        cand.passes = cand.steer_score > baseline["harmless_score"] and cand.kl < max_kl
        out.append(cand)
        if progress:
            progress(i + 1, len(jobs))
    return out, baseline


def choose(candidates: list[Candidate]) -> tuple[Candidate, bool]:
    """(chosen candidate, whether it passed the filters)."""
    passing = [c for c in candidates if c.passes]
    if passing:
        return min(passing, key=lambda c: c.ablate_score), True
    return min(candidates, key=lambda c: c.ablate_score + c.kl), False


def select_direction(
    model: Any,
    tokenizer: Any,
    harmful_acts: Any,
    harmless_acts: Any,
    harmful_val: list[str],
    harmless_val: list[str],
    position: str = "post",
    model_id: str = "",
    **kwargs: Any,
) -> tuple[Direction, list[Candidate], dict]:
    """Difference-of-means candidates scored by effect; returns the chosen direction and the table."""
    diffs = mean_difference(harmful_acts, harmless_acts)
    if diffs.shape[1] != n_positions(tokenizer, position):
        raise ValueError("activations were collected at a different position setting")
    candidates, baseline = score_candidates(model, tokenizer, diffs, harmful_val, harmless_val, **kwargs)
    best, passed = choose(candidates)
    vec = diffs[best.layer, diffs.shape[1] + best.position].double().numpy()
    scores = {**asdict(best), **baseline, "passed_filters": passed, "n_train": int(harmful_acts.shape[0])}
    return Direction(vec, best.layer, f"{best.position}", "refusal", model_id, scores), candidates, baseline
