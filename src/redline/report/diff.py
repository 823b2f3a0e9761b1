"""Comparing two runs: per metric, category and attack, a two-proportion test with Holm correction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..results import AttemptRecord, load_attempts, resolve_run_id
from ..stats import holm_correction, two_proportion_test
from ..store.db import Store
from ..summary import Cell, summarize


@dataclass
class DiffRow:
    """One group's failure rate in run A and run B; a regression is a significant rise (Holm-adjusted)."""

    group: str
    metric: str
    k_a: int
    n_a: int
    k_b: int
    n_b: int
    rate_a: float | None
    rate_b: float | None
    delta: float | None
    p: float
    p_holm: float = 1.0
    change: str = "no significant change"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cells(records: list[AttemptRecord]) -> dict[str, Cell]:
    out: dict[str, Cell] = {}
    for prefix, key in (
        ("metric", lambda r: r.metric),
        ("category", lambda r: r.category),
        ("attack", lambda r: r.attack),
    ):
        for c in summarize(records, key):
            out[f"{prefix}:{c.group}"] = c
    return out


def diff_records(a: list[AttemptRecord], b: list[AttemptRecord], alpha: float = 0.05) -> list[DiffRow]:
    """Rows for every group present in both runs with scored attempts, Holm-corrected across rows."""
    ca, cb = _cells(a), _cells(b)
    rows = []
    for g in sorted(set(ca) & set(cb)):
        x, y = ca[g], cb[g]
        if not x.n or not y.n:
            continue
        rows.append(
            DiffRow(
                group=g,
                metric=x.metric if x.metric == y.metric else "mixed",
                k_a=x.successes,
                n_a=x.n,
                k_b=y.successes,
                n_b=y.n,
                rate_a=x.asr,
                rate_b=y.asr,
                delta=(y.asr or 0) - (x.asr or 0),
                p=two_proportion_test(x.successes, x.n, y.successes, y.n),
            )
        )
    for row, adj in zip(rows, holm_correction([r.p for r in rows]), strict=True):
        row.p_holm = adj
        if adj < alpha and row.delta:
            row.change = "regression" if row.delta > 0 else "improvement"
    return rows


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def latency_summary(records: list[AttemptRecord]) -> dict[str, Any]:
    """Seconds per answered request (p50, p95) and, for a guarded run (`guard:` target), the guard's own
    seconds and their ratio to the upstream's on the requests that reached the upstream."""
    ok = [r for r in records if r.state == "ok"]
    seconds = [r.latency_s for r in ok]
    out: dict[str, Any] = {"requests": len(seconds), "p50_s": _pct(seconds, 0.5), "p95_s": _pct(seconds, 0.95)}
    stamps = [g for r in ok if (g := (r.params.get("extra") or {}).get("guard"))]
    if stamps:
        passed = [g for g in stamps if g["upstream_s"] > 0]
        guard = [g["guard_s"] for g in stamps]
        ratio = [g["guard_s"] / g["upstream_s"] for g in passed]
        out["guard"] = {
            "p50_s": _pct(guard, 0.5), "p95_s": _pct(guard, 0.95), "blocked_before_upstream": len(stamps) - len(passed),
            "over_upstream_p50": _pct(ratio, 0.5), "over_upstream_p95": _pct(ratio, 0.95),
        }
    return out


def diff_runs(
    store: Store,
    run_a: str,
    run_b: str,
    alpha: float = 0.05,
    judge: str | None = None,
    judge_b: str | None = None,
) -> dict[str, Any]:
    """Compare run B (e.g. the new model) with run A (the baseline), read with `judge`'s verdicts (default:
    each run's own judge) and B with `judge_b` if given: the same run under two judges compares the judges."""
    a_id, b_id = resolve_run_id(store, run_a), resolve_run_id(store, run_b)
    judge_b = judge_b or judge
    records_a, records_b = load_attempts(store, a_id, judge), load_attempts(store, b_id, judge_b)
    rows = diff_records(records_a, records_b, alpha)
    paired = a_id == b_id
    return {
        "run_a": a_id,
        "run_b": b_id,
        "judge_a": judge,
        "judge_b": judge_b,
        "alpha": alpha,
        "test": "Fisher exact, Holm-corrected"
        + ("; the same attempts read twice are paired, so p is only indicative" if paired else ""),
        "rows": [r.to_dict() for r in rows],
        "regressions": [r.group for r in rows if r.change == "regression"],
        "improvements": [r.group for r in rows if r.change == "improvement"],
        "latency": {"a": latency_summary(records_a), "b": latency_summary(records_b)},
    }
