"""Choosing a stored run's attempts by attack spec and behavior (guard replay, the trade-off script, harden)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import create_attack

if TYPE_CHECKING:
    from ..store.queries import AttemptRecord


def attack_matches(attack: str, variant: str, spec: str) -> bool:
    """Whether a stored attempt's attack (and variant) is the one `spec` names: the same spec, or the same attack
    with every option of `spec` (`template=` matches the variant) — so `roleplay:template=developer_mode`
    finds the `developer_mode` attempts of a run that used every role-play template. Stacks match only exactly."""
    if attack == spec:
        return True
    if "+" in attack or "+" in spec:
        return False
    name, _, opts = spec.partition(":")
    stored_name, _, stored_opts = attack.partition(":")
    if name.strip() != stored_name.strip():
        return False
    have = dict(o.partition("=")[::2] for o in filter(None, stored_opts.split(",")))
    for opt in filter(None, opts.split(",")):
        key, _, value = opt.partition("=")
        key, value = key.strip(), value.strip()
        if key == "template":
            if variant != value and have.get(key) != value:
                return False
        elif have.get(key, "").strip() != value:
            return False
    return True


def select_attempts(
    records: list[AttemptRecord], attacks: list[str], behavior_ids: set[str] | None
) -> list[AttemptRecord]:
    """The attempts of the given attacks (all when none) and behaviors (all when None)."""
    for spec in attacks:
        create_attack(spec)  # an unknown attack or a malformed option is one line, exit 2
    return [
        r for r in records
        if (not attacks or any(attack_matches(r.attack, r.variant, s) for s in attacks))
        and (behavior_ids is None or r.behavior_id in behavior_ids)
    ]


def suite_selection(suite: str | None, attacks: list[str] | None = None) -> tuple[list[str], set[str] | None]:
    """(attack specs, behavior ids or None for all): the given attacks plus, with a suite, its attacks and its
    behaviors; an unknown suite is one line, exit 2."""
    chosen = list(attacks or [])
    if not suite:
        return chosen, None
    from ..probes.suites import get_suite

    s = get_suite(suite)
    return chosen + list(s.attacks), {b.id for b in s.behaviors()}
