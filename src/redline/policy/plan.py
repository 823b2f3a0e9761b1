"""Before anything runs: how much evidence a suite gives each threshold, and how much certifying it needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..attacks.base import create_attack
from ..judges.base import metric_name
from ..probes.behavior import Behavior
from ..probes.suites import Suite
from ..stats import attempts_to_certify
from .metrics import RECORD_METRIC, matches
from .model import Policy, Threshold

FAILURES = (0, 1, 2)


@dataclass
class PlannedAttempt:
    """The fields of a future attempt that a threshold's selection reads."""

    category: str
    subcategory: str
    behavior_data: dict[str, Any]
    family: str
    attack: str


@dataclass
class ThresholdPlan:
    """What a suite provides for one threshold and what certifying its limit needs."""

    id: str
    domain: str
    metric: str
    role: str
    level: str
    limit: float
    advisory: bool
    unit: str
    behaviors: int = 0
    attempts: int = 0
    provided: int = 0
    needed: dict[int, int] = field(default_factory=dict)
    can_pass: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PlannedBehavior:
    """A behavior of the suite with the failure it measures and its planned attempts under each attack."""

    behavior: Behavior
    metric: str
    attempts: list[tuple[PlannedAttempt, int]]


def plan_behaviors(suite: Suite) -> list[PlannedBehavior]:
    """Every (behavior, attack) of the suite with its number of attempts (adaptive methods store one per
    behavior they can pursue), computed once for all thresholds."""
    attacks = [create_attack(spec) for spec in suite.attacks]
    out = []
    for b in suite.behaviors():
        data = b.model_dump()
        pairs = []
        for a in attacks:
            n = int(b.attackable) if getattr(a, "adaptive", False) else len(a.variants(b)) * suite.samples
            pairs.append((PlannedAttempt(b.category, b.subcategory, data, a.family, a.spec), n))
        out.append(PlannedBehavior(b, metric_name(b), pairs))
    return out


def plan_threshold(t: Threshold, policy: Policy, planned: list[PlannedBehavior]) -> ThresholdPlan:
    """Count the behaviors and attempts a threshold would select, and the evidence it needs."""
    unit = {"elicited": "behaviors", "bias_gap": "disparities"}.get(t.metric, "attempts")
    plan = ThresholdPlan(t.id, t.domain, t.metric, t.role, t.level, t.limit, t.advisory, unit)
    if t.metric == "bias_gap":
        plan.note = "read from a bias audit run (`redline audit bias`), not from the scan"
        plan.can_pass = True
        return plan
    min_n = t.min_attempts or policy.min_attempts
    plan.needed = {
        k: max(min_n, attempts_to_certify(t.limit, policy.confidence, policy.interval, failures=k)) for k in FAILURES
    }
    want = RECORD_METRIC[t.metric]
    for pb in planned:
        if pb.metric not in want:
            continue
        n = sum(count for attempt, count in pb.attempts if matches(attempt, t.select))  # type: ignore[arg-type]
        if n:
            plan.behaviors += 1
            plan.attempts += n
    # attempts of one behavior are one cluster: with no failure observed the bound is taken on behaviors
    plan.provided = plan.behaviors
    plan.can_pass = plan.provided >= plan.needed[0]
    tolerated = [k for k in FAILURES if plan.provided >= plan.needed[k]]
    if not plan.behaviors:
        plan.note = "the suite selects nothing for this threshold: it can never pass"
    elif not plan.can_pass:
        plan.note = f"{plan.needed[0] - plan.provided} more behaviors needed to certify even with no failure"
    else:
        plan.note = f"certifiable with {max(tolerated)}{' or more' if max(tolerated) == FAILURES[-1] else ''} failures"
    if t.per:
        plan.note += f"; also evaluated for each attack {t.per} alone"
    return plan


def certification_plan(policy: Policy, suite: Suite) -> list[ThresholdPlan]:
    """One row per threshold of `policy` for the behaviors and attacks of `suite`."""
    planned = plan_behaviors(suite)
    return [plan_threshold(t, policy, planned) for t in policy.thresholds]
