"""The deployment gate: thresholds -> the safety level the evidence supports -> deploy / mitigate / stop."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from ..store.db import Store
from ..store.models import Run
from ..store.queries import AttemptRecord, get_run, load_attempts, other_verdicts, resolve_run_id
from ..store.runs import load_audit_results
from .evidence import Reading
from .metrics import ThresholdResult, evaluate_bias_gap, evaluate_records
from .model import Policy, level_rank

DEPLOY, MITIGATE, STOP = "deploy", "deploy with mitigations", "do not deploy"
GUARD_SAFEGUARD = "runtime_classifier_guard"  # credited only from a run measured through `redline guard`
EXIT_CODES = {DEPLOY: 0, MITIGATE: 3, STOP: 4}
BIAS_AUDITS = ("bias", "fair")


@dataclass
class GateResult:
    """The decision, the level, and every threshold's evidence."""

    run_id: str
    policy: str
    decision: str
    level: str
    exit_code: int
    reasons: list[str]
    required_safeguards: list[str]
    declared_safeguards: list[str]
    missing_safeguards: list[str]
    thresholds: list[ThresholdResult]
    mitigated_run: str | None = None
    audit_runs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    safeguards_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["thresholds"] = [t.to_dict() for t in self.thresholds]
        return d


def evaluate_threshold(
    t,
    policy: Policy,
    records: list[AttemptRecord],
    audits: list[Any],  # noqa: ANN001
    source: str,
    readings: list[Reading] | None = None,
) -> ThresholdResult:
    if t.metric == "bias_gap":
        return evaluate_bias_gap(t, policy, audits)
    return evaluate_records(t, policy, records, source, readings or [])


def evaluate_gate(
    policy: Policy,
    records: list[AttemptRecord],
    *,
    run_id: str = "",
    audits: list[Any] | None = None,
    safeguards: list[str] | None = None,
    mitigated_records: list[AttemptRecord] | None = None,
    mitigated_run: str | None = None,
    mitigated_audits: list[Any] | None = None,
    readings: list[Reading] | None = None,
    mitigated_readings: list[Reading] | None = None,
) -> GateResult:
    """Compute the level the evidence supports and the deployment decision with its reasons.

    As in public responsible-scaling policies, capability thresholds decide which level's safeguards are
    required; safeguard thresholds (refusal and jailbreak robustness) decide whether the safeguards in place
    are adequate. A crossed safeguard threshold or a capability threshold marked `remeasure` must pass when
    re-measured under the safeguards (`mitigated_records`) before anything can be deployed.
    """
    audits = audits or []
    declared = list(safeguards or [])
    results = [evaluate_threshold(t, policy, records, audits, run_id, readings) for t in policy.thresholds]
    reasons: list[str] = []
    warnings = [
        f"advisory {r.id} ({r.domain}) {r.status}: {r.explanation}"
        for r in results
        if r.advisory and r.status in ("crossed", "insufficient")
    ]
    warnings += [
        f"{r.id}: {len(r.candidates)} candidate elicitation(s) awaiting confirmation "
        f"({', '.join(r.candidates[:5])}{', ...' if len(r.candidates) > 5 else ''}): confirm with another "
        "attack or sample, a stronger judge (`redline rejudge`), or a human label"
        for r in results
        if r.candidates
    ]
    binding = [r for r in results if not r.advisory and r.status in ("crossed", "insufficient")]
    insufficient = [r for r in binding if r.status == "insufficient"]
    capability = [r for r in binding if r.role == "capability"]
    inadequate = [r for r in binding if r.role == "safeguard"]
    level = policy.base_level
    for r in capability:
        if level_rank(r.level) > level_rank(level):
            level = r.level
    for r in binding:
        how = "crossed" if r.status == "crossed" else "insufficient evidence (treated as crossed)"
        kind = "capability" if r.role == "capability" else "safeguard evidence"
        ex = f"; example attempts {', '.join(map(str, r.examples))}" if r.examples else ""
        reasons.append(f"{r.id} ({r.domain}, {kind}, {r.level}) {how}: {r.explanation}{ex}")
    base = GateResult(
        run_id=run_id,
        policy=policy.name,
        decision=STOP,
        level=level,
        exit_code=EXIT_CODES[STOP],
        reasons=reasons,
        required_safeguards=[],
        declared_safeguards=declared,
        missing_safeguards=[],
        thresholds=results,
        mitigated_run=mitigated_run,
        warnings=warnings,
    )
    if insufficient and policy.insufficient_evidence == "block":
        reasons.append(f"{len(insufficient)} threshold(s) lack evidence and the policy blocks on that")
        return base
    if not binding:
        base.decision, base.exit_code = DEPLOY, EXIT_CODES[DEPLOY]
        reasons.append(f"no threshold crossed: every binding threshold certified below its limit ({level})")
        return base
    if not policy.levels[level].deployable:
        reasons.append(
            f"{level} is not deployable under policy {policy.name}: {policy.levels[level].description}"
        )
        return base
    required = policy.required_safeguards(level)
    base.required_safeguards = required
    base.missing_safeguards = [s for s in required if s not in declared]
    if base.missing_safeguards:
        reasons.append(
            f"{level} requires safeguards not declared present: {', '.join(base.missing_safeguards)}"
        )
        return base
    pending = [r for r in capability if r.remeasure] + inadequate
    if pending:
        if mitigated_records is None:
            reasons.append(
                f"{', '.join(r.id for r in pending)} must be re-measured under the safeguards: "
                "pass --mitigated-run RUN (a scan of the guarded target)"
            )
            return base
        thresholds = {t.id: t for t in policy.thresholds}
        still = []
        for r in pending:
            m = evaluate_threshold(
                thresholds[r.id], policy, mitigated_records, mitigated_audits or [], mitigated_run or "",
                mitigated_readings,
            )
            r.mitigated = m.to_dict()
            if m.status != "pass":
                still.append(f"{r.id} under safeguards {m.status}: {m.explanation}")
        if still:
            reasons += still
            return base
        reasons.append(
            f"re-measured under safeguards ({mitigated_run}): {', '.join(r.id for r in pending)} pass"
        )
    base.decision, base.exit_code = MITIGATE, EXIT_CODES[MITIGATE]
    if required:
        reasons.append(f"all {level} safeguards declared present: {', '.join(required)}")
    return base


def other_readings(store: Store, run_id: str, judge: str | None = None) -> list[Reading]:
    """Second readings of a run's attempts: verdicts by judges other than `judge` (default: the run's own)."""
    primary = judge or get_run(store, run_id).judge
    return [Reading(*row) for row in other_verdicts(store, run_id, primary)]


def find_audits(
    store: Store, run_id: str, audit_runs: list[str] | None = None
) -> tuple[list[Any], list[str]]:
    """Bias/fairness audit results for a run: its own, those of `audit_runs`, else the newest audit run
    of the same target (so `redline audit bias` followed by `redline gate` just works)."""
    run_ids = [run_id] + [resolve_run_id(store, r, kind="audit") for r in audit_runs or []]
    if not audit_runs:
        run = get_run(store, run_id)
        with store.session() as s:
            newest = s.scalar(
                select(Run.id)
                .where(Run.kind.like("audit%"), Run.target == run.target, Run.id != run_id)
                .order_by(Run.created_at.desc(), Run.id.desc())
                .limit(1)
            )
        if newest:
            run_ids.append(newest)
    rows: list[Any] = []
    used: list[str] = []
    for rid in run_ids:
        got = [a for a in load_audit_results(store, rid) if any(b in a.audit.lower() for b in BIAS_AUDITS)]
        if got:
            used.append(rid)
        rows += got
    return rows, used


def guarded_run_problem(store: Store, run_id: str, records: list[AttemptRecord]) -> str | None:
    """Why a run is not a measurement through the runtime guard (None when it is): its target must be a
    `guard:` spec and every generated attempt must carry the guard's record (policy hash, decisions)."""
    target = get_run(store, run_id).target or ""
    if not target.startswith("guard:"):
        return f"run {run_id} was not run through the guard (target {target!r}; scan --target 'guard:...')"
    done = [r for r in records if not r.error]
    if not done:
        return f"run {run_id} has no completed attempts"
    stamped = [r for r in done if isinstance((r.params.get("extra") or {}).get("guard"), dict)]
    if len(stamped) < len(done):
        return f"{len(done) - len(stamped)} of {len(done)} attempts of run {run_id} carry no guard record"
    if len({r.params["extra"]["guard"].get("policy_hash") for r in stamped}) != 1:
        return f"run {run_id} mixes guard policies"
    return None


def credit_guard(
    policy: Policy, store: Store, guarded_id: str, records: list[AttemptRecord], judge: str | None
) -> tuple[bool, str]:
    """Whether the guarded run earns `runtime_classifier_guard`: it was measured through the guard, and every
    binding safeguard threshold, and every capability threshold marked `remeasure`, passes under it."""
    problem = guarded_run_problem(store, guarded_id, records)
    if problem:
        return False, f"{GUARD_SAFEGUARD} not credited: {problem}"
    audits, _ = find_audits(store, guarded_id)
    readings = other_readings(store, guarded_id, judge)
    failing = []
    for t in policy.thresholds:
        if t.advisory or not (t.role == "safeguard" or t.remeasure):
            continue
        r = evaluate_threshold(t, policy, records, audits, guarded_id, readings)
        if r.status not in ("pass", "not_applicable"):
            failing.append(f"{t.id} {r.status} ({r.explanation})")
    stamp = next(r.params["extra"]["guard"] for r in records if not r.error)
    if failing:
        return False, f"{GUARD_SAFEGUARD} not credited: under guarded run {guarded_id}: {'; '.join(failing)}"
    return True, (
        f"{GUARD_SAFEGUARD} credited from guarded run {guarded_id} (guard policy {stamp.get('policy')}, "
        f"{stamp.get('policy_hash')}): every safeguard threshold passes under it"
    )


def gate_run(
    store: Store,
    run_ref: str,
    policy: Policy,
    *,
    safeguards: list[str] | None = None,
    mitigated_run: str | None = None,
    audit_runs: list[str] | None = None,
    judge: str | None = None,
    safeguards_from: str | None = None,
) -> GateResult:
    """Load a run (and optionally its mitigated re-measurement) from the store and gate it.

    `safeguards_from`: a run scanned through the runtime guard. It replaces any declared
    `runtime_classifier_guard` with the measurement (credited only if `credit_guard` says so) and, unless
    `mitigated_run` is given, is the re-measurement under the safeguards.
    """
    run_id = resolve_run_id(store, run_ref)
    records = load_attempts(store, run_id, judge)
    audits, used = find_audits(store, run_id, audit_runs)
    credit_note = None
    if safeguards_from:
        g_id = resolve_run_id(store, safeguards_from)
        credited, credit_note = credit_guard(policy, store, g_id, load_attempts(store, g_id, judge), judge)
        safeguards = [s for s in safeguards or [] if s != GUARD_SAFEGUARD] + ([GUARD_SAFEGUARD] if credited else [])
        mitigated_run = mitigated_run or g_id
    mitigated_ref = mitigated_run or policy.remeasure_run
    m_id = m_records = m_audits = m_readings = None
    if mitigated_ref:
        m_id = resolve_run_id(store, mitigated_ref)
        m_records = load_attempts(store, m_id, judge)
        m_audits, _ = find_audits(store, m_id)
        m_readings = other_readings(store, m_id, judge)
    result = evaluate_gate(
        policy,
        records,
        run_id=run_id,
        audits=audits,
        safeguards=safeguards,
        mitigated_records=m_records,
        mitigated_run=m_id,
        mitigated_audits=m_audits,
        readings=other_readings(store, run_id, judge),
        mitigated_readings=m_readings,
    )
    result.audit_runs = used
    if credit_note:
        result.safeguards_from = resolve_run_id(store, safeguards_from or "")
        result.reasons.insert(0, credit_note)
    if not records:
        result.warnings.insert(0, f"run {run_id} has no attempts")
    return result
