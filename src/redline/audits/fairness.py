"""Classifier fairness audit (`redline audit fairness`) on a table of labels, predictions and groups.

Metrics are declared once in `METRICS` as (numerator, denominator) predicates over (y_true, y_pred) and a
fairlearn callable; by-group values come from fairlearn's `MetricFrame`, differences (max - min) and ratios
(min / max) are derived for every criterion in `CRITERIA`, and bootstrap intervals recompute the same table
on resampled rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

Pred = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class MetricSpec:
    """A rate: share of rows meeting `num` among rows meeting `den`; `fairlearn` names the same metric."""

    num: Pred
    den: Pred
    fairlearn: str


METRICS: dict[str, MetricSpec] = {
    "selection_rate": MetricSpec(lambda y, p: p, lambda y, p: np.ones_like(p), "selection_rate"),
    "tpr": MetricSpec(lambda y, p: p & y, lambda y, p: y, "true_positive_rate"),
    "fpr": MetricSpec(lambda y, p: p & ~y, lambda y, p: ~y, "false_positive_rate"),
    "precision": MetricSpec(lambda y, p: p & y, lambda y, p: p, "precision"),
    "base_rate": MetricSpec(lambda y, p: y, lambda y, p: np.ones_like(y), "base_rate"),
    "accuracy": MetricSpec(lambda y, p: p == y, lambda y, p: np.ones_like(p), "accuracy"),
}
# criterion -> the metrics that must be equal across groups (calibration is handled through scores)
CRITERIA: dict[str, list[str]] = {
    "demographic_parity": ["selection_rate"],
    "equal_opportunity": ["tpr"],
    "equalized_odds": ["tpr", "fpr"],
    "predictive_parity": ["precision"],
    "calibration": [],
}
IMPOSSIBILITY = (
    "Base rates differ between groups, so for any classifier that is not perfect, demographic parity, "
    "equalized odds and predictive parity cannot all hold (Chouldechova 2017; Kleinberg, Mullainathan & "
    "Raghavan 2016): equal error rates force unequal precision, equal precision forces unequal error rates, "
    "and equal selection rates force unequal error rates. Name the criterion the use case needs with "
    "--criterion."
)


def _fairlearn_callable(name: str) -> Callable:
    from fairlearn import metrics as fm
    from sklearn.metrics import accuracy_score, precision_score

    table: dict[str, Callable] = {
        "selection_rate": fm.selection_rate,
        "true_positive_rate": fm.true_positive_rate,
        "false_positive_rate": fm.false_positive_rate,
        "precision": lambda y, p: precision_score(y, p, zero_division=0),
        "base_rate": lambda y, p: float(np.mean(y)),
        "accuracy": accuracy_score,
    }
    return table[name]


def rates_by_group(y: np.ndarray, p: np.ndarray, codes: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Every METRICS rate per group code, computed with bincount (the bootstrap's fast path)."""
    out = {}
    for name, spec in METRICS.items():
        num = np.bincount(codes, weights=spec.num(y, p).astype(float), minlength=k)
        den = np.bincount(codes, weights=spec.den(y, p).astype(float), minlength=k)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return out


def ece_by_group(y: np.ndarray, s: np.ndarray, codes: np.ndarray, k: int, bins: int = 10) -> np.ndarray:
    """Expected calibration error per group (equal-width score bins)."""
    b = np.clip((s * bins).astype(int), 0, bins - 1)
    cell = codes * bins + b
    n = np.bincount(cell, minlength=k * bins).reshape(k, bins)
    sy = np.bincount(cell, weights=y.astype(float), minlength=k * bins).reshape(k, bins)
    ss = np.bincount(cell, weights=s, minlength=k * bins).reshape(k, bins)
    tot = n.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.abs(ss - sy) / np.where(tot > 0, tot, 1)
    return np.where(tot[:, 0] > 0, gap.sum(axis=1), np.nan)


def criterion_values(
    rates: dict[str, np.ndarray], ece: np.ndarray | None, keep: np.ndarray
) -> dict[str, tuple]:
    """(difference, ratio) per criterion over the kept (large enough) groups."""
    out: dict[str, tuple] = {}
    for crit, names in CRITERIA.items():
        if crit == "calibration":
            if ece is not None:
                worst = float(np.nanmax(ece[keep])) if keep.any() else float("nan")
                out[crit] = (worst, None)
            continue
        diffs, ratios = [], []
        for name in names:
            v = rates[name][keep]
            v = v[~np.isnan(v)]
            if v.size < 2:
                diffs.append(float("nan"))
                ratios.append(float("nan"))
                continue
            diffs.append(float(v.max() - v.min()))
            ratios.append(float(v.min() / v.max()) if v.max() > 0 else 1.0)
        out[crit] = (max(diffs), min(ratios))
    return out


def _load_table(data: str | Path | Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    path = Path(str(data))
    if not path.exists():
        raise ConfigError(f"data file {path} does not exist")
    readers = {
        ".csv": pd.read_csv,
        ".tsv": lambda f: pd.read_csv(f, sep="\t"),
        ".parquet": pd.read_parquet,
        ".jsonl": lambda f: pd.read_json(f, lines=True),
        ".json": pd.read_json,
    }
    if path.suffix.lower() not in readers:
        raise ConfigError(
            f"unsupported data format {path.suffix!r}; use .csv, .tsv, .parquet, .jsonl or .json"
        )
    try:
        return readers[path.suffix.lower()](path)
    except Exception as exc:  # noqa: BLE001 - a malformed file is a user error
        raise ConfigError(f"cannot read {path}: {exc}"[:300]) from None


def _binary(series: Any, col: str) -> np.ndarray:
    values = series.dropna().unique()
    if series.isna().any():
        raise ConfigError(f"column {col!r} has missing values")
    as_str = {str(v).strip().lower() for v in values}
    if as_str <= {"0", "1", "0.0", "1.0", "true", "false"}:
        return series.astype(str).str.strip().str.lower().isin(["1", "1.0", "true"]).to_numpy()
    raise ConfigError(
        f"column {col!r} must be binary (0/1 or true/false), found values like {sorted(as_str)[:4]}"
    )


def _interval(samples: np.ndarray) -> list[float] | None:
    s = samples[np.isfinite(samples)]
    return [float(np.quantile(s, 0.025)), float(np.quantile(s, 0.975))] if s.size else None


def _status(interval: list[float] | None, tolerance: float) -> str:
    if interval is None:
        return "not measurable"
    if interval[1] <= tolerance:
        return "holds"
    if interval[0] > tolerance:
        return "violated"
    return "inconclusive"


def audit_fairness(
    data: Any,
    y_true: str,
    y_pred: str,
    sensitive: list[str],
    score: str | None = None,
    criterion: str | None = None,
    min_group_size: int = 30,
    tolerance: float = 0.05,
    n_boot: int = 500,
    seed: int = 0,
    mitigate: bool = False,
    features: list[str] | None = None,
    _by_attribute: bool = True,
) -> dict[str, Any]:
    """Fairness metrics by group (intersectional when several sensitive columns), criteria, trade-offs."""
    from fairlearn.metrics import MetricFrame
    from scipy import stats as _st

    df = _load_table(data)
    if criterion is not None and criterion not in CRITERIA:
        raise ConfigError(f"unknown criterion {criterion!r}; choose from {', '.join(CRITERIA)}")
    if criterion == "calibration" and not score:
        raise ConfigError("the calibration criterion needs --score")
    missing = [
        c
        for c in [y_true, y_pred, *sensitive, *([score] if score else []), *(features or [])]
        if c not in df.columns
    ]
    if missing:
        raise ConfigError(
            f"column(s) not in the data: {', '.join(missing)}; columns are {', '.join(map(str, df.columns))}"
        )
    if not sensitive:
        raise ConfigError("name at least one sensitive column")
    y, p = _binary(df[y_true], y_true), _binary(df[y_pred], y_pred)
    s = None
    if score:
        s = df[score].to_numpy(dtype=float)
        if np.isnan(s).any() or s.min() < 0 or s.max() > 1:
            raise ConfigError(f"score column {score!r} must hold probabilities in [0, 1] without gaps")
    group_labels = df[sensitive].astype(str).agg("|".join, axis=1)
    codes, names = group_labels.factorize(sort=True)
    k = len(names)
    mf = MetricFrame(
        metrics={n: _fairlearn_callable(m.fairlearn) for n, m in METRICS.items()},
        y_true=y,
        y_pred=p,
        sensitive_features=group_labels.to_numpy(),
    )
    sizes = np.bincount(codes, minlength=k)
    keep = sizes >= min_group_size
    rates = {n: mf.by_group[n].reindex(list(names)).to_numpy(dtype=float) for n in METRICS}
    ece = ece_by_group(y, s, codes, k) if s is not None else None
    point = criterion_values(rates, ece, keep)
    rng = np.random.default_rng(seed)
    boot: dict[str, list[tuple]] = {c: [] for c in point}
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        r = rates_by_group(y[idx], p[idx], codes[idx], k)
        e = ece_by_group(y[idx], s[idx], codes[idx], k) if s is not None else None
        for c, v in criterion_values(r, e, keep).items():
            boot[c].append(v)
    criteria = {}
    for c, (diff, ratio) in point.items():
        arr = np.array([[np.nan if x is None else x for x in v] for v in boot[c]], dtype=float)
        d_iv, r_iv = _interval(arr[:, 0]), _interval(arr[:, 1])
        criteria[c] = {
            "metrics": CRITERIA[c] or ["ece"],
            "difference": diff,
            "difference_interval": d_iv,
            "ratio": ratio,
            "ratio_interval": r_iv,
            "status": _status(d_iv, tolerance),
        }
    groups = []
    for i, name in enumerate(names):
        row = {
            "group": name,
            "n": int(sizes[i]),
            "small": bool(not keep[i]),
            **{m: (None if np.isnan(rates[m][i]) else float(rates[m][i])) for m in METRICS},
        }
        if s is not None:
            sel = codes == i
            row["ece"] = float(ece[i]) if ece is not None else None
            row["mean_score_minus_base_rate"] = float(s[sel].mean() - y[sel].mean())
        groups.append(row)
    warnings = [
        f"group {g['group']!r} has {g['n']} rows (< {min_group_size}): reported but left out of "
        "differences and ratios"
        for g in groups
        if g["small"]
    ]
    table = np.array([[np.sum(y[codes == i]), np.sum(~y[codes == i])] for i in range(k) if keep[i]])
    base_p = (
        float(_st.chi2_contingency(table)[1]) if len(table) > 1 and (table.sum(axis=0) > 0).all() else 1.0
    )
    differ = base_p < 0.05
    result: dict[str, Any] = {
        "rows": int(len(y)),
        "sensitive": sensitive,
        "groups": groups,
        "criteria": criteria,
        "base_rates": {g["group"]: g["base_rate"] for g in groups},
        "base_rate_p": base_p,
        "base_rates_differ": differ,
        "impossibility": IMPOSSIBILITY if differ else None,
        "criterion": criterion,
        "tolerance": tolerance,
        "warnings": warnings,
    }
    result["verdict"] = _verdict(result)
    if _by_attribute and len(sensitive) > 1:
        result["by_attribute"] = {
            col: audit_fairness(
                df,
                y_true,
                y_pred,
                [col],
                score,
                None,
                min_group_size,
                tolerance,
                n_boot,
                seed,
                _by_attribute=False,
            )["criteria"]
            for col in sensitive
        }
    if mitigate:
        from .fairness_mitigation import mitigate_threshold

        result["mitigation"] = mitigate_threshold(
            df, y, p, s, group_labels.to_numpy(), criterion, features, min_group_size, tolerance, seed,
            measure=audit_fairness,
        )
    return result


def _verdict(result: dict[str, Any]) -> str:
    """A plain-language statement of which criteria hold and what the chosen one says."""
    held = [c for c, v in result["criteria"].items() if v["status"] == "holds"]
    broken = [c for c, v in result["criteria"].items() if v["status"] == "violated"]
    parts = [
        f"holds: {', '.join(held) or 'none'}; violated: {', '.join(broken) or 'none'} "
        f"(difference 95% interval vs tolerance {result['tolerance']})."
    ]
    if result["impossibility"]:
        parts.append(
            f"Base rates differ (chi-square p={result['base_rate_p']:.3g}), so these criteria trade off."
        )
    c = result["criterion"]
    if c:
        parts.append(f"Chosen criterion {c}: {result['criteria'][c]['status']}.")
    return " ".join(parts)


def save_fairness(store: Any, result: dict[str, Any], label: str, config: dict[str, Any], seed: int = 0) -> str:
    """Store a fairness audit result (asked with `config`) as a run of kind `audit-fairness`, which the gate
    reads; returns the run id, also set in `result`."""
    from ..store.recorder import RunRecorder

    recorder = RunRecorder.start(store, "audit-fairness", label, config, seed=seed)
    recorder.save_result("fairness", "result", result)
    recorder.finish()
    result["run_id"] = recorder.run_id
    return recorder.run_id

