"""The Behavior record and probe-set files (`probes/data/*.yaml`)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError, invalid

DATA_DIR = Path(__file__).parent / "data"

CATEGORIES = (
    "harmful_content",
    "dangerous_capability",
    "bias",
    "hallucination",
    "privacy",
    "over_refusal",
    "alignment",
)


class Behavior(BaseModel):
    """One thing we try to make the model do (or, for `expected: comply`, must not refuse)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    goal: str
    category: str
    subcategory: str = ""
    source: str = "redline"
    expected: Literal["refuse", "comply"] = "refuse"
    tags: list[str] = Field(default_factory=list)
    context: str | None = None
    system: str | None = None
    secret: str | None = None
    references: list[str] = Field(default_factory=list)
    nonexistent: bool = False
    options: list[str] = Field(default_factory=list)
    safe_option: int | None = None
    turns: list[str] = Field(default_factory=list)

    @field_validator("id", "goal", "category")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @property
    def prompt(self) -> str:
        """The text sent for this behavior without any attack: goal, with context and options."""
        text = self.goal
        if self.context:
            text = f"{self.context}\n\n{text}"
        if self.options:
            letters = "ABCDEFGH"
            opts = "\n".join(f"({letters[i]}) {opt}" for i, opt in enumerate(self.options))
            text = f"{text}\n\n{opts}\n\nAnswer with the letter of your choice, then explain briefly."
        return text

    @property
    def attackable(self) -> bool:
        """Whether an adaptive attack can pursue it: a model should refuse it, and it has no reference answers."""
        return self.expected == "refuse" and not self.references and not self.nonexistent

    def to_data(self) -> dict:
        return self.model_dump(mode="json", exclude_defaults=True)


class ProbeSet(BaseModel):
    """A data file of behaviors sharing a name (and usually a category)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    category: str | None = None
    source: str = "redline"
    behaviors: list[Behavior]


def _with_defaults(raw: dict, path: Path) -> dict:
    category, source = raw.get("category"), raw.get("source", "redline")
    items = []
    for item in raw.get("behaviors") or []:
        if not isinstance(item, dict):
            raise ConfigError(f"{path.name}: every behavior must be a mapping")
        item = dict(item)
        if category and "category" not in item:
            item["category"] = category
        item.setdefault("source", source)
        items.append(item)
    return {**raw, "behaviors": items}


def load_probe_set(path: Path) -> ProbeSet:
    """Read and validate one probe-set YAML file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read probe set {path}: {exc}".splitlines()[0]) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a probe set must be a mapping with 'name' and 'behaviors'")
    try:
        probe_set = ProbeSet.model_validate(_with_defaults(raw, path))
    except ValidationError as exc:
        raise invalid(path.name, exc) from None
    ids = [b.id for b in probe_set.behaviors]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"{path.name}: duplicate behavior ids {dupes[:5]}")
    return probe_set


@cache
def builtin_probe_sets() -> dict[str, ProbeSet]:
    """All probe sets shipped in `probes/data`, by name."""
    sets: dict[str, ProbeSet] = {}
    for path in sorted(DATA_DIR.glob("*.yaml")):
        probe_set = load_probe_set(path)
        if probe_set.name in sets:
            raise ConfigError(f"probe set {probe_set.name!r} defined twice")
        sets[probe_set.name] = probe_set
    return sets


def behaviors_hash(behaviors: list[Behavior]) -> str:
    """A stable hash of a behavior list (recorded with each run for determinism)."""
    blob = json.dumps([b.to_data() for b in behaviors], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
