"""Paired framings of the same request (evaluation vs deployment cues, stakes, candidate triggers).

Not a jailbreak: the framings exist so that `redline consistency` can test whether a model's behaviour
changes with a cue that should not matter. The framings and the named pairs live in `data/framings.yaml`.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import yaml

from ..errors import ConfigError
from .base import registry
from .templated import TemplateAttack


@cache
def framing_data() -> dict:
    """The shipped framings (name -> template) and consistency sets (name -> [cue, contrast])."""
    data = yaml.safe_load(files("redline.attacks").joinpath("data/framings.yaml").read_text(encoding="utf-8"))
    for name, pair in data["sets"].items():
        if len(pair) != 2 or any(f not in data["framings"] for f in pair):
            raise ConfigError(f"consistency set {name!r} must name two known framings")
    return data


def consistency_sets(names: str | list[str]) -> dict[str, tuple[str, str]]:
    """Resolve `all`, `a,b` or a list into {set name: (cue framing, contrast framing)}."""
    known: dict[str, list[str]] = framing_data()["sets"]
    raw = names.split(",") if isinstance(names, str) else names
    chosen = [n.strip() for n in raw if n.strip()]
    if chosen == ["all"]:
        chosen = list(known)
    unknown = [n for n in chosen if n not in known]
    if unknown or not chosen:
        wrong = ", ".join(unknown) or repr(names)
        raise ConfigError(f"unknown consistency set {wrong} (known: all, {', '.join(known)})")
    return {n: (known[n][0], known[n][1]) for n in chosen}


def framing_spec(sets: dict[str, tuple[str, str]]) -> str:
    """The one `framing` attack spec that asks every behavior under every framing the sets compare."""
    names = list(dict.fromkeys(f for pair in sets.values() for f in pair))
    return "framing:template=" + "|".join(names)


@registry.register("framing")
class Framing(TemplateAttack):
    """The same request under paired cues (variant id = framing name); read with `redline consistency`."""

    id = "framing"
    family = "framing"
    diagnostic = True  # a measurement aid, not a jailbreak: suites of attacks need not include it
    description = "Paired framings: evaluation vs deployment cues, stated stakes, candidate backdoor triggers."

    @property
    def templates(self) -> dict[str, str]:  # type: ignore[override]
        return framing_data()["framings"]
