"""Adaptive attacks as runs: settings, resume, budgets, the best attempt per behavior, through the recorder.

`run_attack` is `redline attack` (a run of kind `attack`); `run_in_run` adds an adaptive method to an
existing scan run (the scan engine and `redline elicit --stack` use it). Both go through `execute_method`:
behaviors with a stored attempt of the method are skipped, an unfinished one is replayed from its steps.
The methods themselves (PAIR, TAP, Crescendo) live in `attacks/adaptive/` and know nothing of storage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..attacks.adaptive.common import BudgetExhausted, Context, Trace, Usage, budget_hit, methods
from ..attacks.adaptive.settings import BUDGET_FIELDS, AdaptiveSettings, method_params
from ..attacks.adaptive_methods import AdaptiveAttack
from ..attacks.base import Attack
from ..errors import ConfigError, RedlineError, invalid
from ..judges.base import Judge, create_judge
from ..probes.behavior import Behavior, builtin_probe_sets
from ..probes.loaders import load_behaviors_file
from ..store.db import Store
from ..store.queries import get_run, resolve_run_id, step_data, stored_keys
from ..store.recorder import NewAttempt, NewVerdict, RunRecorder
from ..targets.base import Target, create_target, parse_target_spec


class AttackConfig(AdaptiveSettings):
    """An adaptive attack run: the method, target and behaviors, and the loop's settings (stored with the run;
    budgets may be raised on resume)."""

    method: str = "pair"
    target: str = "local"
    verdict_judge: str | None = None
    behaviors: str = "starter"
    behaviors_format: str | None = None
    limit: int | None = None
    params: dict[str, Any] = {}

    def method_params(self) -> dict[str, Any]:
        return method_params(self.method, self.params)


def attackable(behaviors: list[Behavior]) -> list[Behavior]:
    """The behaviors an adaptive attack can pursue: a model should refuse them, and no reference answers."""
    return [b for b in behaviors if b.attackable]


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


def models(
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


def store_best(recorder: RunRecorder, b: Behavior, ctx: Context, judge: Judge, hit: str | None) -> None:
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
    recorder = RunRecorder.open(store, run_id, lease=True)
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
        tgt, atk, jdg = models(config, target, attacker, judge_target)
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
        return execute_method(
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


def execute_method(
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
                config,
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
            store_best(recorder, b, ctx, verdict_judge, hit)
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


def attack_config(attack: AdaptiveAttack, base: dict[str, Any] | None = None) -> AttackConfig:
    """The AttackConfig of an adaptive suite attack: `base` (the caller's settings), then the attack's own."""
    try:
        return AttackConfig(method=attack.id, params=attack.method_params(), **{**(base or {}), **attack.settings()})
    except ValidationError as exc:
        raise invalid(attack.spec, exc) from None


def run_in_run(
    recorder: RunRecorder,
    behaviors: list[Behavior],
    attack: Attack,
    target: Target,
    *,
    attacker: Target | None = None,
    judge_target: Target | None = None,
    verdict_judge: Judge | str | None = None,
    settings: dict[str, Any] | None = None,
    targets: dict[str, Target] | None = None,
    on_behavior: Callable[[BehaviorOutcome], None] | None = None,
    finish: bool = True,
) -> AttackRunResult:
    """Run one adaptive attack over the attackable `behaviors` of an existing run (its behavior rows exist).

    `target` is the run's target; attacker and rubric judge come from the attack's `attacker`/`judge`
    specs (default `local`, the run's target itself when the specs are equal; `targets` caches models
    across calls). Behaviors with a stored attempt of this method are skipped, an unfinished one is
    replayed from its steps. `finish=False` leaves the run's status to the caller.
    """
    if not isinstance(attack, AdaptiveAttack):
        raise ConfigError(f"{attack.spec} is not an adaptive attack")
    run = get_run(recorder.store, recorder.run_id)
    base = {"target": (run.config or {}).get("target", "local"), "seed": run.seed}
    config = attack_config(attack, {**base, **(settings or {})})
    judge = create_judge(verdict_judge) if verdict_judge is None or isinstance(verdict_judge, str) else verdict_judge
    tgt, atk, jdg = models(config, target, attacker, judge_target, targets)
    return execute_method(
        recorder,
        config,
        methods.get(attack.id),
        config.method_params(),
        attackable(behaviors),
        judge,
        tgt,
        atk,
        jdg,
        True,
        on_behavior,
        finish=finish,
    )
