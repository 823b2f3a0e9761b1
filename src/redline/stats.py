"""Confidence intervals and tests used everywhere (Wilson, Clopper-Pearson, bootstrap, permutation)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np


def _z(confidence: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when n == 0."""
    if n <= 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes <= 0 else max(0.0, centre - half)  # exact endpoints, free of rounding residue
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def clopper_pearson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) binomial interval; conservative, never below nominal coverage."""
    if n <= 0:
        return 0.0, 1.0
    from scipy import stats as _st

    alpha = 1 - confidence
    low = 0.0 if successes == 0 else float(_st.beta.ppf(alpha / 2, successes, n - successes + 1))
    high = 1.0 if successes == n else float(_st.beta.ppf(1 - alpha / 2, successes + 1, n - successes))
    return low, high


def proportion_interval(
    successes: float, n: float, method: str = "wilson", confidence: float = 0.95
) -> tuple[float, float]:
    """Dispatch to the named binomial interval (`wilson` or `clopper-pearson`)."""
    if method == "wilson":
        return wilson_interval(successes, n, confidence)
    if method in ("clopper-pearson", "exact"):
        return clopper_pearson_interval(successes, n, confidence)
    raise ValueError(f"unknown interval method {method!r}")


def clustered_effective_counts(
    successes: Sequence[int], sizes: Sequence[int]
) -> tuple[float, float, float]:
    """Effective (successes, n, design effect) for binary outcomes grouped in clusters (Kish 1965).

    Attempts of one behavior (attacks, samples) are correlated, so n attempts carry less evidence than n
    independent ones. The design effect is the cluster-robust (sandwich) variance of the
    pooled proportion over its binomial variance, clipped to [1, n / clusters]; the interval is then taken on
    n / deff attempts. With 0% or 100% observed the correlation cannot be estimated and the bound is taken
    on the number of clusters (the conservative end).
    """
    n, k, c = sum(sizes), sum(successes), len(sizes)
    if n == 0 or c == n:
        return float(k), float(n), 1.0
    p = k / n
    worst = n / c
    if c < 2 or k in (0, n):
        deff = worst
    else:
        robust = c / (c - 1) * sum((y - p * m) ** 2 for y, m in zip(successes, sizes, strict=True)) / n**2
        deff = min(worst, max(1.0, robust / (p * (1 - p) / n)))
    n_eff = n / deff
    return p * n_eff, n_eff, deff


def attempts_to_certify(
    limit: float, confidence: float = 0.95, method: str = "clopper-pearson", failures: int = 0
) -> int:
    """Smallest n such that `failures` failures in n put the upper bound below `limit` (0: rule of three ~ 3/n)."""
    if not 0 < limit < 1:
        raise ValueError("limit must be in (0, 1)")
    if failures < 0:
        raise ValueError("failures must be >= 0")
    if method != "wilson" and failures == 0:
        # one-sided exact bound at alpha/2 as in the two-sided Clopper-Pearson interval: 1-(alpha/2)^(1/n) < limit
        alpha = 1 - confidence
        return math.ceil(math.log(alpha / 2) / math.log(1 - limit))

    def certifies(n: int) -> bool:
        return proportion_interval(failures, n, method, confidence)[1] < limit

    n = failures + 1
    while not certifies(n):
        n *= 2
    lo, hi = max(failures + 1, n // 2), n
    while lo < hi:
        mid = (lo + hi) // 2
        if certifies(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def bootstrap_interval(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], float] = np.mean,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic` over `values`."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, data.size, size=(n_resamples, data.size))
    stats = np.array([statistic(data[row]) for row in idx])
    alpha = 1 - confidence
    return float(np.quantile(stats, alpha / 2)), float(np.quantile(stats, 1 - alpha / 2))


def permutation_test_paired(
    differences: Sequence[float] | np.ndarray, n_permutations: int = 10000, seed: int = 0
) -> float:
    """Two-sided sign-flip permutation p-value for paired differences having mean zero."""
    d = np.asarray(differences, dtype=float)
    if d.size == 0 or np.allclose(d, 0):
        return 1.0
    rng = np.random.default_rng(seed)
    observed = abs(d.mean())
    signs = rng.choice([-1.0, 1.0], size=(n_permutations, d.size))
    null = np.abs((signs * d).mean(axis=1))
    return float((1 + np.sum(null >= observed - 1e-12)) / (n_permutations + 1))


def permutation_test_two_sample(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, n_permutations: int = 10000, seed: int = 0
) -> float:
    """Two-sided permutation p-value for a difference in means between two independent samples."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        return 1.0
    pooled = np.concatenate([x, y])
    observed = abs(x.mean() - y.mean())
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(n_permutations):
        perm = rng.permutation(pooled)
        if abs(perm[: x.size].mean() - perm[x.size :].mean()) >= observed - 1e-12:
            count += 1
    return float((1 + count) / (n_permutations + 1))


def two_proportion_test(s1: int, n1: int, s2: int, n2: int) -> float:
    """Two-sided p-value that two binomial proportions differ (Fisher's exact test)."""
    if n1 == 0 or n2 == 0:
        return 1.0
    from scipy import stats as _st

    return float(_st.fisher_exact([[s1, n1 - s1], [s2, n2 - s2]])[1])


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (first failed only, second failed only)."""
    n = only_first + only_second
    if n == 0:
        return 1.0
    from scipy import stats as _st

    return float(min(1.0, 2 * _st.binom.cdf(min(only_first, only_second), n, 0.5)))


def holm_correction(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def cohens_kappa(a: Sequence[int], b: Sequence[int]) -> float:
    """Cohen's kappa between two label sequences."""
    if len(a) != len(b) or not a:
        raise ValueError("kappa needs two non-empty sequences of equal length")
    labels = sorted(set(a) | set(b))
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    expected = sum((list(a).count(k) / n) * (list(b).count(k) / n) for k in labels)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa over items each rated by two or more raters (labels per item; the number of raters may
    vary per item: the per-item agreement is averaged); None when no item has two ratings or chance agreement
    is total."""
    items = [list(r) for r in ratings if len(r) >= 2]
    if not items:
        return None
    labels = sorted({x for r in items for x in r})
    per_item = []
    totals = dict.fromkeys(labels, 0)
    for r in items:
        counts = [r.count(k) for k in labels]
        n = len(r)
        per_item.append((sum(c * c for c in counts) - n) / (n * (n - 1)))
        for k, c in zip(labels, counts, strict=True):
            totals[k] += c
    observed = sum(per_item) / len(per_item)
    all_ratings = sum(totals.values())
    expected = sum((c / all_ratings) ** 2 for c in totals.values())
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def fleiss_kappa_interval(
    ratings: Sequence[Sequence[str]], confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of Fleiss' kappa, resampling items."""
    items = [list(r) for r in ratings if len(r) >= 2]
    if len(items) < 2:
        return None
    rng = np.random.default_rng(seed)
    values = [k for _ in range(n_resamples)
              if (k := fleiss_kappa([items[i] for i in rng.integers(0, len(items), len(items))])) is not None]
    if not values:
        return None
    alpha = 1 - confidence
    return float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2))
