"""What the report and the system card show, computed once from stored results."""

from __future__ import annotations

from typing import Any

from ..metrics import max_by_behavior, metric_rate
from ..policy.gate import GateResult, find_audits, gate_run
from ..policy.model import Policy
from ..results import AttemptRecord, get_run, load_attempts, resolve_run_id
from ..store.db import Store
from ..store.queries import load_audit_results
from ..summary import Cell, run_summary, summarize
from .organisms import organisms_scoreboard


def rate(records: list[AttemptRecord], metric: str) -> dict[str, Any]:
    """Failure rate of one metric (attack_success, over_refusal, hallucination) with the clustered interval
    that the scan table and the gate show."""
    return metric_rate(records, metric).to_dict()


def elicitation(records: list[AttemptRecord]) -> list[dict[str, Any]]:
    """Per behavior probing for harm: elicited if any attack or sample succeeded, with the max harm."""
    harmful = [r for r in records if r.metric == "attack_success"]
    maxima = max_by_behavior(harmful)
    out: dict[str, dict[str, Any]] = {}
    for r in harmful:
        b = out.setdefault(r.behavior_id, {"behavior_id": r.behavior_id, "category": r.category, "goal": r.goal,
                                           "attempts": 0, "scored": 0, "successes": 0, "max_harm": 0.0,
                                           "attacks": [], "examples": [], "elicited": False})
        b["attempts"] += 1
    for bid, m in maxima.items():
        out[bid].update(scored=m.attempts, successes=m.successes, max_harm=m.max_harm, attacks=m.attacks,
                        examples=m.examples, elicited=m.elicited)
    return sorted(
        out.values(), key=lambda b: (not b["elicited"], -b["max_harm"], b["category"], b["behavior_id"])
    )


def attempt_row(r: AttemptRecord) -> dict[str, Any]:
    outcome = (
        "error"
        if r.state == "error"
        else "unscorable"
        if r.success is None
        else ("failure" if r.success else "ok")
    )
    return {
        "id": r.attempt_id,
        "behavior": r.behavior_id,
        "category": r.category,
        "metric": r.metric,
        "attack": r.attack,
        "family": r.family,
        "variant": r.variant,
        "sample": r.sample,
        "label": r.label or "",
        "outcome": outcome,
        "harm": r.harm,
        "goal": r.goal,
        "conversation": r.conversation,
        "response": r.response,
        "decoded": r.decoded_response,
        "error": r.error,
        "rationale": r.rationale or "",
    }


def worst(cells: list[Cell], k: int = 3) -> list[dict[str, Any]]:
    """The groups with the highest failure rates that have at least one failure."""
    bad = [c for c in cells if c.successes and c.asr is not None]
    return [c.to_dict() for c in sorted(bad, key=lambda c: (-(c.asr or 0), c.group))[:k]]


def disparities(audits: list[Any]) -> list[dict[str, Any]]:
    out = []
    for row in audits:
        data = row.data or {}
        for d in data.get("disparities") or []:
            if isinstance(d, dict):
                out.append(dict(d, audit=row.audit, key=row.key, run_id=row.run_id))
    return out


def hardening(store: Store, run_id: str) -> dict[str, Any] | None:
    """The before/after table of the newest harden job whose re-measure scans include this run, if any."""
    for r in reversed(load_audit_results(store, audit="harden")):
        runs = [r.data.get(k) for k in ("before_run", "after_run", "facts_before_run", "facts_after_run")]
        if r.key == "compare" and run_id in runs:
            return {"harden_run": r.run_id, **r.data}
    return None


def build_data(
    store: Store,
    run_ref: str,
    policy: Policy | None = None,
    *,
    safeguards: list[str] | None = None,
    mitigated_run: str | None = None,
    compare: list[str] | None = None,
    with_attempts: bool = True,
    judge: str | None = None,
) -> dict[str, Any]:
    """Everything the report and card need about a run, read with `judge`'s verdicts (default: each run's
    own judge); the gate is included when a policy is given."""
    run_id = resolve_run_id(store, run_ref)
    run = get_run(store, run_id)
    records = load_attempts(store, run_id, judge)
    summary = run_summary(run, records, judge)
    gate: GateResult | None = None
    if policy is not None:
        gate = gate_run(store, run_id, policy, safeguards=safeguards, mitigated_run=mitigated_run, judge=judge)
    audits, audit_runs = find_audits(store, run_id)
    families = sorted({r.family or r.attack for r in records})
    categories = sorted({r.category for r in records})
    heat = {
        c.group: c.to_dict()
        for c in summarize(
            [r for r in records if r.metric == "attack_success"], lambda r: f"{r.category}|{r.family}"
        )
    }
    points = [
        {
            "run_id": run_id,
            "label": run.target,
            "current": True,
            "asr": rate(records, "attack_success"),
            "over_refusal": rate(records, "over_refusal"),
        }
    ]
    for ref in compare or []:
        cid = resolve_run_id(store, ref)
        crecs = load_attempts(store, cid, judge)
        points.append(
            {
                "run_id": cid,
                "label": get_run(store, cid).target,
                "current": False,
                "asr": rate(crecs, "attack_success"),
                "over_refusal": rate(crecs, "over_refusal"),
            }
        )
    by_cat = summarize(records, lambda r: r.category)
    by_attack = summarize([r for r in records if r.metric == "attack_success"], lambda r: r.attack)
    return {
        "run": {
            "id": run_id,
            "kind": run.kind,
            "target": run.target,
            "target_id": run.target_id,
            "suite": run.suite,
            "judge": judge or run.judge,
            "seed": run.seed,
            "status": run.status,
            "version": run.version,
            "created_at": run.created_at.isoformat(timespec="seconds") if run.created_at else "",
            "config": run.config or {},
        },
        "summary": summary,
        "gate": gate.to_dict() if gate else None,
        "categories": categories,
        "families": families,
        "heat": heat,
        "bars": [c.to_dict() for c in by_cat],
        "metrics": {m: rate(records, m) for m in ("attack_success", "over_refusal", "hallucination")},
        "tradeoff": points,
        "elicitation": elicitation(records),
        "worst_categories": worst([c for c in by_cat if c.metric == "attack_success"]),
        "worst_attacks": worst(by_attack),
        "attacks": sorted({r.attack for r in records}),
        "disparities": disparities(audits),
        "hardening": hardening(store, run_id),
        "organisms": organisms_scoreboard(store),
        "audit_runs": audit_runs,
        "attempts": [attempt_row(r) for r in records] if with_attempts else [],
    }
