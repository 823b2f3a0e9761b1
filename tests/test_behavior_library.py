"""The built-in behavior library is large enough for the default gate to certify, and free of duplicates.

Counts go through the gate's own selection (`policy.metrics.matches` on attempt records built from the
`standard` suite's behaviors), so a threshold that selects by tag or category sees exactly these numbers.
The embedding-based near-duplicate check is `scripts/check_behaviors.py` (needs the sentence-embedding model).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from redline.policy.metrics import RECORD_METRIC, matches
from redline.policy.model import load_policy
from redline.probes.behavior import Behavior, builtin_probe_sets
from redline.probes.suites import get_suite
from redline.results import AttemptRecord
from redline.stats import attempts_to_certify

CBRN_DOMAINS = ("bio", "chem", "nuclear", "radiological")
MINIMUM = {"cbrn_uplift": 150, "cyber_uplift": 80, "harmful_content": 100, "privacy": 80, "over_refusal": 100}
PER_CBRN_DOMAIN = 30


def library() -> list[Behavior]:
    """Every behavior of the built-in sets except `starter` (a demo sample that repeats goals on purpose)."""
    return [b for name, s in builtin_probe_sets().items() if name != "starter" for b in s.behaviors]


def record(i: int, b: Behavior) -> AttemptRecord:
    """A scored identity attempt for a behavior, as the gate reads it from a run."""
    return AttemptRecord(
        attempt_id=i, run_id="library", behavior_id=b.id, category=b.category, subcategory=b.subcategory,
        expected=b.expected, goal=b.goal, behavior_data=b.to_data(), attack="identity", family="direct",
        variant="", sample=0, state="done", conversation=[], response="", decoded_response=None, error=None,
        tokens=0, latency_s=0.0, params={}, success=False,
    )


def selected(threshold_id: str) -> list[AttemptRecord]:
    """The standard suite's behaviors that the default policy's threshold selects (one attempt each)."""
    policy = load_policy()
    t = next(t for t in policy.thresholds if t.id == threshold_id)
    records = [record(i, b) for i, b in enumerate(get_suite("standard").behaviors())]
    return [r for r in records if r.metric in RECORD_METRIC[t.metric] and matches(r, t.select)]


def normalise(goal: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", goal.lower()).split())


def test_ids_are_unique_across_the_library() -> None:
    ids = [b.id for s in builtin_probe_sets().values() for b in s.behaviors]
    dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
    assert not dupes, dupes


@pytest.mark.parametrize("threshold_id", sorted(MINIMUM))
def test_gated_sets_meet_the_minimum_counts(threshold_id: str) -> None:
    n = len({r.behavior_id for r in selected(threshold_id)})
    assert n >= MINIMUM[threshold_id], (threshold_id, n)


def test_every_cbrn_domain_is_well_represented() -> None:
    records = selected("cbrn_uplift")
    per_domain = Counter(t for r in records for t in r.behavior_data["tags"] if t.startswith("domain:"))
    for domain in CBRN_DOMAINS:
        assert per_domain[f"domain:{domain}"] >= PER_CBRN_DOMAIN, (domain, per_domain)
    assert all(r.expected == "refuse" and r.category == "dangerous_capability" for r in records)


def test_elicited_thresholds_can_be_certified_by_the_library() -> None:
    """Per-behavior thresholds need `attempts_to_certify(limit)` behaviors with no failure to pass at all."""
    policy = load_policy()
    for t in policy.thresholds:
        if t.metric != "elicited":
            continue
        needed = attempts_to_certify(t.limit, policy.confidence, policy.interval)
        have = len({r.behavior_id for r in selected(t.id)})
        assert have >= max(needed, policy.min_attempts), (t.id, have, needed)


def test_domain_tags_match_subcategories() -> None:
    for b in library():
        if b.category != "dangerous_capability":
            continue
        domains = [t.removeprefix("domain:") for t in b.tags if t.startswith("domain:")]
        assert domains == [b.subcategory], b.id
        assert b.id.startswith("dc-"), b.id


def test_benign_look_alikes_cover_the_gated_domains() -> None:
    comply = Counter(b.subcategory for b in library() if b.expected == "comply" and b.category == "over_refusal")
    for sub in ("biosafety", "chemistry", "nuclear", "security", "privacy"):
        assert comply[sub] >= 8, (sub, comply[sub])


def test_goals_are_one_line_requests() -> None:
    for b in library():
        assert "\n" not in b.goal and b.goal == b.goal.strip(), b.id
        if b.secret:
            continue  # extraction prompts are literal user messages (e.g. a sentence for the model to finish)
        assert b.goal.endswith((".", "?")), b.id


def test_no_exact_or_normalised_duplicate_goals() -> None:
    seen: dict[str, str] = {}
    for b in library():
        key = normalise(b.goal)
        assert key not in seen, (b.id, seen.get(key))
        seen[key] = b.id


def test_fictional_people_only() -> None:
    """Email addresses in goals and system prompts use reserved example domains."""
    for b in library():
        for text in (b.goal, b.system or "", *b.turns):
            for domain in re.findall(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", text):
                assert domain.endswith(("example.com", "example.org", "example.net")), (b.id, domain)
