"""A campaign: one suite over several targets (checkpoints, endpoints), each its own run, compared at the end.

Run again with the same file, a campaign resumes: a target whose run is complete is skipped, an interrupted one
is resumed (the run with the same plan hash and target in the database), so nothing is redone or duplicated.
With `executor: ray` every target's batches run on its own replicas of one Ray session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ..datafile import load_model
from ..errors import ConfigError
from ..metrics import Rate, metric_rate
from ..store.db import Store
from ..store.models import Run
from ..store.queries import load_attempts
from ..targets.base import parse_target_spec
from .scan import EXECUTORS, ScanConfig, make_plan, run_scan


class CampaignConfig(BaseModel):
    """A campaign file: the scan options shared by every target, the targets, and how to execute."""

    model_config = ConfigDict(extra="forbid")

    name: str = "campaign"
    targets: list[str] = Field(min_length=1)
    suite: str = "quick"
    attacks: list[str] | None = None
    samples: int | None = None
    limit: int | None = None
    seed: int = 0
    judge: str | None = None
    max_new_tokens: int | None = None
    executor: str = "inprocess"
    replicas: int = Field(1, ge=1)
    ray_address: str | None = None
    batch_size: int = Field(32, ge=1)
    concurrency: int | None = None

    def scan_config(self, target: str) -> ScanConfig:
        return ScanConfig(
            target=target, suite=self.suite, attacks=self.attacks, samples=self.samples, limit=self.limit,
            seed=self.seed, judge=self.judge, max_new_tokens=self.max_new_tokens,
        )


def load_campaign(path: str | Path) -> CampaignConfig:
    p = Path(path)
    config = load_model(p, CampaignConfig, "campaign")
    if config.executor not in EXECUTORS:
        raise ConfigError(f"campaign {p.name}: unknown executor {config.executor!r} (one of: {', '.join(EXECUTORS)})")
    if len(set(config.targets)) != len(config.targets):
        raise ConfigError(f"campaign {p.name}: a target is listed twice")
    for target in config.targets:
        make_plan(config.scan_config(target))  # every plan is valid before anything runs
    return config


@dataclass
class TargetResult:
    target: str
    run_id: str
    status: str
    attempts: int
    attack_success: Rate
    over_refusal: Rate


def existing_run(store: Store, config: ScanConfig) -> tuple[str, str] | None:
    """(run id, status) of the newest scan with this plan for this target, if any."""
    plan = make_plan(config)
    display = parse_target_spec(config.target).display
    with store.session() as s:
        row = s.execute(
            select(Run.id, Run.status)
            .where(Run.kind == "scan", Run.config_hash == plan.config_hash, Run.target == display)
            .order_by(Run.created_at.desc())
            .limit(1)
        ).first()
    return (row[0], row[1]) if row else None


def run_campaign(
    config: CampaignConfig, *, db: str | None = None, on_target: Callable[[str, str], None] | None = None
) -> list[TargetResult]:
    """Scan every target (resuming what an earlier call left), then compare them on the same metrics."""
    started = False
    if config.executor == "ray":
        from .ray_executor import connect

        started = connect(config.ray_address)
    try:
        run_ids = []
        for target in config.targets:
            scan_config = config.scan_config(target)
            store = Store(db)
            try:
                found = existing_run(store, scan_config)
            finally:
                store.close()
            if found and found[1] == "complete":
                run_ids.append(found[0])
                if on_target:
                    on_target(target, f"complete: {found[0]}")
                continue
            if on_target:
                on_target(target, f"resuming {found[0]}" if found else "scanning")
            result = run_scan(
                None if found else scan_config, db=db, resume=found[0] if found else None,
                batch_size=config.batch_size, concurrency=config.concurrency, executor=config.executor,
                replicas=config.replicas, ray_address=config.ray_address,
            )
            run_ids.append(result.run_id)
            if result.stats.interrupted:
                break
    finally:
        if started:
            from .ray_executor import disconnect

            disconnect()
    return compare_runs(db, list(zip(config.targets, run_ids, strict=False)))


def compare_runs(db: str | None, runs: list[tuple[str, str]]) -> list[TargetResult]:
    """Attack success and over-refusal per target, clustered by behavior (`redline.metrics`)."""
    store = Store(db)
    try:
        out = []
        for target, run_id in runs:
            with store.session() as s:
                status = s.get(Run, run_id).status
            records = load_attempts(store, run_id)
            out.append(TargetResult(
                target, run_id, status, len(records),
                metric_rate(records, "attack_success"), metric_rate(records, "over_refusal"),
            ))
        return out
    finally:
        store.close()


def result_dict(r: TargetResult) -> dict:
    return asdict(r)
