"""Canary exposure (Carlini et al., "The Secret Sharer", 2019).

A canary is a format with a secret drawn from a space R (e.g. "my PIN is ####", |R| = 10^4).
exposure = log2|R| - log2 rank, where rank (1 = most likely) orders the inserted secret's
log-perplexity among all candidates. Small R is enumerated exactly; for large R the candidate
log-perplexities are sampled and a normal or skew-normal fit extrapolates the rank:
exposure ~= -log2 P(X <= logppl(secret)).
"""

from __future__ import annotations

import math
import random

import numpy as np
from scipy import stats as sps

from ...errors import RedlineError


def candidates(fmt: str, digits: int | None = None) -> list[str]:
    """All strings obtained by filling each '#' in `fmt` with a digit (10^k of them)."""
    k = fmt.count("#") if digits is None else digits
    if k == 0:
        raise RedlineError(f"canary format {fmt!r} has no '#' digit slots")
    if k > 6:
        raise RedlineError(f"{10**k} candidates are too many to enumerate; use extrapolated exposure")
    out = []
    for i in range(10**k):
        s, it = str(i).zfill(k), 0
        chars = []
        for c in fmt:
            if c == "#":
                chars.append(s[it])
                it += 1
            else:
                chars.append(c)
        out.append("".join(chars))
    return out


def make_canaries(fmt: str, n: int, seed: int = 0) -> list[str]:
    """`n` random distinct canaries of the format."""
    k = fmt.count("#")
    if k == 0 or n > 10**k:
        raise RedlineError(f"cannot draw {n} distinct canaries from format {fmt!r}")
    rng = random.Random(seed)
    picks = rng.sample(range(10**k), n)
    out = []
    for p in picks:
        digits = iter(str(p).zfill(k))
        out.append("".join(next(digits) if c == "#" else c for c in fmt))
    return out


def rank_of(secret_score: float, candidate_scores: np.ndarray) -> int:
    """1-based rank of the secret among candidates by log-perplexity (ties count against the secret)."""
    return int(np.sum(np.asarray(candidate_scores) <= secret_score))


def exposure(secret_score: float, candidate_scores: np.ndarray) -> float:
    """Exact exposure, log2|R| - log2 rank, when `candidate_scores` covers all of R (secret included)."""
    n = len(candidate_scores)
    return math.log2(n) - math.log2(max(1, rank_of(secret_score, candidate_scores)))


def extrapolated_exposure(secret_score: float, sample_scores: np.ndarray, dist: str = "skewnorm") -> float:
    """Exposure from a distribution fitted to sampled candidate log-perplexities: -log2 CDF(secret)."""
    sample = np.asarray(sample_scores, dtype=np.float64)
    if len(sample) < 20:
        raise RedlineError("need at least 20 sampled candidates to fit a distribution")
    if dist == "skewnorm":
        params = sps.skewnorm.fit(sample)
        logcdf = sps.skewnorm.logcdf(secret_score, *params)
    elif dist == "normal":
        logcdf = sps.norm.logcdf(secret_score, sample.mean(), sample.std(ddof=1))
    else:
        raise RedlineError(f"unknown distribution {dist!r} (normal, skewnorm)")
    return float(-logcdf / math.log(2))
