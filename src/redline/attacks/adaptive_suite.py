"""Adaptive methods as suite attacks (`pair`, `tap`, `crescendo`), and running them inside a scan run.

The scan engine plans static conversations; these attacks need the target in the loop, so a scan splits
them out and runs them after its static plan through `run_adaptive_in_run` (also used by `redline elicit
--stack`), which stores their best attempts in the same run (attack = method, family = adaptive).
Parameters are the method's plus the loop settings of `AttackConfig` below, e.g.
`pair:streams=1,iterations=2,max_queries=4,attacker=local`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import ValidationError

from ..errors import ConfigError
from ..judges.base import Judge, create_judge
from ..probes.behavior import Behavior
from ..store.queries import get_run
from ..store.recorder import RunRecorder
from ..targets.base import Target
from .adaptive import AttackConfig, AttackRunResult, BehaviorOutcome, methods
from .adaptive.runner import _execute, _models, attackable
from .base import Attack, AttackVariant, registry

# AttackConfig fields an adaptive suite attack may set; None (the default) leaves the caller's value
SETTINGS = (
    "attacker",
    "judge",
    "max_queries",
    "max_attacker_tokens",
    "max_seconds",
    "run_max_queries",
    "run_max_attacker_tokens",
    "run_max_seconds",
    "target_tokens",
    "attacker_tokens",
    "judge_tokens",
    "attacker_temperature",
    "success_threshold",
)


class AdaptiveAttack(Attack):
    """A suite entry for an adaptive method; parameters are the method's and the loop settings (`SETTINGS`)."""

    family = "adaptive"
    adaptive: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        attack_config(self)  # bad values fail when the attack is created, before a run exists

    def variants(self, behavior: Behavior) -> list[AttackVariant]:
        raise ConfigError(
            f"{self.spec} is adaptive: it runs with the target in the loop (`redline scan`, `redline attack "
            f"--method {self.id}`), not as a planned conversation"
        )


def attack_config(attack: Attack, base: dict[str, Any] | None = None) -> AttackConfig:
    """The AttackConfig of an adaptive suite attack: `base` (the caller's settings), then the attack's own."""
    method = methods.get(attack.id)
    params = {k: v for k, v in attack.params.items() if k in method.defaults}
    given = {k: v for k, v in attack.params.items() if k not in method.defaults and v is not None}
    try:
        config = AttackConfig(method=attack.id, params=params, **{**(base or {}), **given})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{attack.spec}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    config.method_params()
    return config


def _make(name: str) -> type[AdaptiveAttack]:
    method = methods.get(name)
    cls = type(
        f"{name.capitalize()}Attack",
        (AdaptiveAttack,),
        {
            "id": name,
            "description": method.description,
            "defaults": {**method.defaults, **dict.fromkeys(SETTINGS)},
        },
    )
    return registry.register(name)(cls)


PairAttack = _make("pair")
TapAttack = _make("tap")
CrescendoAttack = _make("crescendo")


def run_adaptive_in_run(
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
    if not getattr(attack, "adaptive", False):
        raise ConfigError(f"{attack.spec} is not an adaptive attack")
    run = get_run(recorder.store, recorder.run_id)
    base = {"target": (run.config or {}).get("target", "local"), "seed": run.seed}
    config = attack_config(attack, {**base, **(settings or {})})
    judge = create_judge(verdict_judge) if verdict_judge is None or isinstance(verdict_judge, str) else verdict_judge
    tgt, atk, jdg = _models(config, target, attacker, judge_target, targets)
    return _execute(
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
