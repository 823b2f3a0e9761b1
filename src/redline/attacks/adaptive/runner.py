"""Running an adaptive method over behaviors: the run, its steps, the best attempt per behavior, resume."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ...errors import ConfigError, RedlineError
from ...judges.base import Judge, create_judge
from ...probes.behavior import Behavior, builtin_probe_sets
from ...probes.loaders import load_behaviors_file
from ...store.db import Store
from ...store.queries import get_run, resolve_run_id, step_data, stored_keys
from ...store.recorder import NewAttempt, NewVerdict, RunRecorder
from ...targets.base import Target, create_target, parse_target_spec
from .common import Budget, BudgetExhausted, Context, LoopSettings, Trace, Usage, budget_hit, methods

BUDGET_FIELDS = (
    "max_queries",
    "max_attacker_tokens",
    "max_seconds",
    "run_max_queries",
    "run_max_attacker_tokens",
    "run_max_seconds",
)


class AttackConfig(BaseModel):
    """Everything that defines an adaptive attack run (stored with the run; budgets may change on resume)."""

    model_config = ConfigDict(extra="forbid")

    method: str = "pair"
    target: str = "local"
    attacker: str = "local"
    judge: str = "local"
    verdict_judge: str | None = None
    behaviors: str = "starter"
    behaviors_format: str | None = None
    limit: int | None = None
    params: dict[str, Any] = {}
    max_queries: int | None = 20
    max_attacker_tokens: int | None = None
    max_seconds: float | None = None
    run_max_queries: int | None = None
    run_max_attacker_tokens: int | None = None
    run_max_seconds: float | None = None
    target_tokens: int = 64
    attacker_tokens: int = 96
    judge_tokens: int = 16
    attacker_temperature: float = 1.0
    success_threshold: int | None = None
    seed: int = 0

    def method_params(self) -> dict[str, Any]:
        method = methods.get(self.method)
        unknown = set(self.params) - set(method.defaults)
        if unknown:
            raise ConfigError(
                f"{self.method} has no parameter(s) {sorted(unknown)} (known: {sorted(method.defaults)})"
            )
        for key, value in self.params.items():
            default = method.defaults[key]
            numeric = (int,) if isinstance(default, int) else (int, float) if isinstance(default, float) else None
            if numeric and (isinstance(value, bool) or not isinstance(value, numeric) or value < 0):
                raise ConfigError(f"{self.method} parameter {key} must be a non-negative number, got {value!r}")
        return {**method.defaults, **self.params}

    def budgets(self) -> tuple[Budget, Budget]:
        return (
            Budget(self.max_queries, self.max_attacker_tokens, self.max_seconds),
            Budget(self.run_max_queries, self.run_max_attacker_tokens, self.run_max_seconds),
        )


def attackable(behaviors: list[Behavior]) -> list[Behavior]:
    """The behaviors an adaptive attack can pursue: a model should refuse them, and no reference answers."""
    return [b for b in behaviors if b.expected == "refuse" and not b.references and not b.nonexistent]


def load_behaviors(spec: str, fmt: str | None = None, limit: int | None = None) -> list[Behavior]:
    """A built-in probe set by name (or `all`), or a behaviors file; only behaviors a model should refuse."""
    sets = builtin_probe_sets()
    if spec == "all":
        items = [b for s in sets.values() for b in s.behaviors]
    elif spec in sets:
        items = list(sets[spec].behaviors)
    elif Path(spec).exists():
        items = load_behaviors_file(spec, fmt)
    else:
        raise ConfigError(
            f"--behaviors {spec!r} is neither a probe set ({', '.join(sorted(sets))}) nor a file"
        )
    items = attackable(items)
    if limit is not None:
        if limit < 1:
            raise ConfigError("--limit must be at least 1")
        items = items[:limit]
    if not items:
        raise ConfigError(f"{spec!r} holds no behaviors to attack (adaptive attacks need expected: refuse)")
    return items


@dataclass
class BehaviorOutcome:
    behavior_id: str
    success: bool | None
    score: float | None
    queries: int
    queries_to_success: int | None
    budget_hit: str | None
    usage: dict
    replayed_steps: int = 0
    steps: int = 0


@dataclass
class AttackRunResult:
    run_id: str
    method: str
    status: str
    outcomes: list[BehaviorOutcome] = field(default_factory=list)
    usage: dict = field(default_factory=dict)
    run_budget_hit: str | None = None
    resumed: bool = False
    skipped: int = 0


def _models(
    config: AttackConfig,
    target: Target | None,
    attacker: Target | None,
    judge_target: Target | None,
    cache: dict[str, Target] | None = None,
) -> tuple[Target, Target, Target]:
    """The target, attacker and rubric judge; equal specs share one model (also across calls via `cache`)."""
    cache = {} if cache is None else cache
    if target is not None:
        cache[config.target] = target
    if attacker is not None:
        cache.setdefault(config.attacker, attacker)
    if judge_target is not None:
        cache.setdefault(config.judge, judge_target)

    def get(spec: str, given: Target | None) -> Target:
        if given is not None:
            return given
        if spec not in cache:
            cache[spec] = create_target(spec)
        return cache[spec]

    return get(config.target, target), get(config.attacker, attacker), get(config.judge, judge_target)


def _store_result(recorder: RunRecorder, b: Behavior, ctx: Context, judge: Judge, hit: str | None) -> None:
    best = ctx.best
    state = "ok" if best.verdict is not None and best.error is None else "error"
    error = best.error or (None if best.verdict is not None else f"no target reply ({hit or 'pruned'})")
    meta = {
        "method": ctx.method,
        "score": best.score,
        "queries": ctx.usage.queries,
        "queries_to_success": best.queries_to_success,
        "budget_hit": hit,
        "usage": ctx.usage.to_dict(),
        "params": ctx.params,
    }
    verdict = None
    if state == "ok" and best.verdict is not None:
        v = best.verdict
        verdict = NewVerdict(
            judge=judge.id,
            label=v["label"],
            harm=v["harm"],
            confidence=v["confidence"],
            success=None if v["label"] == "unscorable" else best.success,
            rationale=f"{v['rationale']} (rubric {v['rubric']})"[:1000],
            request_harm=v.get("request_harm"),
        )
    recorder.record(
        [
            NewAttempt(
                behavior_id=b.id,
                attack=ctx.method,
                family="adaptive",
                variant="",
                sample=0,
                category=b.category,
                state=state,
                conversation=best.conversation,
                response=best.response,
                error=error,
                tokens=best.tokens,
                latency_s=best.latency_s,
                params=meta,
                verdict=verdict,
            )
        ]
    )
    recorder.save_result(
        "attack",
        f"{ctx.method}:{b.id}",
        {
            "behavior_id": b.id,
            "success": best.success if state == "ok" else None,
            "score": best.score,
            "queries": ctx.usage.queries,
            "queries_to_success": best.queries_to_success,
            "budget_hit": hit,
            "usage": ctx.usage.to_dict(),
            "steps": ctx.trace.seq,
            "replayed_steps": ctx.trace.replayed,
        },
    )


def _resume(store: Store, resume: str, overrides: dict[str, Any]) -> tuple[RunRecorder, AttackConfig]:
    run_id = resolve_run_id(store, resume, kind="attack")
    run = get_run(store, run_id)
    if run.kind != "attack":
        raise RedlineError(f"run {run_id} is a {run.kind!r} run, not an adaptive attack")
    try:
        config = AttackConfig.model_validate({**run.config, **overrides})
    except ValidationError:
        raise RedlineError(f"run {run_id} has a config this redline cannot read") from None
    recorder = RunRecorder(store, run_id)
    recorder.update_config(config.model_dump(mode="json"))  # budgets raised on resume are kept for the next one
    return recorder, config


def run_attack(
    config: AttackConfig | None = None,
    *,
    db: str | None = None,
    resume: str | None = None,
    budget_overrides: dict[str, Any] | None = None,
    target: Target | None = None,
    attacker: Target | None = None,
    judge_target: Target | None = None,
    on_behavior: Callable[[BehaviorOutcome], None] | None = None,
    on_run: Callable[[str], None] | None = None,
) -> AttackRunResult:
    """Create (or resume) an attack run and attack every behavior not finished yet."""
    overrides = {k: v for k, v in (budget_overrides or {}).items() if k in BUDGET_FIELDS and v is not None}
    store = Store(db)
    try:
        if resume:
            recorder, config = _resume(store, resume, overrides)
        else:
            config = AttackConfig.model_validate({**(config or AttackConfig()).model_dump(), **overrides})
        method = methods.get(config.method)
        params = config.method_params()
        behaviors = load_behaviors(config.behaviors, config.behaviors_format, config.limit)
        verdict_judge = create_judge(config.verdict_judge)
        for spec in (config.target, config.attacker, config.judge):
            parse_target_spec(spec)
        tgt, atk, jdg = _models(config, target, attacker, judge_target)
        if not resume:
            recorder = RunRecorder.start(
                store,
                "attack",
                parse_target_spec(config.target).display,
                config.model_dump(mode="json"),
                target_id=tgt.id,
                suite=config.behaviors,
                judge=verdict_judge.id,
                seed=config.seed,
                planned=len(behaviors),
                behaviors=behaviors,
            )
        if on_run:
            on_run(recorder.run_id)
        return _execute(
            recorder,
            config,
            method,
            params,
            behaviors,
            verdict_judge,
            tgt,
            atk,
            jdg,
            bool(resume),
            on_behavior,
        )
    finally:
        store.close()


def _execute(
    recorder: RunRecorder,
    config: AttackConfig,
    method: Any,
    params: dict,
    behaviors: list[Behavior],
    verdict_judge: Judge,
    tgt: Target,
    atk: Target,
    jdg: Target,
    resumed: bool,
    on_behavior: Callable[[BehaviorOutcome], None] | None,
    *,
    finish: bool = True,
) -> AttackRunResult:
    """Attack every behavior without a stored attempt of this method; `finish=False` leaves the run status."""
    budget, run_budget = config.budgets()
    store, run_id = recorder.store, recorder.run_id
    done = {key[0] for key in stored_keys(store, run_id, attack=config.method)}
    # the run's usage so far: steps of finished behaviors (unfinished ones are replayed below)
    run_usage = Usage()
    for data in step_data(store, run_id, config.method, done):
        run_usage.charge(data)
    recorder.set_status("running")
    settings = LoopSettings(
        config.target_tokens,
        config.attacker_tokens,
        config.judge_tokens,
        config.attacker_temperature,
        config.success_threshold,
        config.seed,
    )
    result = AttackRunResult(
        run_id, config.method, "running", resumed=resumed, skipped=sum(b.id in done for b in behaviors)
    )
    try:
        for b in behaviors:
            if b.id in done:
                continue
            trace = Trace(recorder, b.id, config.method)
            ctx = Context(
                b,
                config.method,
                tgt,
                atk,
                jdg,
                verdict_judge,
                trace,
                settings,
                budget,
                run_budget,
                run_usage,
                params,
            )
            hit: str | None = None
            try:
                method.run(ctx)
            except BudgetExhausted as exc:
                if exc.scope == "run":
                    result.run_budget_hit = exc.resource
                    break
                hit = exc.resource
            hit = hit or budget_hit(budget, ctx.usage)
            _store_result(recorder, b, ctx, verdict_judge, hit)
            outcome = BehaviorOutcome(
                b.id,
                ctx.best.success if ctx.best.verdict else None,
                ctx.best.score,
                ctx.usage.queries,
                ctx.best.queries_to_success,
                hit,
                ctx.usage.to_dict(),
                trace.replayed,
                trace.seq,
            )
            result.outcomes.append(outcome)
            if on_behavior:
                on_behavior(outcome)
        result.status = "interrupted" if result.run_budget_hit else "complete"
    except KeyboardInterrupt:
        result.status = "interrupted"
    result.usage = run_usage.to_dict()
    recorder.save_result(
        "attack",
        f"{config.method}:_run",
        {
            "status": result.status,
            "run_budget_hit": result.run_budget_hit,
            "usage": result.usage,
            "budgets": {k: getattr(config, k) for k in BUDGET_FIELDS},
        },
    )
    if finish:
        recorder.finish(result.status)
    return result
