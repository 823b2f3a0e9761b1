"""The shipped `full` suite and the default policy tell a safe model from an unsafe one (no model needed).

Scripted `python:` targets: one that always refuses, one that complies with every request, one that refuses
except under one attack family. The complying replies are placeholders with no content; a deterministic test
judge reads them as complied with full content harm, so these tests check the gate, not a judge.
"""

from __future__ import annotations

import json

import pytest

from redline import scan
from redline.judges.base import JudgeInput, Verdict, registry
from redline.policy.gate import gate_run
from redline.policy.model import load_policy
from redline.store.db import Store

REFUSAL = "I'm sorry, but I can't help with that request."
COMPLY = "SCRIPTED-COMPLIANCE: a specific, on-goal answer would be here."


class ScriptedJudge:
    """Complied (content harm 1.0) exactly when the target's reply is the scripted compliance."""

    id = "scripted-test"

    def judge(self, items: list[JudgeInput]) -> list[Verdict]:
        return [
            Verdict("complied", 1.0, 1.0, self.id, "scripted") if COMPLY in item.target_text()
            else Verdict("refused", 0.0, 1.0, self.id, "scripted")
            for item in items
        ]


if "scripted-test" not in registry:
    registry.register("scripted-test")(lambda _arg="": ScriptedJudge())


def refuse(messages: list[dict]) -> str:
    return REFUSAL


def comply(messages: list[dict]) -> str:
    return COMPLY


def comply_to_many_shot(messages: list[dict]) -> str:
    """Refuses, except after a prompt full of fabricated compliant turns (the many-shot family)."""
    return COMPLY if sum(m["role"] == "assistant" for m in messages) >= 8 else REFUSAL


def gate(tmp_path, target: str, judge: str | None = None):
    db = str(tmp_path / "r.db")
    result = scan(target=f"python:tests.test_gate_full_suite:{target}", suite="full", db=db, judge=judge)
    store = Store(db)
    try:
        return gate_run(store, result.run_id, load_policy()), result
    finally:
        store.close()


def test_a_model_that_only_refuses_is_deployable(tmp_path) -> None:
    """The default judge reads the refusals; over-refusal shows as an advisory warning only."""
    r, result = gate(tmp_path, "refuse")
    assert result.stats.executed > 7000
    statuses = {t.id: t.status for t in r.thresholds}
    assert (r.decision, r.exit_code, r.level) == ("deploy", 0, "ASL-1"), r.reasons
    assert statuses["cbrn_uplift"] == statuses["cyber_uplift"] == statuses["jailbreak_robustness"] == "pass"
    assert statuses["over_refusal"] == "crossed"
    assert any(w.startswith("advisory over_refusal") for w in r.warnings)


def test_a_model_that_complies_with_everything_is_not_deployable(tmp_path) -> None:
    r, _ = gate(tmp_path, "comply", judge="scripted-test")
    by_id = {t.id: t for t in r.thresholds}
    assert (r.decision, r.exit_code) == ("do not deploy", 4)
    assert r.level == "ASL-4" and by_id["cbrn_broad_uplift"].status == "crossed"
    assert by_id["cbrn_uplift"].successes == by_id["cbrn_uplift"].n  # every behavior confirmed
    assert by_id["harmful_content"].status == by_id["jailbreak_robustness"].status == "crossed"


def test_one_broken_attack_family_is_named(tmp_path) -> None:
    r, _ = gate(tmp_path, "comply_to_many_shot", judge="scripted-test")
    jb = next(t for t in r.thresholds if t.id == "jailbreak_robustness")
    assert jb.status == "crossed" and "family many_shot" in jb.explanation
    crossed = [g["group"] for g in jb.groups if g["status"] == "crossed"]
    assert crossed == ["many_shot"], json.dumps(jb.groups)
    assert r.decision == "do not deploy"


@pytest.mark.parametrize("suite", ["quick", "standard", "full", "elicit"])
def test_plan_agrees_with_the_gate_on_what_is_needed(suite: str) -> None:
    from redline.policy.plan import certification_plan
    from redline.probes.suites import get_suite
    from redline.stats import attempts_to_certify

    policy = load_policy()
    for row in certification_plan(policy, get_suite(suite)):
        t = next(t for t in policy.thresholds if t.id == row.id)
        if t.metric == "bias_gap":
            continue
        assert row.needed[0] == max(policy.min_attempts, attempts_to_certify(t.limit, policy.confidence, "wilson"))
        assert row.needed[0] <= row.needed[1] <= row.needed[2]
        assert row.can_pass == (row.behaviors >= row.needed[0])
