"""AgentDojo's three numbers per group: benign utility, utility under attack, targeted attack success rate.

Each is a rate from `redline.metrics.clustered_rate` (intervals clustered by user task: episodes of one task
share its environment and prompt, so they are not independent evidence).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..metrics import Rate, clustered_rate

GROUPINGS = ("defence", "environment", "family")


@dataclass(frozen=True)
class EpisodeRow:
    """One stored episode as the metrics need it."""

    user_task: str
    environment: str
    defence: str
    family: str  # `none` for benign episodes
    attacked: bool
    utility: bool | None
    attack_success: bool | None
    state: str = "ok"

    @classmethod
    def of(cls, info: dict[str, Any], state: str = "ok") -> EpisodeRow:
        return cls(info["user_task"], info["env"], info["defence"], info.get("family") or "none",
                   bool(info.get("injection")), info.get("utility"), info.get("attack_success"), state)


@dataclass(frozen=True)
class _Point:
    behavior_id: str
    state: str
    success: bool | None


def _rate(rows: Iterable[EpisodeRow], value: Callable[[EpisodeRow], bool | None]) -> Rate:
    return clustered_rate([_Point(r.user_task, r.state, value(r)) for r in rows])


def three_numbers(rows: list[EpisodeRow]) -> dict[str, Rate]:
    benign = [r for r in rows if not r.attacked]
    attacked = [r for r in rows if r.attacked]
    return {
        "benign_utility": _rate(benign, lambda r: r.utility),
        "utility_under_attack": _rate(attacked, lambda r: r.utility),
        "targeted_asr": _rate(attacked, lambda r: r.attack_success),
    }


def agentic_metrics(rows: list[EpisodeRow]) -> dict[str, Any]:
    """Overall and per defence, per (defence, environment) and per (defence, injection family)."""
    out: dict[str, Any] = {"overall": {k: v.to_dict() for k, v in three_numbers(rows).items()}}
    keys = {
        "defence": lambda r: r.defence,
        "defence_environment": lambda r: f"{r.defence}/{r.environment}",
        "defence_family": lambda r: f"{r.defence}/{r.family}",
    }
    for name, key in keys.items():
        groups: dict[str, list[EpisodeRow]] = {}
        for r in rows:
            if name == "defence_family" and not r.attacked:
                continue
            groups.setdefault(key(r), []).append(r)
        if name == "defence_family":  # benign utility of a family is the defence's own
            for g, members in groups.items():
                members.extend(r for r in rows if not r.attacked and r.defence == g.split("/")[0])
        out[name] = {g: {k: v.to_dict() for k, v in three_numbers(m).items()} for g, m in sorted(groups.items())}
    return out
