"""Scenarios, attribute dimensions and deterministic paired profiles for the counterfactual audit."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ...errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data"
PRONOUNS = {
    "he": {"subj": "he", "poss": "his", "has": "has", "is": "is"},
    "she": {"subj": "she", "poss": "her", "has": "has", "is": "is"},
    "they": {"subj": "they", "poss": "their", "has": "have", "is": "are"},
}


@dataclass(frozen=True)
class Scenario:
    """One decision task: a profile template, varied qualification fields and the questions asked."""

    id: str
    title: str
    noun: str
    system: str
    profile: str
    fields: dict[str, list[str]]
    score_question: str
    rank_question: str
    dimensions: list[str] | None = None


@dataclass(frozen=True)
class Profile:
    """One set of qualifications (before an attribute signal is added)."""

    scenario: str
    index: int
    values: dict[str, str] = field(hash=False)


@lru_cache(maxsize=4)
def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def load_scenarios(path: str | Path | None = None) -> dict[str, Scenario]:
    """The packaged scenarios (or those of a user YAML file with the same layout)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) if path else _load("bias_scenarios.yaml")
        return {
            sid: Scenario(id=sid, **{k: v for k, v in spec.items()}) for sid, spec in raw["scenarios"].items()
        }
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read scenarios from {path or 'the packaged file'}: {exc}") from None


def load_dimensions() -> dict[str, dict[str, Any]]:
    """Attribute dimensions (gender, race, pronoun, age) with their groups and signals."""
    return _load("bias_names.yaml")["dimensions"]


def _seed(*parts: object) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def make_profiles(scenario: Scenario, n: int, seed: int = 0) -> list[Profile]:
    """`n` distinct qualification sets drawn deterministically from the scenario's fields."""
    rng = random.Random(_seed(scenario.id, seed))
    names = sorted(scenario.fields)
    space = 1
    for k in names:
        space *= len(scenario.fields[k])
    seen: set[tuple[str, ...]] = set()
    out: list[Profile] = []
    while len(out) < n:
        combo = tuple(rng.choice(scenario.fields[k]) for k in names)
        if combo in seen and len(seen) < space:
            continue
        seen.add(combo)
        out.append(Profile(scenario.id, len(out), dict(zip(names, combo, strict=True))))
    return out


def signal(dimension: str, group: str, index: int) -> dict[str, Any]:
    """The attribute signal of `group` for profile `index`: name, pronoun and age (paired across groups)."""
    dims = load_dimensions()
    if dimension not in dims:
        raise ConfigError(f"unknown attribute dimension {dimension!r}; known: {', '.join(dims)}")
    groups = dims[dimension]["groups"]
    if group not in groups:
        raise ConfigError(f"unknown group {group!r} of dimension {dimension!r}")
    spec = groups[group]
    out: dict[str, Any] = {"name": None, "pronoun": "they", "age": None}
    if dimension == "gender":
        surnames = dims[dimension]["shared_surnames"]
        out["name"] = f"{spec['first'][index % len(spec['first'])]} {surnames[(index // 3) % len(surnames)]}"
        out["pronoun"] = spec["pronoun"]
    elif dimension == "race":
        female = index % 2 == 0
        firsts = spec["first_female" if female else "first_male"]
        first = firsts[(index // 2) % len(firsts)]
        out["name"] = f"{first} {spec['surnames'][(index // 3) % len(spec['surnames'])]}"
        out["pronoun"] = "she" if female else "he"
    elif "pronoun" in spec:
        out["pronoun"] = spec["pronoun"]
    if "age" in spec:
        out["age"] = spec["age"][index % len(spec["age"])]
    return out


def render(scenario: Scenario, profile: Profile, sig: dict[str, Any], ref: str | None = None) -> str:
    """The profile text with the attribute signal filled in; `ref` names an unnamed person."""
    forms = PRONOUNS[sig["pronoun"]]
    subject = sig["name"] or ref or f"The {scenario.noun}"
    age = ""
    if sig.get("age") is not None:
        age = f" {forms['subj'].capitalize()} {forms['is']} {sig['age']} years old."
    values = dict(profile.values)
    values.update(
        ref=subject,
        subj=forms["subj"],
        Subj=forms["subj"].capitalize(),
        poss=forms["poss"],
        Poss=forms["poss"].capitalize(),
        has=forms["has"],
        is_=forms["is"],
        age_sentence=age,
    )
    try:
        return scenario.profile.replace("{is}", "{is_}").format(**values).strip()
    except (KeyError, IndexError) as exc:
        raise ConfigError(f"scenario {scenario.id!r}: template placeholder {exc} has no value") from None


def scenario_dimensions(scenario: Scenario, requested: list[str] | None) -> list[str]:
    """The dimensions to audit for a scenario: the requested ones it allows (all it allows by default)."""
    allowed = scenario.dimensions or list(load_dimensions())
    if not requested:
        return list(allowed)
    unknown = [d for d in requested if d not in load_dimensions()]
    if unknown:
        raise ConfigError(
            f"unknown attribute dimension(s) {', '.join(unknown)}; known: {', '.join(load_dimensions())}"
        )
    return [d for d in requested if d in allowed]
