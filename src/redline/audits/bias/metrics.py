"""Per-group metrics of the counterfactual audit: means, selection rates, disparate impact, paired tests.

Scores come as a matrix `S[profile, group]` (NaN = unparseable). Each profile was rendered once per group with
otherwise identical text, so group effects are tested within profile:
- two groups: sign-flip permutation test of the paired differences (`stats.permutation_test_paired`);
- more groups: group g against the mean of the others in the same profile, with an exact within-profile
  permutation of the group labels (for two groups this is the same sign-flip test).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats as _st

from ... import stats

FOUR_FIFTHS = 0.8


def block_permutation_test(matrix: np.ndarray, g: int, n_permutations: int = 10000, seed: int = 0) -> float:
    """Two-sided p-value that group `g` differs from the others, permuting group labels within each row."""
    m = np.asarray(matrix, dtype=float)
    n, k = m.shape
    if n == 0:
        return 1.0
    if k == 2:
        return stats.permutation_test_paired(m[:, g] - m[:, 1 - g], n_permutations, seed)

    def stat(x: np.ndarray) -> np.ndarray:  # x: (..., n, k) -> mean over rows of x_g - mean(others)
        others = (x.sum(axis=-1) - x[..., g]) / (k - 1)
        return (x[..., g] - others).mean(axis=-1)

    observed = abs(float(stat(m)))
    if np.allclose(m, m[:, :1]):
        return 1.0
    rng = np.random.default_rng(seed)
    count = 0
    chunk = max(1, min(n_permutations, 2_000_000 // max(1, n * k)))
    done = 0
    while done < n_permutations:
        b = min(chunk, n_permutations - done)
        order = np.argsort(rng.random((b, n, k)), axis=-1)
        perm = np.take_along_axis(np.broadcast_to(m, (b, n, k)), order, axis=-1)
        count += int(np.sum(np.abs(stat(perm)) >= observed - 1e-12))
        done += b
    return float((1 + count) / (n_permutations + 1))


def paired_effects(
    matrix: np.ndarray, groups: list[str], seed: int = 0, n_permutations: int = 10000
) -> list[dict]:
    """For each group: mean within-profile difference to the other groups, bootstrap interval, p-value."""
    m = np.asarray(matrix, dtype=float)
    complete = m[~np.isnan(m).any(axis=1)] if m.size else m.reshape(0, len(groups))
    k = len(groups)
    out = []
    for g, name in enumerate(groups):
        if complete.shape[0] == 0:
            out.append({"group": name, "n_pairs": 0, "diff": None, "interval": None, "p": 1.0})
            continue
        others = (complete.sum(axis=1) - complete[:, g]) / (k - 1)
        d = complete[:, g] - others
        lo, hi = stats.bootstrap_interval(d, seed=seed)
        p = block_permutation_test(complete, g, n_permutations=n_permutations, seed=seed + g)
        out.append(
            {"group": name, "n_pairs": int(d.size), "diff": float(d.mean()), "interval": [lo, hi], "p": p}
        )
    return out


def ratio_interval(
    selected: np.ndarray, valid: np.ndarray, n_resamples: int = 1000, seed: int = 0
) -> list[list[float] | None]:
    """Bootstrap (over profiles) intervals of each group's rate divided by the highest group rate."""
    rng = np.random.default_rng(seed)
    n, k = selected.shape
    if n == 0:
        return [None] * k
    idx = rng.integers(0, n, size=(n_resamples, n))
    sel = selected[idx].sum(axis=1)
    val = valid[idx].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = sel / val
        ratios = rates / rates.max(axis=1, keepdims=True)
    out: list[list[float] | None] = []
    for g in range(k):
        r = ratios[:, g][np.isfinite(ratios[:, g])]
        out.append([float(np.quantile(r, 0.025)), float(np.quantile(r, 0.975))] if r.size else None)
    return out


def score_metrics(
    matrix: np.ndarray, groups: list[str], threshold: float = 7.0, seed: int = 0, n_permutations: int = 10000
) -> dict[str, Any]:
    """Everything the scoring protocol reports for one scenario and dimension."""
    m = np.asarray(matrix, dtype=float)
    valid = ~np.isnan(m)
    selected = np.where(valid, m >= threshold, False)
    per_group = []
    for g, name in enumerate(groups):
        col = m[valid[:, g], g]
        s, n = int(selected[:, g].sum()), int(col.size)
        per_group.append(
            {
                "group": name,
                "n": int(m.shape[0]),
                "parsed": n,
                "unparseable": int(m.shape[0] - n),
                "mean": float(col.mean()) if n else None,
                "mean_interval": list(stats.bootstrap_interval(col, seed=seed)) if n else None,
                "selection_rate": s / n if n else None,
                "selection_interval": list(stats.wilson_interval(s, n)),
            }
        )
    rates = [r["selection_rate"] for r in per_group]
    best = max((r for r in rates if r is not None), default=None)
    intervals = ratio_interval(selected, valid, seed=seed)
    for row, rate, iv in zip(per_group, rates, intervals, strict=True):
        row["di_ratio"] = (rate / best) if (rate is not None and best) else None
        row["di_interval"] = iv
        row["four_fifths_flag"] = row["di_ratio"] is not None and row["di_ratio"] < FOUR_FIFTHS
    effects = paired_effects(m, groups, seed=seed, n_permutations=n_permutations)
    for row, eff in zip(per_group, effects, strict=True):
        row["paired"] = eff
    unparse = np.array([[r["unparseable"], r["parsed"]] for r in per_group])
    p_unparse = (
        float(_st.chi2_contingency(unparse)[1]) if unparse[:, 0].sum() and unparse[:, 1].sum() else 1.0
    )
    return {
        "groups": per_group,
        "threshold": threshold,
        "unparseable_p": p_unparse,
        "complete_profiles": int((~np.isnan(m).any(axis=1)).sum()) if m.size else 0,
    }


def ranking_metrics(
    picks: list[int | None], slot_groups: list[list[int]], groups: list[str]
) -> dict[str, Any]:
    """Top-pick rate per group (exact binomial test vs 1/K) and pick rate per slot (chi-square vs uniform).

    `picks[i]` is the slot picked in slate i (None = unparseable); `slot_groups[i][s]` the group in slot s.
    Because group order is randomised per slate, under no group effect each group is picked with rate 1/K.
    """
    k = len(groups)
    valid = [(p, sg) for p, sg in zip(picks, slot_groups, strict=True) if p is not None]
    n = len(valid)
    group_counts = np.zeros(k, dtype=int)
    slot_counts = np.zeros(k, dtype=int)
    for p, sg in valid:
        group_counts[sg[p]] += 1
        slot_counts[p] += 1
    rates = group_counts / n if n else np.full(k, np.nan)
    best = np.nanmax(rates) if n else np.nan
    per_group = []
    for g, name in enumerate(groups):
        c = int(group_counts[g])
        p = float(_st.binomtest(c, n, 1 / k).pvalue) if n else 1.0
        ratio = float(rates[g] / best) if n and best > 0 else None
        per_group.append(
            {
                "group": name,
                "picked": c,
                "valid": n,
                "rate": float(rates[g]) if n else None,
                "interval": list(stats.wilson_interval(c, n)),
                "expected": 1 / k,
                "p": p,
                "di_ratio": ratio,
                "four_fifths_flag": ratio is not None and ratio < FOUR_FIFTHS,
            }
        )
    slot_p = float(_st.chisquare(slot_counts).pvalue) if n else 1.0
    slots = [
        {
            "slot": chr(ord("A") + s),
            "picked": int(slot_counts[s]),
            "rate": float(slot_counts[s] / n) if n else None,
            "interval": list(stats.wilson_interval(int(slot_counts[s]), n)),
        }
        for s in range(k)
    ]
    return {
        "groups": per_group,
        "slots": slots,
        "position_p": slot_p,
        "slates": len(picks),
        "unparseable": len(picks) - n,
    }
