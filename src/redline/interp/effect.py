"""Measured effect of interventions: the same scan on the plain, ablated and steered model.

Reports, per condition, attack success (harmful behaviors that were not refused) and over-refusal
(benign behaviors that were refused) with Wilson intervals, from runs stored like any other scan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ..metrics import plain_rate
from ..probes.behavior import Behavior
from ..records import Conversation, Generation, GenerationParams
from .data import instruction_sets, split
from .hooks import add_hooks
from .interventions import Direction, intervention_hooks


class ConditionTarget:
    """The shared local target seen under one condition (a distinct id for the stored run)."""

    def __init__(self, target: Any, label: str) -> None:
        self.target = target
        self.id = f"{target.id}+{label}" if label != "plain" else target.id

    def generate(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        return self.target.generate(batch, params)

    def close(self) -> None:
        return None


@dataclass
class Rate:
    k: int
    n: int
    rate: float | None
    low: float
    high: float
    unscorable: int = 0


@dataclass
class ConditionResult:
    condition: str
    run_id: str
    attack_success: Rate
    over_refusal: Rate
    refusal_rate_harmful: Rate
    seconds: float


def _rate(k: int, n: int, unscorable: int = 0) -> Rate:
    r = plain_rate(k, n)
    low, high = (r.low, r.high) if n else (0.0, 1.0)
    return Rate(k, n, r.rate, low, high, unscorable)


def rates(records: list[Any]) -> tuple[Rate, Rate, Rate]:
    """(attack success, over-refusal, refusal rate on harmful) from stored attempt records."""
    harm = [r for r in records if r.metric == "attack_success" and r.state != "error"]
    benign = [r for r in records if r.metric == "over_refusal" and r.state != "error"]
    h_scored = [r for r in harm if r.success is not None]
    b_scored = [r for r in benign if r.success is not None]
    asr = _rate(sum(bool(r.success) for r in h_scored), len(h_scored), len(harm) - len(h_scored))
    over = _rate(sum(bool(r.success) for r in b_scored), len(b_scored), len(benign) - len(b_scored))
    refusals = _rate(sum(r.label == "refused" for r in h_scored), len(h_scored))
    return asr, over, refusals


def held_out_behaviors(fraction: float = 0.25, seed: int = 0, limit: int | None = None) -> list[Behavior]:
    """The held-out interp instructions as behaviors (harmful: refuse; harmless: comply), for a scan in memory."""
    harmful, harmless = instruction_sets()
    _, harm_test = split(harmful, fraction, seed)
    _, benign_test = split(harmless, fraction, seed)
    if limit:
        harm_test, benign_test = harm_test[:limit], benign_test[:limit]
    return [
        Behavior(id=f"interp-harm-{i:03d}", category="harmful_content", goal=g)
        for i, g in enumerate(harm_test)
    ] + [
        Behavior(id=f"interp-benign-{i:03d}", category="over_refusal", expected="comply", goal=g)
        for i, g in enumerate(benign_test)
    ]


def run_effect(
    target: Any,
    direction: Direction,
    *,
    alpha: float = 1.0,
    layer: int | None = None,
    suite: str = "quick",
    behaviors: list[Behavior] | None = None,
    db: str | None = None,
    judge: str | None = None,
    max_new_tokens: int | None = 48,
    limit: int | None = None,
    conditions: tuple[str, ...] = ("plain", "ablate", "steer"),
    direction_path: str | None = None,
    on_condition: Callable[[str], None] | None = None,
) -> list[ConditionResult]:
    """Scan once per condition with the intervention's hooks installed only for that scan."""
    from ..engine.scan import ScanConfig, run_scan
    from ..results import load_attempts
    from ..store.db import Store

    results = []
    for cond in conditions:
        if on_condition:
            on_condition(cond)
        hooks = [] if cond == "plain" else intervention_hooks(target.model, cond, direction, alpha, layer)
        label = {"plain": "plain", "ablate": "ablate", "steer": f"steer{alpha:g}"}[cond]
        spec = "local"
        if direction_path and cond == "ablate":
            spec = f"local;ablate={direction_path}"
        elif direction_path and cond == "steer":
            spec = f"local;steer={direction_path}:{alpha:g}" + (f":{layer}" if layer is not None else "")
        config = ScanConfig(
            target=spec,
            suite=suite,
            behaviors=behaviors,
            judge=judge,
            max_new_tokens=max_new_tokens,
            limit=limit,
        )
        with add_hooks(module_forward_hooks=hooks):
            res = run_scan(config, db=db, target=ConditionTarget(target, label), batch_size=target.batch_size)
        store = Store(db)
        try:
            records = load_attempts(store, res.run_id)
        finally:
            store.close()
        asr, over, refusals = rates(records)
        results.append(ConditionResult(cond, res.run_id, asr, over, refusals, res.stats.seconds))
    return results


def results_to_dicts(results: list[ConditionResult]) -> list[dict]:
    return [asdict(r) for r in results]
