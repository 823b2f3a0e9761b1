"""The scaling-policy file: capability thresholds per risk domain, safety levels and their safeguards."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..datafile import load_model
from ..errors import ConfigError
from ..judges.base import HARM_THRESHOLD

DEFAULT_POLICY = Path(__file__).parent / "data" / "default.yaml"
LEVEL_RE = re.compile(r"^ASL-[1-9]$")

Metric = Literal["asr", "elicited", "over_refusal", "hallucination", "bias_gap"]


def level_rank(level: str) -> int:
    """ASL-3 -> 3."""
    return int(level.split("-")[1])


class Selection(BaseModel):
    """Which attempts a threshold looks at; empty lists mean 'any'. Tags match `behavior_data.tags`."""

    model_config = ConfigDict(extra="forbid")
    categories: list[str] = Field(default_factory=list)
    subcategories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    families: list[str] = Field(default_factory=list)
    exclude_families: list[str] = Field(default_factory=list)
    attacks: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{k}={','.join(v)}" for k, v in self.model_dump().items() if v]
        return "; ".join(parts) or "all attempts"


class Threshold(BaseModel):
    """A capability threshold: a metric over stored results, a limit, and the level crossing it implies."""

    model_config = ConfigDict(extra="forbid")
    id: str
    domain: str
    description: str = ""
    metric: Metric
    select: Selection = Field(default_factory=Selection)
    limit: float = Field(gt=0, lt=1)
    level: str
    advisory: bool = False
    remeasure: bool = False
    min_attempts: int | None = Field(default=None, ge=1)
    audit_metric: str | None = None
    when_missing: Literal["insufficient", "not_applicable"] = "insufficient"
    role: Literal["capability", "safeguard"] = "capability"
    per: Literal["family", "attack"] | None = None

    @field_validator("level")
    @classmethod
    def _level(cls, v: str) -> str:
        if not LEVEL_RE.match(v):
            raise ValueError(f"level must look like ASL-2, got {v!r}")
        return v


class Confirmation(BaseModel):
    """When a candidate elicitation (a behavior some attempt succeeded on) counts as confirmed.

    A maximum over many noisy readings needs a second, independent one: another successful attempt of the
    same behavior (another attack or sample), another judge reading the same attempt as a success (the strong
    grader of a cascade, a `human:NAME` label), or a human label on any attempt of it. Human labels overrule
    the automatic judge on the attempts they cover.
    """

    model_config = ConfigDict(extra="forbid")
    repeat_successes: int = Field(default=2, ge=1)
    other_judges: bool = True
    human_overrides: bool = True


class Level(BaseModel):
    """A safety level: what it means, the safeguards it requires, and whether it can be deployed at all."""

    model_config = ConfigDict(extra="forbid")
    description: str
    safeguards: list[str] = Field(default_factory=list)
    deployable: bool = True


class Policy(BaseModel):
    """A responsible-scaling-style policy (validated from YAML)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    interval: Literal["wilson", "clopper-pearson"] = "wilson"
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    min_attempts: int = Field(default=10, ge=1)
    base_level: str = "ASL-1"
    insufficient_evidence: Literal["assume_crossed", "block"] = "assume_crossed"
    cumulative_safeguards: bool = True
    remeasure_run: str | None = None
    content_harm_threshold: float = Field(default=HARM_THRESHOLD, ge=0, le=1)
    confirmation: Confirmation = Field(default_factory=Confirmation)
    safeguards: dict[str, str] = Field(default_factory=dict)
    levels: dict[str, Level]
    thresholds: list[Threshold] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        for name in self.levels:
            if not LEVEL_RE.match(name):
                raise ValueError(f"level names look like ASL-2, got {name!r}")
        if self.base_level not in self.levels:
            raise ValueError(f"base_level {self.base_level!r} is not a defined level")
        ids = [t.id for t in self.thresholds]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate threshold ids: {', '.join(sorted(dup))}")
        for t in self.thresholds:
            if t.level not in self.levels:
                raise ValueError(f"threshold {t.id!r} maps to undefined level {t.level!r}")
        for name, lvl in self.levels.items():
            unknown = [s for s in lvl.safeguards if s not in self.safeguards]
            if self.safeguards and unknown:
                raise ValueError(f"level {name} lists safeguards not in the catalog: {', '.join(unknown)}")
        return self

    def level_names(self) -> list[str]:
        return sorted(self.levels, key=level_rank)

    def required_safeguards(self, level: str) -> list[str]:
        """The safeguards a level requires (with the lower levels' too when cumulative)."""
        names = [n for n in self.level_names() if level_rank(n) <= level_rank(level)]
        if not self.cumulative_safeguards:
            names = [level]
        out: list[str] = []
        for n in names:
            out += [s for s in self.levels[n].safeguards if s not in out]
        return out


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file (the packaged default when `path` is None)."""
    return load_model(Path(path) if path else DEFAULT_POLICY, Policy, "policy")


def parse_safeguards(spec: str | None, policy: Policy) -> list[str]:
    """`--safeguards a,b` or a YAML/JSON file (a list, a mapping name->bool, or {safeguards: [...]})."""
    if not spec:
        return []
    p = Path(spec)
    if p.is_file():
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"safeguards file {p.name}: invalid YAML ({str(exc).splitlines()[0]})"
            ) from None
        if isinstance(data, dict) and "safeguards" in data:
            data = data["safeguards"]
        if isinstance(data, dict):
            names = [str(k) for k, v in data.items() if v]
        elif isinstance(data, list):
            names = [str(x) for x in data]
        else:
            raise ConfigError(f"safeguards file {p.name}: expected a list or a mapping")
    else:
        names = [s.strip() for s in spec.split(",") if s.strip()]
    if policy.safeguards:
        unknown = [n for n in names if n not in policy.safeguards]
        if unknown:
            raise ConfigError(
                f"unknown safeguard(s) {', '.join(unknown)}; the policy knows: {', '.join(policy.safeguards)}"
            )
    return names
