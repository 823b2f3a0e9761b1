"""Suites and the built-in probe library meet the minimum counts; data are well formed."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from redline.attacks import create_attack
from redline.engine.scan import ScanConfig, make_plan
from redline.probes.behavior import CATEGORIES, builtin_probe_sets
from redline.probes.suites import builtin_suites, get_suite

CATEGORY_SETS = list(CATEGORIES)


def all_behaviors():  # noqa: ANN201
    return [b for name in CATEGORY_SETS for b in builtin_probe_sets()[name].behaviors]


def test_one_probe_set_per_category_with_matching_categories() -> None:
    sets = builtin_probe_sets()
    for name in CATEGORY_SETS:
        assert {b.category for b in sets[name].behaviors} == {name}


@pytest.mark.parametrize("suite", ["standard", "full"])
def test_standard_and_full_meet_minimum_counts(suite: str) -> None:
    counts = Counter(b.category for b in get_suite(suite).behaviors())
    assert set(counts) == set(CATEGORIES)
    for category in CATEGORIES:
        assert counts[category] >= 30, (category, counts[category])
    assert counts["over_refusal"] >= 60


def test_full_has_every_behavior_and_every_registered_attack() -> None:
    full = get_suite("full")
    assert {b.id for b in full.behaviors()} == {b.id for b in all_behaviors()}
    from redline.attacks import registry

    attacks = [create_attack(spec) for spec in full.attacks]
    used = {p.id for a in attacks for p in getattr(a, "parts", [a])}
    static = {
        name for name, cls in registry.items()
        if not getattr(cls, "adaptive", False) and not getattr(cls, "diagnostic", False)
    }
    # adaptive attackers (pair, tap, ...) need the target in the loop, not a suite; diagnostics (framing) are
    # asked with `--consistency`
    assert used == static


def test_standard_covers_every_attack_family() -> None:
    families = {create_attack(spec).family for spec in get_suite("standard").attacks}
    assert families >= {"direct", "roleplay", "fiction", "encoding", "smuggling", "many_shot", "multi_turn",
                        "suppression"}


def test_quick_is_a_small_stratified_default() -> None:
    quick = get_suite("quick")
    assert ScanConfig().suite == "quick"
    counts = Counter(b.category for b in quick.behaviors())
    assert set(counts) == set(CATEGORIES) and len(set(counts.values())) == 1
    plan = make_plan(ScanConfig(suite="quick"))
    assert 40 <= len(plan.items) <= 64
    assert [i.key for i in make_plan(ScanConfig()).items] == [i.key for i in plan.items]  # deterministic


def test_every_suite_plans() -> None:
    from redline.engine.agentic import AgenticConfig, plan_episodes

    for name, suite in builtin_suites().items():
        if suite.runner == "agentic":
            assert plan_episodes(AgenticConfig(suite=name)) and not suite.behaviors()
        else:
            assert make_plan(ScanConfig(suite=name)).items


def test_behavior_data_is_well_formed() -> None:
    items = all_behaviors()
    ids = [b.id for b in items]
    assert len(ids) == len(set(ids))
    goals = [b.goal.lower() for b in items]
    assert len(goals) == len(set(goals)), "duplicate goals across probe sets"
    for b in items:
        assert b.subcategory, b.id
        if b.category == "over_refusal":
            assert b.expected == "comply"
        if b.category in ("harmful_content", "dangerous_capability", "bias", "privacy"):
            assert b.expected == "refuse", b.id
        if b.category == "hallucination":
            assert b.references, b.id
        if b.category == "alignment":
            assert len(b.options) >= 2 and b.safe_option is not None and 0 <= b.safe_option < len(b.options)
        if b.secret:
            assert b.system and b.secret in b.system, b.id
        if b.turns:
            assert len(b.turns) >= 2


def test_category_specific_requirements() -> None:
    items = all_behaviors()
    dc = [b for b in items if b.category == "dangerous_capability"]
    domains = Counter(t for b in dc for t in b.tags if t.startswith("domain:"))
    assert set(domains) == {"domain:bio", "domain:chem", "domain:cyber", "domain:nuclear", "domain:radiological"}
    assert all(any(t.startswith("domain:") for t in b.tags) for b in dc)
    hal = [b for b in items if b.category == "hallucination"]
    subs = {b.subcategory for b in hal}
    assert {"medication", "law", "finance"} <= subs
    assert sum(b.nonexistent for b in hal) >= 5
    secrets = [b for b in items if b.secret]
    assert len(secrets) >= 10
    safe = Counter(b.safe_option for b in items if b.category == "alignment")
    assert max(safe.values()) - min(safe.values()) <= 4, "safe answers should not sit mostly in one position"


def test_probe_text_has_no_harmful_answers() -> None:
    """Probe files state goals only: no fabricated compliant answers or step lists in the data."""
    for b in all_behaviors():
        for text in [b.goal, *(b.turns or []), b.context or ""]:
            assert not re.search(r"(?m)^\s*(?:step\s*)?\d+[.)]\s", text), b.id
            assert not text.lower().startswith(("sure, here", "here is how")), b.id


def test_list_commands_show_counts(capsys: pytest.CaptureFixture) -> None:
    import json

    from redline.cli.main import main

    assert main(["list", "attacks", "--json"]) == 0
    attacks = {a["name"]: a for a in json.loads(capsys.readouterr().out)}
    assert attacks["roleplay"]["variants"] == "4" and attacks["many_shot"]["parameters"]["shots"] == 16
    assert attacks["base64"]["family"] == "encoding"
    assert main(["list", "suites", "--json"]) == 0
    suites = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert suites["quick"]["attempts"] == len(make_plan(ScanConfig(suite="quick")).items)
    assert suites["standard"]["categories"]["over_refusal"] >= 60
    assert main(["list", "probes"]) == 0
    assert "behaviors in" in capsys.readouterr().out
    assert main(["list", "nonsense"]) == 2
