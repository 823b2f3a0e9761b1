"""Parsing, budgets, pruning, backtracking and resume of the adaptive loop, with scripted models.

Scripted (python-callable) models are used only for cases a real 135M model cannot produce on
demand: a judge that calls a candidate off topic, a target that refuses exactly once.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from redline.attacks.adaptive import extract_prompt, parse_rating
from redline.attacks.adaptive.tap import Node, keep_top
from redline.engine.adaptive import AttackConfig, run_attack
from redline.records import Conversation, Generation, GenerationParams
from redline.store.db import Store
from redline.store.models import Attempt, Run, Step, VerdictRow

REFUSAL = "I'm sorry, I can't help with that."


class Scripted:
    """A model whose reply is a function of the conversation (counts its calls)."""

    def __init__(self, name: str, fn: Callable[[Conversation], str]) -> None:
        self.id, self.fn, self.calls = f"python:{name}", fn, 0

    def generate(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        self.calls += len(batch)
        return [Generation(text=self.fn(c), tokens=7) for c in batch]

    def close(self) -> None:
        return None


def attacker(prompt: str = "Please write a story where an expert explains the topic") -> Scripted:
    return Scripted("attacker", lambda c: f'{{"improvement": "frame it", "prompt": "{prompt}"}}')


def fake_run(db: str, method: str, params: dict, **kw: object) -> str:
    result = run_attack(
        AttackConfig(method=method, behaviors="starter", limit=2, params=params, **kw),
        db=db,
        target=Scripted("target", lambda c: REFUSAL),
        attacker=attacker(),
        judge_target=Scripted("judge", lambda c: "Rating: [[2]]"),
    )
    return result.run_id


def steps(db: str, run_id: str) -> list[Step]:
    store = Store(db)
    with store.session() as s:
        rows = list(s.scalars(select(Step).where(Step.run_id == run_id).order_by(Step.behavior_id, Step.seq)))
    store.close()
    return rows


def test_extract_prompt_and_rating() -> None:
    assert extract_prompt('Sure! {"improvement": "x", "prompt": "Tell a story"}') == ("Tell a story", "json")
    assert extract_prompt('{"improvement": "x", "prompt": "Tell a st')[1] == "json-partial"
    assert extract_prompt("Improvement: x\nPrompt: Write the lecture notes on the topic")[0] == (
        "Write the lecture notes on the topic"
    )
    assert extract_prompt("I'm sorry, I cannot help with red teaming.") == (None, "attacker refused")
    assert extract_prompt("ok")[0] is None
    assert parse_rating("Rating: [[7]]") == 7
    assert parse_rating("I would say 10/10.") == 10
    assert parse_rating("Rating: 3") == 3
    assert parse_rating("no idea") is None and parse_rating("[[11]]") is None


def test_keep_top_is_phase_two_pruning() -> None:
    nodes = [Node("a", score=3.0), Node("b", score=None), Node("c", score=8.0), Node("d", score=3.0)]
    kept, dropped = keep_top(nodes, 2)
    assert [n.node for n in kept] == ["c", "a"] and [n.node for n in dropped] == ["d", "b"]


def test_query_budget_cuts_the_batch_and_is_reported(db_path: str) -> None:
    target = Scripted("target", lambda c: REFUSAL)
    result = run_attack(
        AttackConfig(
            method="pair", behaviors="starter", limit=1, max_queries=3, params={"streams": 2, "iterations": 3}
        ),
        db=db_path,
        target=target,
        attacker=attacker(),
        judge_target=Scripted("judge", lambda c: "Rating: [[1]]"),
    )
    assert target.calls == 3 and result.outcomes[0].queries == 3
    assert result.outcomes[0].budget_hit == "max_queries"
    kinds = [s.kind for s in steps(db_path, result.run_id)]
    assert kinds.count("target_response") == 3 and kinds.count("judge_score") == 3


def test_tap_prunes_off_topic_before_querying(db_path: str) -> None:
    n = {"i": 0}

    def alternating(c: Conversation) -> str:
        n["i"] += 1
        text = (
            "Write the OFFTOPIC poem about the sea"
            if n["i"] % 2
            else "Explain the topic as a story for a class"
        )
        return f'{{"prompt": "{text}"}}'

    target = Scripted("target", lambda c: REFUSAL)
    judge = Scripted(
        "judge",
        lambda c: (
            ("no" if "OFFTOPIC" in c[-1].content else "yes")
            if len(c) == 2 and "same thing" in c[0].content
            else "Rating: [[2]]"
        ),
    )
    result = run_attack(
        AttackConfig(
            method="tap",
            behaviors="starter",
            limit=1,
            max_queries=50,
            params={"branching": 2, "width": 1, "depth": 2, "offtopic": "judge"},
        ),
        db=db_path,
        target=target,
        attacker=Scripted("attacker", alternating),
        judge_target=judge,
    )
    rows = steps(db_path, result.run_id)
    pruned = {s.node for s in rows if s.kind == "prune" and s.data["phase"] == 1 and not s.data["kept"]}
    queried = {s.node for s in rows if s.kind == "target_response"}
    assert pruned and not (pruned & queried) and target.calls == len(queried) == 2
    phase2 = [s for s in rows if s.kind == "prune" and s.data["phase"] == 2]
    assert phase2 == []  # width 1 and one on-topic child per depth: nothing to drop
    prompts = [s.data["conversation"][-1]["content"] for s in rows if s.kind == "target_response"]
    assert all("OFFTOPIC" not in p for p in prompts)


def test_crescendo_backtracks_and_removes_the_refused_turn(db_path: str) -> None:
    def target_fn(c: Conversation) -> str:
        return REFUSAL if c[-1].content.startswith("REFUSE-ME") else "Here is some general background."

    questions = iter(
        [
            "REFUSE-ME tell me everything now",
            "What is the history of the topic?",
            "How do stories usually treat it?",
        ]
    )
    atk = Scripted("attacker", lambda c: next(questions, "And what would an expert add?"))
    result = run_attack(
        AttackConfig(
            method="crescendo",
            behaviors="starter",
            limit=1,
            max_queries=10,
            params={"turns": 2, "backtracks": 1},
            success_threshold=9,
        ),
        db=db_path,
        target=Scripted("target", target_fn),
        attacker=atk,
        judge_target=Scripted("judge", lambda c: "Rating: [[4]]"),
    )
    rows = steps(db_path, result.run_id)
    assert [s.kind for s in rows].count("backtrack") == 1
    last_conv = [s.data["conversation"] for s in rows if s.kind == "target_response"][-1]
    assert not any(m["content"].startswith("REFUSE-ME") for m in last_conv)
    assert [m["role"] for m in last_conv] == ["user", "assistant", "user"]
    assert result.outcomes[0].queries == 3 and result.outcomes[0].success is False  # rubric 4 < threshold 9


def test_run_budget_stops_then_resume_replays_without_duplicates(db_path: str) -> None:
    judge = Scripted("judge", lambda c: "Rating: [[2]]")
    target = Scripted("target", lambda c: REFUSAL)
    config = AttackConfig(
        method="pair",
        behaviors="starter",
        limit=2,
        params={"streams": 1, "iterations": 2},
        max_queries=10,
        run_max_queries=1,
    )
    first = run_attack(config, db=db_path, target=target, attacker=attacker(), judge_target=judge)
    assert first.status == "interrupted" and first.run_budget_hit == "max_queries" and not first.outcomes
    before = [(s.behavior_id, s.seq, s.kind) for s in steps(db_path, first.run_id)]
    assert before and target.calls == 1
    second = run_attack(
        resume=first.run_id,
        db=db_path,
        budget_overrides={"run_max_queries": 10},
        target=target,
        attacker=attacker(),
        judge_target=judge,
    )
    assert second.status == "complete" and len(second.outcomes) == 2
    assert second.outcomes[0].replayed_steps == len(before)
    rows = steps(db_path, first.run_id)
    first_b = [(s.behavior_id, s.seq, s.kind) for s in rows if s.behavior_id == before[0][0]]
    assert first_b[: len(before)] == before and len(first_b) > len(before)
    for bid in {s.behavior_id for s in rows}:
        seqs = [s.seq for s in rows if s.behavior_id == bid]
        assert seqs == list(range(len(seqs)))
    assert target.calls == 4  # 1 before + 1 more for behavior 1, 2 for behavior 2: nothing queried twice
    store = Store(db_path)
    with store.session() as s:
        run = s.get(Run, first.run_id)
        assert run.status == "complete" and run.kind == "attack"
        attempts = list(s.scalars(select(Attempt).where(Attempt.run_id == run.id)))
        assert {a.attack for a in attempts} == {"pair"} and {a.family for a in attempts} == {"adaptive"}
        verdicts = list(
            s.scalars(select(VerdictRow).where(VerdictRow.attempt_id.in_([a.id for a in attempts])))
        )
        assert len(verdicts) == 2 and {v.judge for v in verdicts} == {run.judge}
    store.close()
