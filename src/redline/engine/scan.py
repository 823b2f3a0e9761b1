"""A scan from config to stored results: plan, resume, batch, generate, judge, commit."""

from __future__ import annotations

import hashlib
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..attacks.base import Attack, create_attack
from ..errors import ConfigError, RedlineError
from ..judges.base import Judge, create_judge
from ..probes.behavior import Behavior, behaviors_hash
from ..probes.loaders import load_behaviors_file
from ..probes.suites import get_suite
from ..records import conversation_to_dicts
from ..store.db import Store
from ..store.queries import get_run, list_runs, resolve_run_id, stored_keys
from ..store.recorder import NewAttempt, NewVerdict, RunRecorder
from ..summary import stored_summary
from ..targets.base import Target, create_target, parse_target_spec
from .adaptive import attackable, run_in_run
from .execute import Outcome, generate_items, group_by_decoding, judge_outcomes
from .plan import AttemptKey, WorkItem, build_plan, split_adaptive

EXECUTORS = ("inprocess", "ray")


class ScanConfig(BaseModel):
    """Everything that defines a scan's plan; stored with the run, hashed for determinism."""

    model_config = ConfigDict(extra="forbid")

    target: str = "local"
    suite: str = "quick"
    behaviors_file: str | None = None
    behaviors_format: str | None = None
    behaviors: list[Behavior] | None = None  # in memory, instead of a suite's or a file's (stored with the run)
    attacks: list[str] | None = None
    samples: int | None = None
    limit: int | None = None
    seed: int = 0
    judge: str | None = None
    max_new_tokens: int | None = None

    def plan_fields(self) -> dict:
        return self.model_dump(mode="json")


@dataclass
class ScanPlan:
    """The static work items, and the adaptive attacks that run after them over `adaptive_behaviors`."""

    config: ScanConfig
    behaviors: list[Behavior]
    attacks: list[Attack]
    items: list[WorkItem]
    config_hash: str
    suite_name: str
    judge_spec: str
    adaptive: list[Attack] = field(default_factory=list)
    adaptive_behaviors: list[Behavior] = field(default_factory=list)
    max_new_tokens: int = 128

    def adaptive_keys(self) -> list[AttemptKey]:
        """Keys of the attempts the adaptive attacks store: one per (attackable behavior, method)."""
        return [(b.id, a.id, "", 0) for b in self.adaptive_behaviors for a in self.adaptive]

    @property
    def planned(self) -> int:
        return len(self.items) + len(self.adaptive) * len(self.adaptive_behaviors)


@dataclass
class RunStats:
    """Counts of one execution of a run."""

    run_id: str
    planned: int
    already_done: int = 0
    executed: int = 0
    errors: int = 0
    generated_tokens: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    extra: dict = field(default_factory=dict)


def make_plan(config: ScanConfig) -> ScanPlan:
    """Resolve suite, behaviors and attacks into a plan (no target, no database touched)."""
    parse_target_spec(config.target)  # refuses inline secrets before anything is stored
    suite = get_suite(config.suite)
    if config.behaviors is not None and config.behaviors_file:
        raise ConfigError("give behaviors in memory or a behaviors file, not both")
    if config.behaviors is not None:
        behaviors = list(config.behaviors)
    elif config.behaviors_file:
        behaviors = load_behaviors_file(config.behaviors_file, config.behaviors_format)
    else:
        behaviors = suite.behaviors()
    if config.limit is not None:
        if config.limit < 1:
            raise ConfigError("--limit must be at least 1")
        behaviors = behaviors[: config.limit]
    if not behaviors:
        raise ConfigError("the scan has no behaviors to run")
    attacks = [create_attack(spec) for spec in (config.attacks or suite.attacks)]
    static, adaptive = split_adaptive(attacks)
    adaptive_behaviors = attackable(behaviors) if adaptive else []
    if adaptive and not adaptive_behaviors:
        raise ConfigError(f"{adaptive[0].spec} needs behaviors a model should refuse; the scan has none")
    samples = config.samples or suite.samples
    if samples < 1:
        raise ConfigError("samples must be at least 1")
    max_new_tokens = config.max_new_tokens or suite.max_new_tokens
    items = build_plan(
        behaviors,
        static,
        samples,
        seed=config.seed,
        temperature=suite.temperature,
        temperatures=suite.temperatures,
        max_new_tokens=max_new_tokens,
    )
    judge_spec = config.judge or suite.judge or ""
    digest = {
        "config": config.plan_fields(),
        "behaviors": behaviors_hash(behaviors),
        "attacks": [a.spec for a in attacks],
        # `runner` is left out for chat suites so runs planned before the field existed still resume
        "suite": suite.model_dump(mode="json", exclude={"runner"} if suite.runner == "chat" else None),
    }
    config_hash = hashlib.sha256(json.dumps(digest, sort_keys=True).encode()).hexdigest()[:16]
    return ScanPlan(
        config, behaviors, attacks, items, config_hash, suite.name, judge_spec, adaptive, adaptive_behaviors,
        max_new_tokens,
    )


def resume_config(store: Store, run_id: str) -> ScanConfig:
    run = get_run(store, run_id)
    if run.kind != "scan":
        raise RedlineError(f"run {run_id} is a {run.kind!r} run, not a scan")
    try:
        return ScanConfig.model_validate(run.config)
    except ValidationError:
        raise RedlineError(f"run {run_id} has a config this redline cannot read") from None


def resume_conflicts(stored: ScanConfig, given: dict[str, Any]) -> list[str]:
    """The plan options in `given` (None = not given) whose values differ from the stored plan's."""
    fields = ScanConfig.model_fields
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise ConfigError(f"not plan options: {', '.join(unknown)}")
    return [
        f"{name} ({value!r}, stored {getattr(stored, name)!r})"
        for name, value in given.items()
        if value is not None and value != getattr(stored, name)
    ]


def resume_judge(run_judge: str, judge_spec: str) -> Judge:
    """The judge a resumed run was started with, so every verdict of the run is one verdict set: a default
    judge that moved on since (a newer `offline@N`) is pinned back to the run's own generation."""
    judge = create_judge(judge_spec or None)
    if judge.id == run_judge:
        return judge
    try:
        pinned = create_judge(run_judge)
    except RedlineError:
        pinned = None
    if pinned is None or pinned.id != run_judge:
        raise RedlineError(
            f"this run was judged by {run_judge!r}, which this redline cannot recreate (it has {judge.id!r}); "
            "finish it with the redline that started it, or start a new scan"
        )
    return pinned


def create_run(store: Store, plan: ScanPlan, target: Target, judge: Judge) -> RunRecorder:
    """Start the run and its behaviors in one transaction."""
    return RunRecorder.start(
        store,
        "scan",
        parse_target_spec(plan.config.target).display,
        plan.config.plan_fields(),
        target_id=target.id,
        suite=(
            f"file:{plan.config.behaviors_file}" if plan.config.behaviors_file
            else "inline" if plan.config.behaviors is not None else plan.suite_name
        ),
        judge=judge.id,
        seed=plan.config.seed,
        planned=plan.planned,
        config_hash=plan.config_hash,
        behaviors=plan.behaviors,
    )


def new_attempt(o: Outcome) -> NewAttempt:
    """The stored form of a generated (and judged) attempt."""
    item = o.item
    return NewAttempt(
        behavior_id=item.behavior.id,
        attack=item.attack.spec,
        family=item.attack.family,
        variant=item.variant.variant,
        sample=item.sample,
        category=item.behavior.category,
        state="ok" if o.generation.ok else "error",
        conversation=conversation_to_dicts(o.transcript),
        response=o.generation.text,
        decoded_response=o.decoded,
        error=o.generation.error,
        tokens=o.generation.tokens,
        latency_s=o.generation.latency_s,
        params={**item.params.to_dict(), **({"extra": o.generation.extra} if o.generation.extra else {})},
        verdict=NewVerdict.of(o.verdict) if o.verdict is not None else None,
    )


ProgressFn = Callable[[int], None]


class _StopFlag:
    """Set by SIGINT/SIGTERM so the current batch commits and the scan stops cleanly."""

    def __init__(self) -> None:
        self.stop = False
        self._old: dict[int, object] = {}

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:  # noqa: ANN001
        if self.stop:  # second Ctrl-C: stop now; the open transaction rolls back
            raise KeyboardInterrupt
        self.stop = True

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def earlier_turns(item: WorkItem) -> tuple[tuple[str, str], ...]:
    """Every message of an item's conversation but the last: the part that items may share (a system prompt, a
    many-shot attack's fabricated turns)."""
    return tuple((m.role, m.content) for m in item.variant.conversation[:-1])


def plan_batches(pending: list[WorkItem], batch_size: int) -> list[list[WorkItem]]:
    """Batches of items sharing decoding settings, shortest prompts first (least padding); every executor
    runs these same batches, so a Ray-executed scan generates exactly what the in-process one does.

    Items with the same earlier turns, at least half a batch of them (e.g. a many-shot attack's thousands of tokens
    of fabricated turns), are batched only with each other, so a target that reuses a shared prefix (`local`)
    computes those turns once per batch instead of once per row."""
    chunk = max(1, batch_size)

    def length(it: WorkItem) -> int:
        return sum(len(m.content) for m in it.variant.conversation)

    batches: list[list[WorkItem]] = []
    for group in group_by_decoding(pending):
        parts: dict[tuple, list[WorkItem]] = {}
        for it in group:
            parts.setdefault(earlier_turns(it), []).append(it)
        rest = [it for turns, part in parts.items() if not turns or len(part) < max(2, chunk // 2) for it in part]
        shared = [part for turns, part in parts.items() if turns and len(part) >= max(2, chunk // 2)]
        cut: list[list[WorkItem]] = []
        for part in [rest, *shared]:
            part.sort(key=length)
            cut += [part[i : i + chunk] for i in range(0, len(part), chunk)]
        cut.sort(key=lambda b: length(b[0]))  # stable: equal lengths keep their order
        batches += cut
    return batches


def iter_outcomes(target: Target, batches: list[list[WorkItem]]) -> Iterator[list[Outcome]]:
    """Generated batches: fanned out when the target is a pool of replicas (`map_batches`), else in order."""
    fan_out = getattr(target, "map_batches", None)
    if fan_out is not None:
        return fan_out(batches)
    return (generate_items(target, batch) for batch in batches)


def execute(
    recorder: RunRecorder,
    plan: ScanPlan,
    target: Target,
    judge: Judge,
    *,
    batch_size: int = 32,
    on_start: Callable[[int, int], None] | None = None,
    on_progress: ProgressFn | None = None,
) -> RunStats:
    """Run every planned item not yet stored, committing each batch with its verdicts, then the adaptive
    attacks; the run is `complete` only when both parts are done."""
    store, run_id = recorder.store, recorder.run_id
    done = stored_keys(store, run_id)
    pending = [item for item in plan.items if item.key not in done]
    adaptive_left = sum(key not in done for key in plan.adaptive_keys())
    stats = RunStats(run_id=run_id, planned=plan.planned, already_done=plan.planned - len(pending) - adaptive_left)
    if on_start:
        on_start(plan.planned, stats.already_done)
    recorder.set_status("running")
    start = time.perf_counter()
    with _StopFlag() as flag:
        results = iter_outcomes(target, plan_batches(pending, batch_size))
        try:
            for outcomes in results:
                judge_outcomes(judge, outcomes)
                recorder.record(new_attempt(o) for o in outcomes)
                stats.executed += len(outcomes)
                stats.errors += sum(not o.generation.ok for o in outcomes)
                stats.generated_tokens += sum(o.generation.tokens for o in outcomes if o.generation.ok)
                if on_progress:
                    on_progress(len(outcomes))
                if flag.stop:
                    break
        finally:
            close = getattr(results, "close", None)
            if close:
                close()
        stats.interrupted = flag.stop
    if plan.adaptive and not stats.interrupted:
        try:
            execute_adaptive(recorder, plan, target, judge, stats, on_progress)
        except KeyboardInterrupt:  # between two adaptive attacks: nothing half-written, resumable
            stats.interrupted = True
    stats.seconds = time.perf_counter() - start
    recorder.finish("interrupted" if stats.interrupted else "complete")
    return stats


def execute_adaptive(
    recorder: RunRecorder,
    plan: ScanPlan,
    target: Target,
    judge: Judge,
    stats: RunStats,
    on_progress: ProgressFn | None = None,
) -> None:
    """Run each adaptive attack over the plan's behaviors into the run; finished behaviors are skipped.

    A run budget reached (`run_max_queries` ...) ends that attack for good and is reported in
    `stats.extra["adaptive"]`; a Ctrl-C marks the scan interrupted.
    """
    models: dict[str, Target] = {plan.config.target: target}
    report: dict[str, dict] = stats.extra.setdefault("adaptive", {})
    for attack in plan.adaptive:
        result = run_in_run(
            recorder,
            plan.adaptive_behaviors,
            attack,
            target,
            verdict_judge=judge,
            settings={"target_tokens": plan.max_new_tokens},
            targets=models,
            on_behavior=(lambda _: on_progress(1)) if on_progress else None,
            finish=False,
        )
        stats.executed += len(result.outcomes)
        report[attack.id] = {"status": result.status, "run_budget_hit": result.run_budget_hit, "usage": result.usage}
        if result.status == "interrupted" and not result.run_budget_hit:
            stats.interrupted = True
            return


@dataclass
class ScanResult:
    """The run, what this execution did, and the summary `redline scan` prints (rates by group)."""

    run_id: str
    stats: RunStats
    resumed: bool = False
    summary: dict = field(default_factory=dict)


def scan_summary(store: Store, run_id: str, stats: RunStats) -> dict:
    """The stored run's summary with this execution's throughput and adaptive budget report."""
    summary = stored_summary(store, run_id)
    summary["throughput"] = {
        "executed": stats.executed,
        "seconds": round(stats.seconds, 3),
        "generated_tokens": stats.generated_tokens,
    }
    if stats.extra.get("adaptive"):
        summary["adaptive"] = stats.extra["adaptive"]
    return summary


def run_scan(
    config: ScanConfig | None = None,
    *,
    db: str | None = None,
    resume: str | None = None,
    retry_errors: bool = False,
    batch_size: int = 32,
    concurrency: int | None = None,
    target: Target | None = None,
    on_run: Callable[[str], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_progress: ProgressFn | None = None,
    resume_options: dict[str, Any] | None = None,
    executor: str = "inprocess",
    replicas: int = 1,
    ray_address: str | None = None,
) -> ScanResult:
    """Plan, create or resume the run, and execute it. Bad input fails before anything is written.

    With `resume`, `resume_options` are plan options given again (the original command line with `--resume`
    added): they must equal the stored plan's; differing ones are refused by name. `executor="ray"` runs the
    batches on `replicas` Ray actors (a local cluster, or the one at `ray_address`); results are the same.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r} (one of: {', '.join(EXECUTORS)})")
    if executor != "ray" and (replicas != 1 or ray_address):
        raise ConfigError("--replicas and --ray-address need --executor ray")
    store = Store(db)
    pool = None
    try:
        if resume:
            if resume == "last" and not list_runs(store, "scan"):
                raise RedlineError("there is no run to resume in this database")
            run_id = resolve_run_id(store, resume)
            stored = resume_config(store, run_id)
            differ = resume_conflicts(stored, resume_options or {})
            if differ:
                raise RedlineError(
                    f"--resume takes the plan from run {run_id}; these options differ from it: {', '.join(differ)} "
                    "(drop them, or start a new scan)"
                )
            plan = make_plan(stored)
            if plan.config_hash != get_run(store, run_id).config_hash:
                raise RedlineError(
                    f"run {run_id} was planned from different data (suite or behavior files changed); "
                    "start a new scan"
                )
        else:
            plan = make_plan(config or ScanConfig())
        judge = resume_judge(get_run(store, run_id).judge, plan.judge_spec) if resume else create_judge(
            plan.judge_spec or None
        )
        if target is None:
            options = {"batch_size": batch_size, "concurrency": concurrency}
            if executor == "ray":
                from .ray_executor import RayTargetPool

                target = pool = RayTargetPool(plan.config.target, options, replicas, ray_address)
            else:
                target = create_target(plan.config.target, **options)
        if resume:
            recorder = RunRecorder.open(store, run_id, lease=True)
            if retry_errors:
                recorder.delete_errors()
        else:
            recorder = create_run(store, plan, target, judge)
            run_id = recorder.run_id
        if on_run:
            on_run(run_id)
        stats = execute(
            recorder, plan, target, judge, batch_size=batch_size, on_start=on_start, on_progress=on_progress
        )
        return ScanResult(run_id, stats, bool(resume), scan_summary(store, run_id, stats))
    finally:
        if pool is not None:
            pool.close()
        store.close()
