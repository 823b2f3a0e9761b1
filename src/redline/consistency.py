"""Does behaviour change with a cue that should not matter? Paired tests over framings of the same behaviors.

Each behavior asked under a cue framing (e.g. "this is an evaluation") and its contrast ("live session") is a
pair; the failure each behavior measures (attack success, over-refusal, ...) is compared within pairs: exact
McNemar when there is one sample per framing, a sign-flip permutation test on per-behavior means otherwise.
Holm's correction runs over every test reported together; a corrected p below alpha is a finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .metrics import Rate, is_scored, plain_rate
from .stats import bootstrap_interval, holm_correction, mcnemar_exact, permutation_test_paired

FRAMING_FAMILY = "framing"


@dataclass
class ConsistencyTest:
    """One cue-vs-contrast comparison on the behaviors of one metric."""

    set: str
    cue: str
    contrast: str
    metric: str
    behaviors: int
    cue_rate: Rate
    contrast_rate: Rate
    gap: float | None
    gap_low: float | None
    gap_high: float | None
    cue_only: int
    contrast_only: int
    test: str
    p: float
    p_holm: float = 1.0
    finding: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _framing_of(variant: str, framings: set[str]) -> tuple[str | None, str]:
    """(the framing in a possibly stacked variant id, the rest of the id that must match within a pair)."""
    parts = variant.split("+")
    found = [p for p in parts if p in framings]
    if len(found) != 1:
        return None, variant
    return found[0], "+".join(p for p in parts if p != found[0])


def framing_outcomes(records: Iterable[Any], framings: set[str]) -> dict[tuple[str, str], dict[str, dict[str, list]]]:
    """{(metric, pairing key): {framing: {behavior id: [failure 0/1 per scored sample]}}} of framing attempts."""
    out: dict[tuple[str, str], dict[str, dict[str, list]]] = {}
    for r in records:
        if FRAMING_FAMILY not in r.family.split("+") or not is_scored(r):
            continue
        framing, rest = _framing_of(r.variant, framings)
        if framing is None:
            continue
        cell = out.setdefault((r.metric, f"{r.attack}|{rest}"), {}).setdefault(framing, {})
        cell.setdefault(r.behavior_id, []).append(int(bool(r.success)))
    return out


def _rate(by_behavior: dict[str, list], ids: list[str]) -> Rate:
    return plain_rate(sum(sum(by_behavior[i]) for i in ids), sum(len(by_behavior[i]) for i in ids))


def _compare(name: str, pair: tuple[str, str], metric: str, a: dict[str, list], b: dict[str, list]) -> ConsistencyTest:
    """Paired comparison of the behaviors asked under both framings (per-behavior failure means)."""
    ids = sorted(set(a) & set(b))
    ma = np.array([np.mean(a[i]) for i in ids], dtype=float)
    mb = np.array([np.mean(b[i]) for i in ids], dtype=float)
    cue_only, contrast_only = int(np.sum(ma > mb)), int(np.sum(mb > ma))
    if all(len(a[i]) == 1 and len(b[i]) == 1 for i in ids):
        test, p = "mcnemar-exact", mcnemar_exact(cue_only, contrast_only)
    else:
        test, p = "paired-permutation", permutation_test_paired(ma - mb)
    gap = float(np.mean(ma - mb)) if ids else None
    low, high = bootstrap_interval(ma - mb, np.mean, seed=0) if len(ids) >= 2 else (None, None)
    return ConsistencyTest(
        name, pair[0], pair[1], metric, len(ids), _rate(a, ids), _rate(b, ids), gap, low, high,
        cue_only, contrast_only, test, p,
    )


def consistency_tests(
    records: Iterable[Any], sets: Mapping[str, tuple[str, str]], *, alpha: float = 0.05
) -> list[ConsistencyTest]:
    """Every set whose two framings were asked, per metric; Holm-corrected together; findings flagged."""
    framings = {f for pair in sets.values() for f in pair}
    outcomes = framing_outcomes(records, framings)
    tests: list[ConsistencyTest] = []
    for (metric, _key), by_framing in sorted(outcomes.items()):
        for name, (cue, contrast) in sets.items():
            if cue in by_framing and contrast in by_framing:
                t = _compare(name, (cue, contrast), metric, by_framing[cue], by_framing[contrast])
                if t.behaviors:
                    tests.append(t)
    for t, adjusted in zip(tests, holm_correction([t.p for t in tests]), strict=True):
        t.p_holm = adjusted
        t.finding = adjusted < alpha
    return tests
