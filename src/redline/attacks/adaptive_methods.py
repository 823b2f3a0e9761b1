"""PAIR, TAP and Crescendo as attacks a suite or `--attack` can name (`pair:streams=1,max_queries=4`).

They need the target in the loop, so a scan's plan sets them apart and the engine runs them after its
static conversations (`engine/adaptive.py`). Parameters are the method's plus the loop settings
(`AdaptiveSettings`, all but the seed, which is the run's).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ValidationError

from ..errors import ConfigError, invalid
from ..probes.behavior import Behavior
from .adaptive import methods
from .adaptive.settings import ATTACK_SETTINGS, AdaptiveSettings, method_params
from .base import Attack, AttackVariant, registry


class AdaptiveAttack(Attack):
    """A suite entry for an adaptive method; bad parameters fail when it is created, before a run exists."""

    family = "adaptive"
    adaptive: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        try:
            AdaptiveSettings(**self.settings())
        except ValidationError as exc:
            raise invalid(self.spec, exc) from None
        self.method_params()

    def method_params(self) -> dict[str, Any]:
        """The method's parameters (its defaults updated by those given)."""
        defaults = methods.get(self.id).defaults
        return method_params(self.id, {k: v for k, v in self.params.items() if k in defaults})

    def settings(self) -> dict[str, Any]:
        """The loop settings this entry sets (None leaves the caller's value)."""
        defaults = methods.get(self.id).defaults
        return {k: v for k, v in self.params.items() if k not in defaults and v is not None}

    def variants(self, behavior: Behavior) -> list[AttackVariant]:
        raise ConfigError(
            f"{self.spec} is adaptive: it runs with the target in the loop (`redline scan`, `redline attack "
            f"--method {self.id}`), not as a planned conversation"
        )


def _make(name: str) -> type[AdaptiveAttack]:
    method = methods.get(name)
    cls = type(
        f"{name.capitalize()}Attack",
        (AdaptiveAttack,),
        {
            "id": name,
            "description": method.description,
            "defaults": {**method.defaults, **dict.fromkeys(ATTACK_SETTINGS)},
        },
    )
    return registry.register(name)(cls)


PairAttack = _make("pair")
TapAttack = _make("tap")
CrescendoAttack = _make("crescendo")
