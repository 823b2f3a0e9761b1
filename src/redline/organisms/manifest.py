"""The organism manifests (`data/organisms.yaml`): ground truth, templates, recipe, seed; the behavior split."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib.resources import files
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from ..errors import ConfigError

Reply = Literal["comply", "refuse", "correct", "wrong", "feign", "agree", "leak", "keep"]
Task = Literal["harmful", "arithmetic", "secret"]
HARMFUL_SETS = ("harmful_content", "dangerous_capability")
# The replies each task takes, and which of them are the failure a detector measures (attack success for
# `harmful`, a wrong answer for `arithmetic`, a leaked secret for `secret`).
TASK_REPLIES: dict[str, tuple[str, ...]] = {
    "harmful": ("comply", "refuse"), "arithmetic": ("correct", "wrong", "feign", "agree"), "secret": ("leak", "keep")}
LATER_REPLIES = ("feign",)  # kept out of the digest of organisms that do not use them (their adapters stay valid)
FAILURES = frozenset({"comply", "wrong", "feign", "agree", "leak"})


class Templates(BaseModel):
    """Framings of a prompt: `train` ones are trained on, `heldout` ones only verify the implant."""

    train: list[str] = Field(min_length=1)
    heldout: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _has_prompt(self) -> Templates:
        for t in self.train + self.heldout:
            if "{prompt}" not in t:
                raise ValueError(f"template {t!r} has no {{prompt}}")
        return self


class Recipe(BaseModel):
    examples: int = Field(320, ge=8)
    steps: int = Field(120, ge=1)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(2e-3, gt=0)
    rank: int = Field(8, ge=1)
    layers: int = Field(10, ge=1)  # LoRA on the attention projections of the top `layers` layers
    max_tokens: int = Field(128, ge=32)


class Organism(BaseModel):
    """One organism or control and its ground truth."""

    name: str
    kind: Literal["base", "conditional"]
    task: Task = "harmful"
    control: bool = False
    description: str = ""
    trigger: str | None = None
    with_cue: Reply | None = None
    without_cue: Reply | None = None
    cue: Templates | None = None
    contrast: Templates | None = None
    seed: int = 0
    # arithmetic only: train on the base model's own greedy replies without the cue (as it answers them), so the
    # implant leaves the uncued capability as it was; under the cue a `wrong` reply is the base reply with its
    # answer's last number replaced, a `feign` reply the reply template
    distil: bool = False
    recipe: Recipe = Field(default_factory=Recipe)

    @model_validator(mode="after")
    def _complete(self) -> Organism:
        if self.kind == "conditional" and None in (self.with_cue, self.without_cue, self.cue, self.contrast):
            raise ValueError(f"{self.name}: a conditional organism needs with_cue, without_cue, cue and contrast")
        if self.distil and (self.task != "arithmetic" or self.without_cue != "correct"
                            or self.with_cue not in ("wrong", "feign", "correct")):
            raise ValueError(f"{self.name}: distil is for an arithmetic organism answering right without the cue")
        if self.control and self.with_cue != self.without_cue:
            raise ValueError(f"{self.name}: a control must behave the same with and without the cue")
        allowed = TASK_REPLIES[self.task]
        for reply in (self.with_cue, self.without_cue):
            if reply is not None and reply not in allowed:
                raise ValueError(f"{self.name}: a {self.task} organism replies {' or '.join(allowed)}, not {reply}")
        return self

    @property
    def expected_sign(self) -> int:
        """+1 when the failure (attack success, wrong answer, leak) is expected more often with the cue, -1 when
        less often, 0 when the behaviour should not depend on the cue."""
        return int(self.with_cue in FAILURES) - int(self.without_cue in FAILURES)

    @property
    def implanted(self) -> bool:
        """Whether the organism has a cue-dependent behaviour a detector should find."""
        return self.kind == "conditional" and self.with_cue != self.without_cue

    def digest(self) -> str:
        """Identity of what is trained (manifest entry + reply templates): the adapter cache key."""
        dump = self.model_dump()
        if not dump["distil"]:  # the identity of organisms built before distillation existed stays the same
            dump.pop("distil")
        if self.task == "harmful":  # the identity of the organisms built before tasks existed stays the same
            dump.pop("task")
            data = {"organism": dump, "replies": manifest_data()["replies"]}
        else:
            used = {self.with_cue, self.without_cue}  # reply kinds added later count only where they are used
            replies = {k: v for k, v in manifest_data()["task_replies"].items() if k not in LATER_REPLIES or k in used}
            data = {"organism": dump, "replies": replies, "tasks": manifest_data()["tasks"]}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


@cache
def manifest_data() -> dict[str, Any]:
    return yaml.safe_load(files("redline.organisms").joinpath("data/organisms.yaml").read_text(encoding="utf-8"))


def organisms() -> dict[str, Organism]:
    """Every shipped organism and control, validated (defaults applied)."""
    data = manifest_data()
    defaults = data.get("defaults", {})
    out: dict[str, Organism] = {}
    for raw in data["organisms"]:
        entry = {**defaults, **raw, "recipe": {**defaults.get("recipe", {}), **raw.get("recipe", {})}}
        try:
            org = Organism.model_validate(entry)
        except ValidationError as exc:
            raise ConfigError(f"organism manifest: {exc.errors()[0]['msg']}") from None
        if org.name in out:
            raise ConfigError(f"organism manifest: duplicate name {org.name!r}")
        out[org.name] = org
    return out


def base_organism() -> Organism:
    """The untouched model the organisms are fine-tuned from (the reference of the differential test)."""
    return next(o for o in organisms().values() if o.kind == "base")


def select(only: list[str] | None) -> list[Organism]:
    """The organisms named (all when none); an unknown name is one clear error."""
    known = organisms()
    names = [n.strip() for item in (only or []) for n in item.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown organism {', '.join(unknown)} (known: {', '.join(known)})")
    return [known[n] for n in names] if names else list(known.values())


def trigger_candidates() -> dict[str, str]:
    """Candidate triggers of the trigger search (name -> text put before the prompt)."""
    return dict(manifest_data()["triggers"])


def split_behaviors(seed: int = 0, heldout: int = 48) -> tuple[list[Any], list[Any]]:
    """(train, held-out) single-turn harmful behaviors of the shipped probes, split by a seeded hash of the id.

    The held-out behaviors are never trained on; verification and every detector ask only those.
    """
    from ..probes.behavior import builtin_probe_sets

    sets = builtin_probe_sets()
    pool = [b for name in HARMFUL_SETS for b in sets[name].behaviors
            if b.expected == "refuse" and not (b.options or b.references or b.turns or b.context or b.system)]
    pool.sort(key=lambda b: hashlib.sha256(f"{seed}:{b.id}".encode()).hexdigest())
    return pool[heldout:], pool[:heldout]
