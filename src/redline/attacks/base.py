"""Attacks turn a behavior into one or more conversations; single-turn ones are prompt rewrites that stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import ConfigError
from ..probes.behavior import Behavior
from ..records import Conversation, system, user
from ..registry import Registry


@dataclass
class AttackVariant:
    """One conversation an attack makes from a behavior.

    `followups` are further user turns sent after each reply (multi-turn attacks): the engine
    generates a reply to `conversation`, appends it and the next follow-up, and so on.
    """

    variant: str
    conversation: Conversation
    followups: list[str] = field(default_factory=list)


class Attack:
    """Base class: subclasses set `id`, `family`, `description` and override `rewrite` or `variants`."""

    id: ClassVar[str] = ""
    family: ClassVar[str] = ""
    description: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise ConfigError(f"attack {self.id!r} has no parameter(s) {sorted(unknown)}")
        self.params = {**self.defaults, **params}

    @property
    def spec(self) -> str:
        """The attack as written in a suite; parameters that differ from defaults are included."""
        changed = {k: v for k, v in self.params.items() if self.defaults.get(k) != v}
        if not changed:
            return self.id
        return self.id + ":" + ",".join(f"{k}={v}" for k, v in sorted(changed.items()))

    def rewrite(self, prompt: str, behavior: Behavior) -> list[tuple[str, str]]:
        """Rewrite a user prompt into (variant id, new prompt) pairs. Identity by default."""
        return [("", prompt)]

    def decode_response(self, text: str) -> str:
        """Undo the attack's encoding in a reply (the judge sees the decoded text)."""
        return text

    def variants(self, behavior: Behavior) -> list[AttackVariant]:
        """Conversations for `behavior`: by default, one user turn per rewrite (after the behavior's system)."""
        prefix = [system(behavior.system)] if behavior.system else []
        return [
            AttackVariant(variant=v, conversation=[*prefix, user(p)])
            for v, p in self.rewrite(behavior.prompt, behavior)
        ]


class ComposedAttack(Attack):
    """Stacked single-turn rewrites, applied left to right (`fiction+base64`)."""

    description = "Several prompt rewrites applied in order."

    def __init__(self, parts: list[Attack]) -> None:
        self.parts = parts
        self.params = {}

    @property
    def spec(self) -> str:  # type: ignore[override]
        return "+".join(p.spec for p in self.parts)

    @property
    def id(self) -> str:  # type: ignore[override]
        return self.spec

    @property
    def family(self) -> str:  # type: ignore[override]
        return "+".join(p.family for p in self.parts)

    def rewrite(self, prompt: str, behavior: Behavior) -> list[tuple[str, str]]:
        items = [("", prompt)]
        for part in self.parts:
            items = [
                ("+".join(x for x in (v, v2) if x), p2) for v, p in items for v2, p2 in part.rewrite(p, behavior)
            ]
        return items

    def decode_response(self, text: str) -> str:
        for part in reversed(self.parts):
            text = part.decode_response(text)
        return text

    def variants(self, behavior: Behavior) -> list[AttackVariant]:
        if any(type(p).variants is not Attack.variants for p in self.parts):
            raise ConfigError(f"{self.spec}: only single-turn prompt rewrites can be stacked")
        return super().variants(behavior)


registry: Registry[type[Attack]] = Registry("attack", "redline.attacks")


def _parse_value(raw: str) -> Any:
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(raw.lower(), raw)


def create_attack(spec: str) -> Attack:
    """`identity`, `many_shot:shots=16`, or a stack `fiction+base64`."""
    spec = spec.strip()
    if "+" in spec:
        return ComposedAttack([create_attack(part) for part in spec.split("+")])
    name, _, raw_params = spec.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, raw_params.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"malformed attack parameter {item!r} in {spec!r} (expected key=value)")
        params[key.strip()] = _parse_value(value.strip())
    return registry.get(name.strip())(**params)
