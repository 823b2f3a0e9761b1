"""A helper base for attacks that wrap the prompt in one of several named templates (one variant each)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..errors import ConfigError
from ..probes.behavior import Behavior
from .base import Attack


class TemplateAttack(Attack):
    """Wraps the prompt in templates holding `{prompt}`; `template=all` (default) gives one variant each.

    Choose some with `template=name` or `template=a|b`.
    """

    templates: ClassVar[dict[str, str]] = {}
    defaults: ClassVar[dict[str, Any]] = {"template": "all"}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.chosen = self._choose(str(self.params["template"]))

    def _choose(self, raw: str) -> list[str]:
        if raw == "all":
            return list(self.templates)
        names = [n.strip() for n in raw.split("|") if n.strip()]
        unknown = [n for n in names if n not in self.templates]
        if unknown or not names:
            known = ", ".join(self.templates)
            raise ConfigError(f"attack {self.id!r} has no template {raw!r} (known: all, {known})")
        return names

    def rewrite(self, prompt: str, behavior: Behavior) -> list[tuple[str, str]]:
        return [(name, self.templates[name].replace("{prompt}", prompt)) for name in self.chosen]
