"""Each adaptive method end to end on the embedded model (small budgets), and resume."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from redline.engine.adaptive import AttackConfig, run_attack
from redline.store.db import Store
from redline.store.models import Attempt, Step, VerdictRow

TINY = {"target_tokens": 16, "attacker_tokens": 32, "judge_tokens": 8}
CASES = [
    ("pair", {"streams": 1, "iterations": 2}, 2),
    ("tap", {"branching": 2, "width": 1, "depth": 1, "offtopic": "embedding"}, 2),
    ("crescendo", {"turns": 2, "backtracks": 1}, 2),
]


@pytest.mark.parametrize(("method", "params", "max_queries"), CASES)
def test_method_end_to_end(
    embedded_target, db_path: str, method: str, params: dict, max_queries: int
) -> None:
    result = run_attack(
        AttackConfig(
            method=method, behaviors="starter", limit=1, params=params, max_queries=max_queries, **TINY
        ),
        db=db_path,
        target=embedded_target,
    )
    assert result.status == "complete" and len(result.outcomes) == 1
    out = result.outcomes[0]
    assert 1 <= out.queries <= max_queries
    store = Store(db_path)
    with store.session() as s:
        rows = list(s.scalars(select(Step).where(Step.run_id == result.run_id).order_by(Step.seq)))
        attempt = s.scalar(select(Attempt).where(Attempt.run_id == result.run_id))
        verdict = s.scalar(select(VerdictRow).where(VerdictRow.attempt_id == attempt.id))
    store.close()
    assert [r.seq for r in rows] == list(range(len(rows)))
    kinds = [r.kind for r in rows]
    assert kinds.count("target_response") == out.queries == kinds.count("judge_score")
    assert kinds.count("attacker_prompt") >= out.queries
    for r in rows:
        if r.kind == "attacker_prompt":
            assert r.data["prompt"] and r.data["source"] in ("attacker", "fallback")
        if r.kind == "judge_score":
            assert r.score is not None and r.data["label"] in ("refused", "complied", "unscorable")
    if method == "tap":
        assert kinds.count("prune") == 2 and all("similarity" in r.data for r in rows if r.kind == "prune")
    assert attempt.attack == method and attempt.family == "adaptive" and verdict is not None
    assert attempt.params["queries"] == out.queries


class Interrupting:
    """The real target, with a fault injected: Ctrl-C after `after` target calls."""

    def __init__(self, target, after: int) -> None:  # noqa: ANN001
        self.target, self.after, self.id, self.calls = target, after, target.id, 0

    def generate(self, batch, params):  # noqa: ANN001, ANN201
        if self.calls >= self.after:
            raise KeyboardInterrupt
        self.calls += 1
        return self.target.generate(batch, params)

    def close(self) -> None:
        return None


def test_interrupted_run_resumes(embedded_target, db_path: str) -> None:
    config = AttackConfig(
        method="pair",
        behaviors="starter",
        limit=1,
        params={"streams": 1, "iterations": 2},
        max_queries=2,
        success_threshold=10,
        **TINY,
    )
    first = run_attack(
        config,
        db=db_path,
        target=Interrupting(embedded_target, 0),
        attacker=embedded_target,
        judge_target=embedded_target,
    )
    assert first.status == "interrupted" and not first.outcomes
    second = run_attack(resume="last", db=db_path, target=embedded_target)
    assert second.run_id == first.run_id and second.status == "complete"
    assert second.outcomes[0].replayed_steps == 1 and 1 <= second.outcomes[0].queries <= 2
    store = Store(db_path)
    with store.session() as s:
        seqs = list(s.scalars(select(Step.seq).where(Step.run_id == first.run_id).order_by(Step.seq)))
    store.close()
    assert seqs == list(range(len(seqs)))
