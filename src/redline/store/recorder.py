"""`RunRecorder`: the only code that writes runs, their behaviors, attempts, verdicts, steps and statuses."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from ..errors import RedlineError
from ..redaction import redact, redact_data
from ..version import __version__
from .db import Store
from .models import Attempt, AuditResult, BehaviorRow, GuardDecision, Run, Step, VerdictRow, utcnow
from .queries import stored_steps


def new_run_id() -> str:
    """A sortable, collision-resistant run id (local time and 4 random hex digits)."""
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


LEASE_TTL_S = 900.0  # a run written by another machine is free this long after that writer's last write


def this_holder() -> str:
    """The lease holder name of this process: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_gone(holder: str) -> bool:
    """True when `holder` names a process of this machine that no longer runs (it crashed or was killed)."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists but belongs to someone else
        return False
    return False


def config_digest(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class NewVerdict:
    """A verdict to store; `success` is the failure the behavior looks for (None when unscorable)."""

    judge: str
    label: str
    harm: float = 0.0
    confidence: float = 0.0
    success: bool | None = None
    correct: bool | None = None
    rationale: str = ""
    request_harm: float | None = None

    @classmethod
    def of(cls, verdict: Any, **override: Any) -> NewVerdict:
        """From a judge's `Verdict` (or anything with its fields); `override` replaces fields."""
        fields = {
            "judge": verdict.judge,
            "label": verdict.label,
            "harm": verdict.harm,
            "confidence": verdict.confidence,
            "success": verdict.success,
            "correct": getattr(verdict, "correct", None),
            "rationale": verdict.rationale,
            "request_harm": getattr(verdict, "request_harm", None),
        }
        return cls(**{**fields, **override})


@dataclass
class NewAttempt:
    """An attempt to store, keyed by (behavior, attack, variant, sample), with its verdict if judged."""

    behavior_id: str
    attack: str
    family: str
    variant: str
    sample: int
    category: str
    state: str
    conversation: list[Any]
    response: str
    decoded_response: str | None = None
    error: str | None = None
    tokens: int = 0
    latency_s: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)
    verdict: NewVerdict | None = None


def _behavior_row(run_id: str, b: Any) -> BehaviorRow:
    return BehaviorRow(
        run_id=run_id, behavior_id=b.id, category=b.category, subcategory=b.subcategory, source=b.source,
        expected=b.expected, goal=b.goal, data=b.to_data(),
    )


def _verdict_row(attempt_id: int, v: NewVerdict) -> VerdictRow:
    return VerdictRow(
        attempt_id=attempt_id, judge=v.judge, label=v.label, harm=v.harm, request_harm=v.request_harm,
        confidence=v.confidence, success=v.success, correct=v.correct, rationale=v.rationale,
    )


class RunRecorder:
    """Writes one run: `start` (or `open` to resume) / `record` attempts with verdicts / `record_steps` /
    `set_status` / `finish`. Each call is one transaction, so a crash loses at most the call in flight.

    A recorder that starts a run, or opens it with `lease=True` to resume it, holds the run's lease (`holder`):
    a second resume of the same run refuses while the holder runs, and each `record` renews the lease and
    refuses to write if another process has taken the run over since."""

    def __init__(self, store: Store, run_id: str, holder: str | None = None) -> None:
        self.store, self.run_id, self.holder = store, run_id, holder

    @classmethod
    def start(
        cls,
        store: Store,
        kind: str,
        target: str,
        config: dict[str, Any],
        *,
        target_id: str = "",
        suite: str = "",
        judge: str = "",
        seed: int = 0,
        planned: int = 0,
        config_hash: str | None = None,
        behaviors: Iterable[Any] = (),
    ) -> RunRecorder:
        """Create a run of `kind` (`scan`, `attack`, `audit-bias`, ...) and its behavior rows in one transaction."""
        run_id, holder = new_run_id(), this_holder()
        with store.session() as s:
            s.add(
                Run(
                    id=run_id, kind=kind, target=redact(target), target_id=redact(target_id), suite=suite,
                    judge=redact(judge), seed=seed, planned=planned, config=redact_data(config),
                    config_hash=config_hash or config_digest(config),
                    version=__version__, holder=holder, heartbeat_at=utcnow(),
                )
            )
            s.flush()
            s.add_all(_behavior_row(run_id, b) for b in behaviors)
        return cls(store, run_id, holder)

    @classmethod
    def open(cls, store: Store, run_id: str, *, lease: bool = False) -> RunRecorder:
        """The recorder of an existing run: to re-judge it, or with `lease=True` to resume it (refused while
        another live process writes it)."""
        me = this_holder()
        with store.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                raise RedlineError(f"no run {run_id!r} in this database")
            if not lease:
                return cls(store, run_id)
            holder, beat = run.holder, run.heartbeat_at
            if holder and holder != me and run.status == "running" and not holder_gone(holder):
                age = (utcnow() - beat).total_seconds() if beat else LEASE_TTL_S
                if age < LEASE_TTL_S:
                    raise RedlineError(
                        f"run {run_id} is being written by {holder} (last write {age:.0f} s ago): stop that process "
                        f"first, or if it died on another machine, resume in {LEASE_TTL_S - age:.0f} s"
                    )
            same = Run.holder.is_(None) if holder is None else Run.holder == holder
            taken = s.execute(update(Run).where(Run.id == run_id, same).values(holder=me, heartbeat_at=utcnow()))
            if taken.rowcount != 1:
                raise RedlineError(f"run {run_id} was just taken by another process; stop it first")
        return cls(store, run_id, me)

    def _renew(self, s: Any) -> None:
        """Renew the lease inside the caller's transaction; refuse if another process took the run over."""
        if self.holder is None:
            return
        renewed = s.execute(
            update(Run).where(Run.id == self.run_id, Run.holder == self.holder).values(heartbeat_at=utcnow())
        )
        if renewed.rowcount != 1:
            raise RedlineError(f"run {self.run_id} was taken over by another process; this one stops without writing")

    def add_behaviors(self, behaviors: Iterable[Any]) -> None:
        """Add behavior rows to a run that grows as it goes (a manual studio session's findings)."""
        with self.store.session() as s:
            s.add_all(_behavior_row(self.run_id, b) for b in behaviors)

    def record(self, attempts: Iterable[NewAttempt]) -> list[int]:
        """Store a batch of attempts with their verdicts atomically; returns the attempt ids."""
        ids = []
        with self.store.session() as s:
            self._renew(s)
            for a in attempts:
                row = Attempt(
                    run_id=self.run_id, behavior_id=a.behavior_id, attack=a.attack, family=a.family,
                    variant=a.variant, sample=a.sample, category=a.category, state=a.state,
                    conversation=a.conversation, response=a.response, decoded_response=a.decoded_response,
                    error=redact(a.error) if a.error else a.error, tokens=a.tokens, latency_s=a.latency_s,
                    params=a.params,
                )
                s.add(row)
                s.flush()
                ids.append(row.id)
                if a.verdict is not None:
                    s.add(_verdict_row(row.id, a.verdict))
        return ids

    def record_verdicts(self, verdicts: Iterable[tuple[int, NewVerdict]]) -> int:
        """Store (or replace) one judge's verdicts on attempts of this run, atomically; returns the count."""
        n = 0
        with self.store.session() as s:
            for attempt_id, v in verdicts:
                s.execute(delete(VerdictRow).where(VerdictRow.attempt_id == attempt_id, VerdictRow.judge == v.judge))
                s.add(_verdict_row(attempt_id, v))
                n += 1
        return n

    def record_steps(self, behavior_id: str, method: str, steps: Iterable[dict[str, Any]]) -> None:
        """Store adaptive steps of one (behavior, method) atomically; each has seq, kind, data and its place
        in the search (stream, depth, node, parent) and score."""
        with self.store.session() as s:
            s.add_all(Step(run_id=self.run_id, behavior_id=behavior_id, method=method, **st) for st in steps)

    def steps(self, behavior_id: str, method: str) -> dict[int, tuple[str, dict]]:
        """The steps already stored for one (behavior, method), replayed when a run resumes."""
        return stored_steps(self.store, self.run_id, behavior_id, method)

    def record_guard_decisions(self, decisions: Iterable[dict[str, Any]]) -> None:
        """Store the runtime guard's decisions on one request atomically (keys request_id, conversation, phase,
        rail, action, score, latency_s, detail); details pass through key redaction."""
        with self.store.session() as s:
            s.add_all(
                GuardDecision(
                    run_id=self.run_id, request_id=d["request_id"], conversation=d.get("conversation", "")[:128],
                    phase=d["phase"], rail=d["rail"], action=d["action"], score=float(d.get("score", 0.0)),
                    latency_s=float(d.get("latency_s", 0.0)), detail=redact(d.get("detail", "")),
                )
                for d in decisions
            )

    def save_result(self, audit: str, key: str, data: dict[str, Any]) -> None:
        """Insert or replace one keyed result (audit findings, adaptive outcomes) of this run."""
        with self.store.session() as s:
            row = s.scalar(
                select(AuditResult).where(
                    AuditResult.run_id == self.run_id, AuditResult.audit == audit, AuditResult.key == key
                )
            )
            if row is None:
                s.add(AuditResult(run_id=self.run_id, audit=audit, key=key, data=data))
            else:
                row.data = data

    def update_config(self, config: dict[str, Any]) -> None:
        """Replace the stored config (budgets raised on resume are kept for the next one)."""
        with self.store.session() as s:
            s.get(Run, self.run_id).config = config

    def delete_errors(self) -> int:
        """Remove the attempts that errored, so a resume runs them again; returns how many."""
        with self.store.session() as s:
            result = s.execute(delete(Attempt).where(Attempt.run_id == self.run_id, Attempt.state == "error"))
            return int(result.rowcount or 0)

    def set_status(self, status: str) -> None:
        """`running`, `interrupted` or `complete`; the finish time is set when the run stops."""
        with self.store.session() as s:
            run = s.get(Run, self.run_id)
            if run is not None:
                run.status = status
                run.finished_at = utcnow() if status in ("complete", "interrupted") else None
                if run.finished_at and self.holder and run.holder == self.holder:
                    run.holder = None  # the lease ends with the process's work

    def finish(self, status: str = "complete") -> None:
        self.set_status(status)
