"""A synthetic credit-style table with a known, injected disparity, for checking the fairness audit.

Rows have a group (A: 60 %, B: 40 %), a sex (F/M, independent), two features, a true label drawn from a
calibrated logistic model and a `score` equal to that true probability (so the score is calibrated in every
group). The decision `y_pred` approves when score >= 0.5 for group A but score >= 0.5 + `threshold_shift` for
group B: that raised bar is the injected disparity. `base_rate_gap` shifts group B's log-odds so base rates
differ, as in most real data. `population_gaps` gives the true (large-sample) gaps the audit must recover.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .fairness import METRICS


def make_synthetic(
    n: int = 4000, threshold_shift: float = 0.15, base_rate_gap: float = 0.5, seed: int = 0
) -> Any:
    """The table as a pandas DataFrame (columns: y_true, y_pred, score, group, sex, x1, x2)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < 0.6, "A", "B")
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    logit = 1.5 * x1 + 1.0 * x2 - 0.2 - np.where(group == "B", base_rate_gap, 0.0)
    score = 1 / (1 + np.exp(-logit))
    y_true = (rng.random(n) < score).astype(int)
    bar = np.where(group == "B", 0.5 + threshold_shift, 0.5)
    y_pred = (score >= bar).astype(int)
    return pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": y_pred,
            "score": score.round(6),
            "group": group,
            "sex": sex,
            "x1": x1.round(6),
            "x2": x2.round(6),
        }
    )


def population_gaps(
    threshold_shift: float = 0.15, base_rate_gap: float = 0.5, n: int = 400_000
) -> dict[str, Any]:
    """Large-sample group rates and B - A gaps of every METRICS rate (the ground truth of the injection)."""
    df = make_synthetic(n, threshold_shift, base_rate_gap, seed=12345)
    y, p = df["y_true"].to_numpy().astype(bool), df["y_pred"].to_numpy().astype(bool)
    out: dict[str, Any] = {"rates": {}, "gap_b_minus_a": {}}
    for g in ("A", "B"):
        m = df["group"].to_numpy() == g
        out["rates"][g] = {
            name: float(spec.num(y[m], p[m]).sum() / spec.den(y[m], p[m]).sum())
            for name, spec in METRICS.items()
        }
    for name in METRICS:
        out["gap_b_minus_a"][name] = out["rates"]["B"][name] - out["rates"]["A"][name]
    return out
