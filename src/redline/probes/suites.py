"""Suites: which behavior sets, which attacks, how many samples. Files in `probes/suites/*.yaml`."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..datafile import load_model
from ..errors import ConfigError
from .behavior import Behavior, builtin_probe_sets

SUITE_DIR = Path(__file__).parent / "suites"


class Suite(BaseModel):
    """A named scan recipe."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    runner: Literal["chat", "agentic"] = "chat"  # agentic: `redline scan` hands over to the agentic runner
    sets: list[str] = Field(default_factory=lambda: ["all"])
    categories: list[str] = Field(default_factory=list)
    per_category: int | None = None
    per_subcategory: int | None = None
    attacks: list[str] = Field(default_factory=lambda: ["identity"])
    samples: int = 1
    temperature: float = 0.0
    temperatures: list[float] = Field(default_factory=list)
    max_new_tokens: int = 128
    judge: str | None = None

    def behaviors(self) -> list[Behavior]:
        """The suite's behaviors, in a stable order, stratified when the suite says so (none for an agentic
        suite: its episodes come from the agent environments)."""
        if self.runner == "agentic":
            return []
        available = builtin_probe_sets()
        names = list(available) if self.sets == ["all"] else self.sets
        chosen: list[Behavior] = []
        for name in names:
            if name not in available:
                raise ConfigError(f"suite {self.name!r} names unknown probe set {name!r}")
            chosen.extend(available[name].behaviors)
        if self.categories:
            chosen = [b for b in chosen if b.category in self.categories]
        if self.per_subcategory:
            chosen = stratified(chosen, self.per_subcategory, by_subcategory=True)
        if self.per_category:
            chosen = stratified(chosen, self.per_category)
        return chosen


def _rank(behavior: Behavior) -> str:
    return hashlib.sha256(behavior.id.encode()).hexdigest()


def stratified(behaviors: list[Behavior], per_group: int, by_subcategory: bool = False) -> list[Behavior]:
    """Keep `per_group` behaviors per category (or subcategory), chosen by a stable hash, order kept."""
    groups: dict[tuple[str, ...], list[Behavior]] = {}
    for b in behaviors:
        key = (b.category, b.subcategory) if by_subcategory else (b.category,)
        groups.setdefault(key, []).append(b)
    keep = {b.id for group in groups.values() for b in sorted(group, key=_rank)[:per_group]}
    return [b for b in behaviors if b.id in keep]


def load_suite_file(path: Path) -> Suite:
    """A suite YAML file, validated (one line for every way it can be wrong)."""
    return load_model(path, Suite, "suite")


@cache
def builtin_suites() -> dict[str, Suite]:
    return {s.name: s for s in (load_suite_file(p) for p in sorted(SUITE_DIR.glob("*.yaml")))}


def get_suite(name_or_path: str) -> Suite:
    """A built-in suite by name, or a suite YAML file by path."""
    suites = builtin_suites()
    if name_or_path in suites:
        return suites[name_or_path]
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return load_suite_file(path)
    raise ConfigError(f"unknown suite {name_or_path!r} (known: {', '.join(sorted(suites))})")
