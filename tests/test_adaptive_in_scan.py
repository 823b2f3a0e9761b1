"""Adaptive attacks inside a scan: planning splits them out, the run stores their steps and attempts, resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from redline.engine.scan import ScanConfig, make_plan, run_scan
from redline.errors import ConfigError
from redline.probes.behavior import DATA_DIR
from redline.results import get_run, load_attempts
from redline.store.db import Store
from redline.store.models import Attempt, AuditResult, Step
from redline.summary import run_summary
from test_adaptive import Interrupting

STARTER = str(DATA_DIR / "starter.yaml")
PAIR = "pair:streams=1,iterations=2,max_queries=1,attacker_tokens=16,judge_tokens=4"


def test_plan_splits_adaptive_attacks(tmp_path: Path) -> None:
    plan = make_plan(ScanConfig(behaviors_file=STARTER, attacks=["identity", PAIR], judge="refusal"))
    assert {item.attack.spec for item in plan.items} == {"identity"} and len(plan.items) == len(plan.behaviors)
    assert [a.id for a in plan.adaptive] == ["pair"]
    assert plan.adaptive_behaviors and all(b.expected == "refuse" for b in plan.adaptive_behaviors)
    assert plan.planned == len(plan.items) + len(plan.adaptive_behaviors)
    suite = tmp_path / "mine.yaml"
    suite.write_text("name: mine\nsets: [starter]\nattacks: [identity, 'crescendo:turns=2']\n", encoding="utf-8")
    from_suite = make_plan(ScanConfig(suite=str(suite)))
    assert [a.spec for a in from_suite.adaptive] == ["crescendo:turns=2"] and from_suite.items
    for attacks, message in (
        (["pair", "pair:streams=2"], "appears twice"),
        (["pair:max_queries=many"], "max_queries"),
        (["pair:streams=-1"], "non-negative"),
        (["pair+base64"], "stacked"),
    ):
        with pytest.raises(ConfigError, match=message):
            make_plan(ScanConfig(behaviors_file=STARTER, attacks=attacks))


@pytest.mark.slow
def test_scan_with_pair_is_interrupted_and_resumes(embedded_target, db_path: str) -> None:
    config = ScanConfig(
        behaviors_file=STARTER, limit=1, attacks=["identity", PAIR], judge="refusal", max_new_tokens=16
    )
    # fault injection: Ctrl-C at the third model call (identity reply, pair's attacker, then pair's target query)
    first = run_scan(config, db=db_path, target=Interrupting(embedded_target, 2))
    assert first.stats.interrupted
    store = Store(db_path)
    assert get_run(store, first.run_id).status == "interrupted"
    store.close()

    second = run_scan(db=db_path, resume=first.run_id, target=embedded_target)
    assert second.run_id == first.run_id and not second.stats.interrupted
    assert second.stats.planned == 2 and second.stats.already_done == 1 and second.stats.executed == 1
    store = Store(db_path)
    with store.session() as s:
        steps = list(s.scalars(select(Step).where(Step.run_id == first.run_id).order_by(Step.seq)))
        attempts = list(s.scalars(select(Attempt).where(Attempt.run_id == first.run_id)))
        audit = s.scalar(select(AuditResult).where(AuditResult.key.like("pair:starter-%")))
    run = get_run(store, first.run_id)
    summary = run_summary(run, load_attempts(store, first.run_id))
    store.close()
    assert run.status == "complete" and run.planned == 2
    assert [(s.seq, s.kind) for s in steps] == [(0, "attacker_prompt"), (1, "target_response"), (2, "judge_score")]
    assert audit.data["replayed_steps"] == 1 and audit.data["queries"] == 1  # the attacker step was not redone
    assert {(a.attack, a.family) for a in attempts} == {("identity", "direct"), ("pair", "adaptive")}
    pair = next(a for a in attempts if a.attack == "pair")
    assert pair.params["queries"] == 1 and pair.params["budget_hit"] == "max_queries"
    assert set(summary["attacks"]) == {"identity", "pair"} and summary["attempts"] == 2

    third = run_scan(db=db_path, resume=first.run_id, target=Interrupting(embedded_target, 0))
    assert not third.stats.interrupted and third.stats.executed == 0  # nothing left: no model call at all
