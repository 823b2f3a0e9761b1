"""Reading stored results back: one flat record per attempt with its behavior and primary verdict."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from .errors import RedlineError
from .metrics import behavior_metric
from .store.db import Store
from .store.models import Attempt, BehaviorRow, Run, VerdictRow


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


def resolve_run_id(store: Store, run_ref: str) -> str:
    """`last` or a run id (a unique prefix is accepted)."""
    with store.session() as s:
        if run_ref == "last":
            rid = s.scalar(select(Run.id).order_by(Run.created_at.desc(), Run.id.desc()).limit(1))
            if rid is None:
                raise RedlineError("there are no runs in this database")
            return rid
        if s.get(Run, run_ref) is not None:
            return run_ref
        matches = s.scalars(select(Run.id).where(Run.id.like(f"{run_ref}%"))).all()
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RedlineError(f"no run {run_ref!r} in this database")
    raise RedlineError(f"run prefix {run_ref!r} is ambiguous ({len(matches)} runs)")


def iter_attempts(store: Store, run_id: str, judge: str | None = None) -> Iterator[AttemptRecord]:
    """All attempts of a run in stored order; the verdict is the run judge's unless `judge` is given."""
    run = get_run(store, run_id)
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
                confidence=v.confidence if v else None,
                success=v.success if v else None,
                correct=v.correct if v else None,
                judge=v.judge if v else None,
                rationale=v.rationale if v else None,
            )


def load_attempts(store: Store, run_id: str, judge: str | None = None) -> list[AttemptRecord]:
    return list(iter_attempts(store, run_id, judge))
