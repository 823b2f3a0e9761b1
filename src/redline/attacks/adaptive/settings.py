"""The one settings model of an adaptive loop: per-behavior and per-run budgets, the models, decoding."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from ...errors import ConfigError
from ...targets.base import parse_target_spec
from .common import Budget, methods


class AdaptiveSettings(BaseModel):
    """Budgets (None = unlimited; seconds count model time) and loop options of the three roles."""

    model_config = ConfigDict(extra="forbid")

    attacker: str = "local"
    judge: str = "local"
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
    success_threshold: int | None = None  # also require the rubric score to reach this (None: verdict decides)
    seed: int = 0

    @field_validator("attacker", "judge")
    @classmethod
    def _no_inline_secret(cls, spec: str) -> str:
        parse_target_spec(spec)  # one refusal rule for every spec: keys come from the environment
        return spec

    def budgets(self) -> tuple[Budget, Budget]:
        """(per-behavior budget, per-run budget)."""
        return (
            Budget(self.max_queries, self.max_attacker_tokens, self.max_seconds),
            Budget(self.run_max_queries, self.run_max_attacker_tokens, self.run_max_seconds),
        )


# budget fields may be raised when a run resumes; an attack in a suite may set every field but the seed
BUDGET_FIELDS = tuple(name for name in AdaptiveSettings.model_fields if "max_" in name)
ATTACK_SETTINGS = tuple(name for name in AdaptiveSettings.model_fields if name != "seed")


def method_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A method's parameters: its defaults updated by `params`, each checked against the default's type."""
    defaults = methods.get(method).defaults
    unknown = set(params) - set(defaults)
    if unknown:
        raise ConfigError(f"{method} has no parameter(s) {sorted(unknown)} (known: {sorted(defaults)})")
    for key, value in params.items():
        default = defaults[key]
        numeric = (int,) if isinstance(default, int) else (int, float) if isinstance(default, float) else None
        if numeric and (isinstance(value, bool) or not isinstance(value, numeric) or value < 0):
            raise ConfigError(f"{method} parameter {key} must be a non-negative number, got {value!r}")
    return {**defaults, **params}
