"""Adaptive methods as suite attacks (`pair`, `tap`, `crescendo`), and running them inside a scan run.

The scan engine plans static conversations; these attacks need the target in the loop, so they run
through `run_adaptive_in_run` (used by `redline elicit --stack`), which stores their best attempts in
the same run as the static ones (attack = method, family = adaptive).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..errors import ConfigError
from ..judges.base import create_judge
from ..probes.behavior import Behavior
from ..store.db import Store
from ..targets.base import Target
from .adaptive import AttackConfig, AttackRunResult, methods
from .adaptive.runner import _execute
from .base import Attack, AttackVariant, registry


class AdaptiveAttack(Attack):
    """A suite entry for an adaptive method; parameters are the method's (e.g. `pair:streams=2`)."""

    family = "adaptive"
    adaptive: ClassVar[bool] = True

    def variants(self, behavior: Behavior) -> list[AttackVariant]:
        raise ConfigError(
            f"{self.spec} is adaptive: run it with `redline attack --method {self.id}` or "
            "`redline elicit RUN --stack`, not as a static scan attack"
        )


def _make(name: str) -> type[AdaptiveAttack]:
    method = methods.get(name)
    cls = type(
        f"{name.capitalize()}Attack",
        (AdaptiveAttack,),
        {"id": name, "description": method.description, "defaults": dict(method.defaults)},
    )
    return registry.register(name)(cls)


PairAttack = _make("pair")
TapAttack = _make("tap")
CrescendoAttack = _make("crescendo")


def run_adaptive_in_run(
    store: Store,
    run_id: str,
    behaviors: list[Behavior],
    attack: Attack,
    target: Target,
    *,
    attacker: Target | None = None,
    judge_target: Target | None = None,
    verdict_judge: str | None = None,
    settings: dict[str, Any] | None = None,
) -> AttackRunResult:
    """Run one adaptive attack over `behaviors` of an existing run (its behavior rows must exist)."""
    if not getattr(attack, "adaptive", False):
        raise ConfigError(f"{attack.spec} is not an adaptive attack")
    config = AttackConfig(method=attack.id, params=dict(attack.params), **(settings or {}))
    judge = create_judge(verdict_judge)
    refuse = [b for b in behaviors if b.expected == "refuse" and not b.references and not b.nonexistent]
    return _execute(
        store,
        run_id,
        config,
        methods.get(attack.id),
        config.method_params(),
        refuse,
        judge,
        target,
        attacker or target,
        judge_target or target,
        True,
        None,
    )
