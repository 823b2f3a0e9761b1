"""SQLAlchemy models: runs, behaviors, attempts, verdicts, adaptive steps, findings, audit results, guard decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Run(Base):
    """One scan, attack or audit: what was asked (config) and how far it got (status)."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="scan")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    target: Mapped[str] = mapped_column(String(512))
    target_id: Mapped[str] = mapped_column(String(512), default="")
    suite: Mapped[str] = mapped_column(String(256), default="")
    judge: Mapped[str] = mapped_column(String(256), default="")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    planned: Mapped[int] = mapped_column(Integer, default=0)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    config_hash: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[str] = mapped_column(String(32), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    holder: Mapped[str | None] = mapped_column(String(256), nullable=True)  # host:pid of the writing process
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # the holder's last write


class BehaviorRow(Base):
    """A behavior as it was when the run used it (so reports survive edits of the data files)."""

    __tablename__ = "behaviors"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    behavior_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    category: Mapped[str] = mapped_column(String(64))
    subcategory: Mapped[str] = mapped_column(String(128), default="")
    source: Mapped[str] = mapped_column(String(128), default="")
    expected: Mapped[str] = mapped_column(String(16), default="refuse")
    goal: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Attempt(Base):
    """One conversation sent to the target and what came back, keyed for resume."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("run_id", "behavior_id", "attack", "variant", "sample", name="uq_attempt_key"),
        ForeignKeyConstraint(
            ["run_id", "behavior_id"], ["behaviors.run_id", "behaviors.behavior_id"], ondelete="CASCADE"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    behavior_id: Mapped[str] = mapped_column(String(256))
    attack: Mapped[str] = mapped_column(String(256))
    family: Mapped[str] = mapped_column(String(64), default="")
    variant: Mapped[str] = mapped_column(String(256), default="")
    sample: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="ok")
    conversation: Mapped[list[Any]] = mapped_column(JSON, default=list)
    response: Mapped[str] = mapped_column(Text, default="")
    decoded_response: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class VerdictRow(Base):
    """A judge's reading of an attempt; `success` says whether the probe found the failure it looks for."""

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("attempt_id", "judge", name="uq_verdict_attempt_judge"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    judge: Mapped[str] = mapped_column(String(256))
    label: Mapped[str] = mapped_column(String(16))
    harm: Mapped[float] = mapped_column(Float, default=0.0)
    request_harm: Mapped[float | None] = mapped_column(Float, nullable=True)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    success: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    correct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    rationale: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Step(Base):
    """One step of an adaptive attack (attacker prompt, target reply, judge score, pruning), for replay."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("run_id", "behavior_id", "method", "seq", name="uq_step_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    behavior_id: Mapped[str] = mapped_column(String(256))
    method: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    stream: Mapped[int] = mapped_column(Integer, default=0)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    node: Mapped[str] = mapped_column(String(128), default="")
    parent: Mapped[str | None] = mapped_column(String(128), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Finding(Base):
    """A detector finding in a stored response (e.g. PII), with its span and a redacted form."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), nullable=True)
    detector: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    redacted: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditResult(Base):
    """A keyed result of an audit (bias, fairness, privacy, interp...) stored as JSON."""

    __tablename__ = "audit_results"
    __table_args__ = (UniqueConstraint("run_id", "audit", "key", name="uq_audit_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    audit: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(256))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GuardDecision(Base):
    """One runtime-guard rail decision on one request (never the request's text or any key)."""

    __tablename__ = "guard_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    conversation: Mapped[str] = mapped_column(String(128), default="")
    phase: Mapped[str] = mapped_column(String(16))
    rail: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
