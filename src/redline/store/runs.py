"""Runs that are not scans (audits, interp) as plain functions over the `RunRecorder`."""

from __future__ import annotations

from typing import Any

from .db import Store
from .queries import load_audit_results
from .recorder import RunRecorder

__all__ = ["create_aux_run", "finish_run", "load_audit_results", "save_audit_result"]


def create_aux_run(
    store: Store, kind: str, target: str, config: dict[str, Any], *, target_id: str = "", suite: str = "",
    judge: str = "", seed: int = 0, planned: int = 0,
) -> str:
    """Create a run of another kind (e.g. `attack`, `audit-bias`, `audit-privacy`, `interp`)."""
    recorder = RunRecorder.start(
        store, kind, target, config, target_id=target_id, suite=suite, judge=judge, seed=seed, planned=planned
    )
    return recorder.run_id


def finish_run(store: Store, run_id: str, status: str = "complete") -> None:
    RunRecorder(store, run_id).finish(status)


def save_audit_result(store: Store, run_id: str, audit: str, key: str, data: dict[str, Any]) -> None:
    """Insert or replace one keyed audit result."""
    RunRecorder(store, run_id).save_result(audit, key, data)
