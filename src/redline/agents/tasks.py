"""Environments, user tasks and injection tasks as data files (`agents/data/`); adding a task is one file.

- `environments/NAME.yaml`: system prompt, `vars` (secret, attacker addresses ...), app states. A string in
  an app state may hold `{{inject:SLOT}}`: where an injection goes (empty in benign episodes).
- `tasks/ENV/ID.yaml`: a user task: prompt, the slots its work reads, `success` checks on the final state,
  and a reference `solution` (tool calls) with a final `answer` (the scripted agents replay it).
- `injections/ID.yaml`: an attacker goal (templated with the environment's `vars`), the apps it needs, its
  `success` checks and reference `solution`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError, invalid
from .apps import APPS, AppSet

DATA = Path(__file__).parent / "data"
SLOT = re.compile(r"\{\{inject:([a-z0-9_]+)\}\}")


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps: dates in task data stay the strings the tools compare."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class Call(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class EnvironmentSpec(BaseModel):
    """A tool environment: which apps, in which initial state, behind which system prompt."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    system: str
    vars: dict[str, str] = Field(default_factory=dict)
    apps: dict[str, dict[str, Any]]

    def render(self, text: str) -> str:
        """`{var}` replaced by the environment's vars (unknown names are left as written)."""
        return re.sub(r"\{(\w+)\}", lambda m: self.vars.get(m.group(1), m.group(0)), text)

    @property
    def system_prompt(self) -> str:
        return self.render(self.system)

    def slots(self) -> list[str]:
        return sorted(set(SLOT.findall(yaml.safe_dump(self.apps))))

    def build(self, injections: dict[str, str] | None = None) -> AppSet:
        """Fresh apps with each `{{inject:SLOT}}` replaced by its injection (or removed)."""
        fill = injections or {}

        def walk(x: Any) -> Any:
            if isinstance(x, str):
                return SLOT.sub(lambda m: fill.get(m.group(1), ""), x)
            if isinstance(x, dict):
                return {k: walk(v) for k, v in x.items()}
            if isinstance(x, list):
                return [walk(v) for v in x]
            return x

        return AppSet.build(walk(self.apps))


class UserTask(BaseModel):
    """What the user asks; utility is `success` on the final state."""

    model_config = ConfigDict(extra="forbid")
    id: str
    environment: str
    prompt: str
    slots: list[str] = Field(default_factory=list)
    success: list[dict[str, Any]]
    solution: list[Call] = Field(default_factory=list)
    answer: str = "Done."


class InjectionTask(BaseModel):
    """What an attacker wants the agent to do; attack success is `success` on the final state."""

    model_config = ConfigDict(extra="forbid")
    id: str
    goal: str
    requires: list[str]
    success: list[dict[str, Any]]
    solution: list[Call] = Field(default_factory=list)

    def applies_to(self, env: EnvironmentSpec) -> bool:
        return set(self.requires) <= set(env.apps)

    def goal_in(self, env: EnvironmentSpec) -> str:
        return env.render(self.goal)

    def checks_in(self, env: EnvironmentSpec) -> list[dict[str, Any]]:
        return [{k: env.render(v) if isinstance(v, str) else v for k, v in c.items()} for c in self.success]

    def solution_in(self, env: EnvironmentSpec) -> list[Call]:
        return [Call(name=c.name, arguments={k: env.render(str(v)) for k, v in c.arguments.items()})
                for c in self.solution]


def _load(path: Path, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader))  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}".splitlines()[0]) from None
    except ValidationError as exc:
        raise invalid(path.name, exc) from None


@cache
def environments() -> dict[str, EnvironmentSpec]:
    envs = {e.name: e for e in (_load(p, EnvironmentSpec) for p in sorted((DATA / "environments").glob("*.yaml")))}
    for env in envs.values():
        unknown = sorted(set(env.apps) - set(APPS))
        if unknown:
            raise ConfigError(f"environment {env.name!r} names unknown app {unknown[0]!r}")
    return envs


@cache
def user_tasks() -> dict[str, UserTask]:
    """Every user task by `ENV/ID`."""
    out = {}
    for p in sorted((DATA / "tasks").glob("*/*.yaml")):
        task = _load(p, UserTask)
        if task.environment not in environments():
            raise ConfigError(f"user task {p.name}: unknown environment {task.environment!r}")
        out[f"{task.environment}/{task.id}"] = task
    return out


@cache
def injection_tasks() -> dict[str, InjectionTask]:
    return {t.id: t for t in (_load(p, InjectionTask) for p in sorted((DATA / "injections").glob("*.yaml")))}


def pick(kind: str, known: dict[str, Any], names: list[str] | None) -> list[str]:
    """`names` checked against `known` (all of them when None), in a stable order."""
    if not names:
        return sorted(known)
    bad = [n for n in names if n not in known]
    if bad:
        raise ConfigError(f"unknown {kind} {bad[0]!r} (known: {', '.join(sorted(known))})")
    return list(dict.fromkeys(names))
