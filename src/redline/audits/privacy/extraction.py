"""Training-data extraction (Carlini et al., "Extracting Training Data from Large Language Models", 2021).

Sample many generations from the model (top-k sampling, batched, left padded, seeded), score each
sample by membership metrics where lower means "more likely memorized", rank, and report which known
secrets or training documents come back verbatim (exact substring match) and at which ranks:

- `perplexity`: the target's log-perplexity (mean token NLL);
- `zlib`: log-perplexity / zlib entropy (bytes of the zlib-compressed text): low perplexity that is not
  explained by the text simply being repetitive;
- `reference`: target log-perplexity / reference model log-perplexity: text the target finds much
  easier than a model not trained on the data.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata

from ...errors import RedlineError
from .lm import encode_batch

Scorer = Callable[[Sequence[str]], np.ndarray]


def zlib_entropy(text: str) -> int:
    """Bytes of the zlib-compressed UTF-8 text (Carlini et al.'s zlib entropy)."""
    return len(zlib.compress(text.encode("utf-8")))


def metric_scores(logppl: np.ndarray, texts: Sequence[str], ref_logppl: np.ndarray | None = None) -> dict[
        str, np.ndarray]:
    """Scores per metric, lower meaning more likely memorized; unscorable (empty) samples get +inf."""
    logppl = np.asarray(logppl, dtype=np.float64)
    out = {"perplexity": logppl,
           "zlib": logppl / np.array([max(1, zlib_entropy(t)) for t in texts], dtype=np.float64)}
    if ref_logppl is not None:
        out["reference"] = logppl / np.maximum(np.asarray(ref_logppl, dtype=np.float64), 1e-9)
    return {k: np.where(np.isfinite(v), v, np.inf) for k, v in out.items()}


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks, ascending (rank 1 = lowest score = most suspicious); ties share the best rank."""
    return rankdata(np.asarray(scores, dtype=np.float64), method="min").astype(np.int64)


def reproduces(sample: str, target: str, generated: str = "", min_chars: int | None = None) -> bool:
    """True when `target` occurs verbatim in `sample`, or (documents, `min_chars` set) when the
    generated part contains a run of at least `min_chars` characters copied verbatim from `target`."""
    if target and target in sample:
        return True
    if not min_chars or len(generated) < min_chars:
        return False
    starts = [0, *(i + 1 for i, c in enumerate(generated) if c == " ")]
    return any(generated[i:i + min_chars] in target for i in starts if i + min_chars <= len(generated))


@dataclass
class Extraction:
    """Samples, their scores and ranks per metric, and the verbatim matches of each known target."""

    prompts: list[str]
    samples: list[str]
    scores: dict[str, np.ndarray]
    ranks: dict[str, np.ndarray] = field(init=False)
    matches: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ranks = {m: ranks(s) for m, s in self.scores.items()}

    def top(self, metric: str, k: int = 5) -> list[dict]:
        """The k most suspicious samples under a metric."""
        order = np.argsort(self.scores[metric], kind="stable")[:k]
        return [{"rank": int(self.ranks[metric][i]), "score": float(self.scores[metric][i]),
                 "sample": self.samples[i]} for i in order]

    def to_dict(self, top_k: int = 5) -> dict:
        return {"n_samples": len(self.samples), "metrics": list(self.scores),
                "matches": self.matches, "extracted": sum(1 for m in self.matches if m["n_samples"]),
                "top": {m: self.top(m, top_k) for m in self.scores}}


def generate_samples(model: Any, tokenizer: Any, prompts: Sequence[str], n: int, max_new_tokens: int = 32,
                     batch_size: int = 16, seed: int = 0, top_k: int = 40, temperature: float = 1.0) -> tuple[
                         list[str], list[str]]:
    """`n` sampled texts (prompt + continuation) and their generated parts; prompts are used in turn.

    Each batch is seeded with `seed + batch index`, so the same inputs give the same samples."""
    import torch

    if n < 1:
        raise RedlineError("extraction needs at least one sample")
    prompts = list(prompts) or [""]
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    texts: list[str] = []
    generated: list[str] = []
    for b, s in enumerate(range(0, n, batch_size)):
        batch_prompts = [prompts[i % len(prompts)] for i in range(s, min(n, s + batch_size))]
        enc = {k: v.to(device) for k, v in encode_batch(tokenizer, batch_prompts).items()}
        enc.pop("position_ids")  # generate derives positions from the attention mask
        torch.manual_seed(seed + b)
        with torch.no_grad():
            out = model.generate(**enc, do_sample=True, top_k=top_k, temperature=temperature,
                                 max_new_tokens=max_new_tokens, pad_token_id=pad)
        for p, row in zip(batch_prompts, out[:, enc["input_ids"].shape[1]:], strict=True):
            gen = tokenizer.decode(row, skip_special_tokens=True)
            texts.append(p + gen)
            generated.append(gen)
    return texts, generated


def extract(model: Any, tokenizer: Any, score: Scorer, prompts: Sequence[str], n_samples: int,
            secrets: Sequence[str] = (), documents: Sequence[str] = (), reference: Scorer | None = None,
            max_new_tokens: int = 32, batch_size: int = 16, seed: int = 0, min_chars: int = 40) -> Extraction:
    """Sample, score (perplexity, zlib, reference ratio), rank, and match known secrets and documents."""
    samples, generated = generate_samples(model, tokenizer, prompts, n_samples, max_new_tokens, batch_size, seed)
    return score_extraction(list(prompts), samples, generated, score(samples), secrets, documents,
                            reference(samples) if reference else None, min_chars)


def score_extraction(prompts: list[str], samples: list[str], generated: list[str], logppl: np.ndarray,
                     secrets: Sequence[str] = (), documents: Sequence[str] = (),
                     ref_logppl: np.ndarray | None = None, min_chars: int = 40) -> Extraction:
    """Rank given samples and match targets; secrets must appear in full, documents in full or by a
    verbatim run of `min_chars` characters in the generated part."""
    result = Extraction(prompts, samples, metric_scores(logppl, samples, ref_logppl))
    targets = [("secret", t, None) for t in secrets] + [("document", t, min_chars) for t in documents]
    for kind, target, mc in targets:
        hits = [i for i, (s, g) in enumerate(zip(samples, generated, strict=True))
                if reproduces(s, target, g, mc) and not any(target in p for p in prompts)]
        result.matches.append({
            "kind": kind, "target": target, "n_samples": len(hits), "samples": hits,
            "best_rank": {m: int(r[hits].min()) if hits else None for m, r in result.ranks.items()}})
    return result
