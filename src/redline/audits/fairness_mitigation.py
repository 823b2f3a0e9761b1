"""Post-processing mitigation: fairlearn's ThresholdOptimizer, fit and tested on halves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..errors import ConfigError

MITIGATION_CONSTRAINTS = {
    "demographic_parity": "demographic_parity",
    "equalized_odds": "equalized_odds",
    "equal_opportunity": "true_positive_rate_parity",
}


class ScoreColumn(ClassifierMixin, BaseEstimator):
    """A pre-fitted 'estimator' whose probability of the positive class is the given score column."""

    def fit(self, X: Any, y: Any) -> ScoreColumn:  # noqa: N803 - sklearn naming
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        s = np.asarray(X, dtype=float)[:, 0]
        return np.column_stack([1 - s, s])

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "classes_")


def mitigate_threshold(
    df: Any,
    y: np.ndarray,
    p: np.ndarray,
    s: np.ndarray | None,
    groups: np.ndarray,
    criterion: str | None,
    features: list[str] | None,
    min_group_size: int,
    tolerance: float,
    seed: int,
    *,
    measure: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """Fit group-specific thresholds on one half of the rows and compare before/after on the other half
    (each measured with `measure`, the fairness audit)."""
    from fairlearn.postprocessing import ThresholdOptimizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    crit = criterion or "demographic_parity"
    if crit not in MITIGATION_CONSTRAINTS:
        raise ConfigError(f"mitigation supports {', '.join(MITIGATION_CONSTRAINTS)}, not {crit!r}")
    if features:
        X = df[features].to_numpy(dtype=float)  # noqa: N806
        estimator, prefit = LogisticRegression(max_iter=1000), False
    elif s is not None:
        X = s.reshape(-1, 1)  # noqa: N806
        estimator, prefit = ScoreColumn().fit(X, y), True
    else:
        raise ConfigError("--mitigate needs --features COL,... or a --score column to threshold")
    idx = np.arange(len(y))
    strata = np.char.add(groups.astype(str), y.astype(int).astype(str))
    try:
        fit_idx, test_idx = train_test_split(idx, test_size=0.5, random_state=seed, stratify=strata)
    except ValueError:
        fit_idx, test_idx = train_test_split(idx, test_size=0.5, random_state=seed)
    opt = ThresholdOptimizer(
        estimator=estimator,
        constraints=MITIGATION_CONSTRAINTS[crit],
        objective="accuracy_score",
        prefit=prefit,
        predict_method="predict_proba",
    )
    opt.fit(X[fit_idx], y[fit_idx].astype(int), sensitive_features=groups[fit_idx])
    after = np.asarray(
        opt.predict(X[test_idx], sensitive_features=groups[test_idx], random_state=seed)
    ).astype(int)
    import pandas as pd

    half = pd.DataFrame(
        {
            "y": y[test_idx].astype(int),
            "before": p[test_idx].astype(int),
            "after": after,
            "g": groups[test_idx],
        }
    )
    res = {}
    for col in ("before", "after"):
        r = measure(
            half,
            "y",
            col,
            ["g"],
            criterion=crit,
            min_group_size=min_group_size,
            tolerance=tolerance,
            seed=seed,
            _by_attribute=False,
        )
        res[col] = {
            "criteria": r["criteria"],
            "groups": r["groups"],
            "accuracy": float(np.mean(half[col].to_numpy() == half["y"].to_numpy())),
        }
    return {
        "method": "fairlearn ThresholdOptimizer",
        "constraint": MITIGATION_CONSTRAINTS[crit],
        "criterion": crit,
        "fit_rows": int(len(fit_idx)),
        "evaluated_rows": int(len(test_idx)),
        "inputs": f"features {', '.join(features)}" if features else "score column",
        **res,
    }
