"""Reading runs back: attempt records with a chosen judge's verdict, run lookup (`last`), steps, listings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from ..errors import RedlineError
from ..metrics import behavior_metric
from .db import Store
from .models import Attempt, AuditResult, BehaviorRow, GuardDecision, Run, Step, VerdictRow


@dataclass
class AttemptRecord:
    """An attempt joined with its behavior and the run's judge verdict (if any)."""

    attempt_id: int
    run_id: str
    behavior_id: str
    category: str
    subcategory: str
    expected: str
    goal: str
    behavior_data: dict
    attack: str
    family: str
    variant: str
    sample: int
    state: str
    conversation: list
    response: str
    decoded_response: str | None
    error: str | None
    tokens: int
    latency_s: float
    params: dict
    label: str | None = None
    harm: float | None = None
    request_harm: float | None = None
    confidence: float | None = None
    success: bool | None = None
    correct: bool | None = None
    judge: str | None = None
    rationale: str | None = None

    @property
    def metric(self) -> str:
        """Which failure this attempt's behavior measures (`redline.metrics.behavior_metric`)."""
        return behavior_metric(self.expected, self.behavior_data)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def get_run(store: Store, run_id: str) -> Run:
    with store.session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise RedlineError(f"no run {run_id!r} in this database")
        s.expunge(run)
    return run


def _of_kind(kind: str):  # noqa: ANN202 - a SQL condition
    """Runs of `kind`, or of its family (`audit` matches `audit-bias`, `audit-fairness`, ...)."""
    return or_(Run.kind == kind, Run.kind.like(f"{kind}-%"))


def latest_run_id(store: Store, kind: str = "scan") -> str:
    """The newest run of `kind` (a family name such as `audit` matches its members)."""
    with store.session() as s:
        q = select(Run.id).where(_of_kind(kind)).order_by(Run.created_at.desc(), Run.id.desc()).limit(1)
        run_id = s.scalar(q)
    if run_id is None:
        raise RedlineError(f"there is no {kind} run in this database")
    return run_id


def resolve_run_id(store: Store, run_ref: str, kind: str = "scan") -> str:
    """`last` (the newest run of `kind`, a scan unless a command says otherwise) or a run id; a unique
    prefix is accepted."""
    if run_ref == "last":
        return latest_run_id(store, kind)
    with store.session() as s:
        if s.get(Run, run_ref) is not None:
            return run_ref
        matches = s.scalars(select(Run.id).where(Run.id.like(f"{run_ref}%"))).all()
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RedlineError(f"no run {run_ref!r} in this database")
    raise RedlineError(f"run prefix {run_ref!r} is ambiguous ({len(matches)} runs)")


def iter_attempts(store: Store, run_id: str, judge: str | None = None) -> Iterator[AttemptRecord]:
    """All attempts of a run in stored order; the verdict is the run judge's unless `judge` is given (a judge
    with no verdicts on the run is refused, naming those that have some)."""
    run = get_run(store, run_id)
    if judge and judge != run.judge:
        stored = verdict_judges(store, run_id)
        if judge not in stored:
            raise RedlineError(
                f"run {run_id} has no verdicts by judge {judge!r} (it has: {', '.join(stored) or 'none'}); "
                f"store some with `redline rejudge {run_id} --judge SPEC`"
            )
    judge = judge or run.judge
    with store.session() as s:
        q = (
            select(Attempt, BehaviorRow, VerdictRow)
            .join(
                BehaviorRow,
                (BehaviorRow.run_id == Attempt.run_id) & (BehaviorRow.behavior_id == Attempt.behavior_id),
            )
            .outerjoin(VerdictRow, (VerdictRow.attempt_id == Attempt.id) & (VerdictRow.judge == judge))
            .where(Attempt.run_id == run_id)
            .order_by(Attempt.id)
        )
        for a, b, v in s.execute(q):
            yield AttemptRecord(
                attempt_id=a.id,
                run_id=a.run_id,
                behavior_id=a.behavior_id,
                category=b.category,
                subcategory=b.subcategory,
                expected=b.expected,
                goal=b.goal,
                behavior_data=b.data or {},
                attack=a.attack,
                family=a.family,
                variant=a.variant,
                sample=a.sample,
                state=a.state,
                conversation=a.conversation or [],
                response=a.response,
                decoded_response=a.decoded_response,
                error=a.error,
                tokens=a.tokens,
                latency_s=a.latency_s,
                params=a.params or {},
                label=v.label if v else None,
                harm=v.harm if v else None,
                request_harm=v.request_harm if v else None,
                confidence=v.confidence if v else None,
                success=v.success if v else None,
                correct=v.correct if v else None,
                judge=v.judge if v else None,
                rationale=v.rationale if v else None,
            )


def load_attempts(store: Store, run_id: str, judge: str | None = None) -> list[AttemptRecord]:
    return list(iter_attempts(store, run_id, judge))


def list_runs(store: Store, kind: str | None = None) -> list[dict[str, Any]]:
    """Runs newest first (only those of `kind` or its family when given), with their attempt counts."""
    with store.session() as s:
        counts = dict(s.execute(select(Attempt.run_id, func.count()).group_by(Attempt.run_id)).all())
        q = select(Run).order_by(Run.created_at.desc(), Run.id.desc())
        if kind:
            q = q.where(_of_kind(kind))
        return [
            {
                "run_id": r.id,
                "kind": r.kind,
                "created_at": r.created_at.isoformat(timespec="seconds"),
                "status": r.status,
                "target": r.target,
                "suite": r.suite,
                "attempts": counts.get(r.id, 0),
                "planned": r.planned,
            }
            for r in s.scalars(q)
        ]


def stored_keys(store: Store, run_id: str, attack: str | None = None) -> set[tuple[str, str, str, int]]:
    """The (behavior, attack, variant, sample) keys already stored for a run (of one attack when given)."""
    q = select(Attempt.behavior_id, Attempt.attack, Attempt.variant, Attempt.sample).where(Attempt.run_id == run_id)
    if attack is not None:
        q = q.where(Attempt.attack == attack)
    with store.session() as s:
        return {(r[0], r[1], r[2], r[3]) for r in s.execute(q).all()}


def stored_steps(store: Store, run_id: str, behavior_id: str, method: str) -> dict[int, tuple[str, dict]]:
    """The adaptive steps stored for one (run, behavior, method): seq -> (kind, data)."""
    with store.session() as s:
        rows = s.execute(
            select(Step.seq, Step.kind, Step.data).where(
                Step.run_id == run_id, Step.behavior_id == behavior_id, Step.method == method
            )
        ).all()
    return {r[0]: (r[1], r[2] or {}) for r in rows}


def step_data(store: Store, run_id: str, method: str, behavior_ids: set[str]) -> list[dict]:
    """The data of every stored step of `method` on the given behaviors (to recount a run's usage)."""
    with store.session() as s:
        rows = s.execute(
            select(Step.data).where(Step.run_id == run_id, Step.method == method, Step.behavior_id.in_(behavior_ids))
        ).all()
    return [r[0] or {} for r in rows]


def load_audit_results(store: Store, run_id: str | None = None, audit: str | None = None) -> list[AuditResult]:
    """Audit results, optionally of one run and/or one audit kind, oldest first."""
    with store.session() as s:
        q = select(AuditResult).order_by(AuditResult.id)
        if run_id:
            q = q.where(AuditResult.run_id == run_id)
        if audit:
            q = q.where(AuditResult.audit == audit)
        rows = list(s.scalars(q))
        for r in rows:
            s.expunge(r)
        return rows


def verdict_judges(store: Store, run_id: str) -> list[str]:
    """The judges with verdicts on a run's attempts, by name."""
    with store.session() as s:
        q = select(VerdictRow.judge).join(Attempt, Attempt.id == VerdictRow.attempt_id).where(Attempt.run_id == run_id)
        return sorted(set(s.scalars(q.distinct())))


def attempts_without_verdict(store: Store, run_id: str, judge: str | None) -> list[Attempt]:
    """The answered attempts of a run that `judge` has not read yet (all of them when `judge` is None), in
    stored order (detached rows)."""
    with store.session() as s:
        query = select(Attempt).where(Attempt.run_id == run_id, Attempt.state == "ok")
        if judge is not None:
            query = query.where(Attempt.id.not_in(select(VerdictRow.attempt_id).where(VerdictRow.judge == judge)))
        rows = list(s.scalars(query.order_by(Attempt.id)))
        for r in rows:
            s.expunge(r)
        return rows


def other_verdicts(
    store: Store, run_id: str, judge: str
) -> list[tuple[int, str, bool | None, float | None, str]]:
    """(attempt id, judge, success, harm, label) of every verdict on a run's attempts by a judge other than `judge`
    (second readings: a cascade's strong grader, a re-judge, `human:NAME` labels)."""
    with store.session() as s:
        rows = s.execute(
            select(VerdictRow.attempt_id, VerdictRow.judge, VerdictRow.success, VerdictRow.harm, VerdictRow.label)
            .join(Attempt, Attempt.id == VerdictRow.attempt_id)
            .where(Attempt.run_id == run_id, VerdictRow.judge != judge)
        ).all()
    return [tuple(r) for r in rows]


def stored_behaviors(store: Store, run_id: str) -> dict[str, dict[str, Any]]:
    """The behaviors of a run as stored with it (id -> fields), whatever the library holds today."""
    with store.session() as s:
        rows = s.scalars(select(BehaviorRow).where(BehaviorRow.run_id == run_id)).all()
        return {
            r.behavior_id: {
                "id": r.behavior_id, "goal": r.goal, "category": r.category, "subcategory": r.subcategory,
                "expected": r.expected, **(r.data or {}),
            }
            for r in rows
        }


def guard_rails(store: Store, run_id: str) -> dict[str, Any]:
    """The runtime guard's rails that fired in a run: counts per `rail:action` (passes left out), the requests
    seen and blocked. Read from the run's guard decisions (a `redline guard --db` session), else from the guard
    records that a guarded scan keeps in its attempts' params; empty when the run went through no guard."""
    fired: dict[str, int] = {}
    requests: set[str] = set()
    blocked: set[str] = set()

    def add(request_id: str, rail: str, action: str) -> None:
        requests.add(request_id)
        if action != "allow":
            fired[f"{rail}:{action}"] = fired.get(f"{rail}:{action}", 0) + 1
        if action == "block":
            blocked.add(request_id)

    with store.session() as s:
        rows = s.execute(
            select(GuardDecision.request_id, GuardDecision.rail, GuardDecision.action).where(
                GuardDecision.run_id == run_id
            )
        ).all()
        for rid, rail, action in rows:
            add(rid, rail, action)
        if not rows:
            for (params,) in s.execute(select(Attempt.params).where(Attempt.run_id == run_id)):
                record = ((params or {}).get("extra") or {}).get("guard") or {}
                for d in record.get("decisions", []):
                    add(record.get("request_id", ""), d.get("rail", ""), d.get("action", ""))
    if not requests:
        return {}
    return {"requests": len(requests), "blocked": len(blocked), "fired": dict(sorted(fired.items()))}
