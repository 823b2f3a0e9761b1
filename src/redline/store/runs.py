"""Runs that are not scans (adaptive attacks, audits, interp): create them and keep their results."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from .. import __version__
from .db import Store
from .models import AuditResult, BehaviorRow, Run, utcnow


def config_digest(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def create_aux_run(
    store: Store, kind: str, target: str, config: dict[str, Any], *, target_id: str = "", suite: str = "",
    judge: str = "", seed: int = 0, planned: int = 0,
) -> str:
    """Create a run of another kind (e.g. `attack`, `audit-bias`, `audit-privacy`, `interp`)."""
    from ..engine.scan import new_run_id

    run_id = new_run_id()
    with store.session() as s:
        s.add(Run(id=run_id, kind=kind, target=target, target_id=target_id, suite=suite, judge=judge, seed=seed,
                  planned=planned, config=config, config_hash=config_digest(config), version=__version__))
    return run_id


def behavior_rows(run_id: str, behaviors: list[Any]) -> list[BehaviorRow]:
    """Rows recording each behavior as the run used it (so reports survive edits of the data files)."""
    return [
        BehaviorRow(
            run_id=run_id,
            behavior_id=b.id,
            category=b.category,
            subcategory=b.subcategory,
            source=b.source,
            expected=b.expected,
            goal=b.goal,
            data=b.to_data(),
        )
        for b in behaviors
    ]


def finish_run(store: Store, run_id: str, status: str = "complete") -> None:
    with store.session() as s:
        run = s.get(Run, run_id)
        if run is not None:
            run.status = status
            run.finished_at = utcnow()


def save_audit_result(store: Store, run_id: str, audit: str, key: str, data: dict[str, Any]) -> None:
    """Insert or replace one keyed audit result."""
    with store.session() as s:
        row = s.scalar(
            select(AuditResult).where(AuditResult.run_id == run_id, AuditResult.audit == audit, AuditResult.key == key)
        )
        if row is None:
            s.add(AuditResult(run_id=run_id, audit=audit, key=key, data=data))
        else:
            row.data = data


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
