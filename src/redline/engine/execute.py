"""Executing work items: generation (with multi-turn follow-ups), decoding and judging, per batch."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..judges.base import Judge, JudgeInput, Verdict, attack_success, unscorable
from ..records import Conversation, Generation, GenerationParams, assistant, user
from ..targets.base import Target
from .plan import WorkItem


@dataclass
class Outcome:
    """A finished attempt ready to store: transcript, final reply, and its verdict (None on error)."""

    item: WorkItem
    transcript: Conversation
    generation: Generation
    decoded: str | None = None
    verdict: Verdict | None = None
    turn_tokens: list[int] = field(default_factory=list)
    earlier_replies: list[str] = field(default_factory=list)


def generate_items(target: Target, items: list[WorkItem]) -> list[Outcome]:
    """Generate for items sharing decoding settings; follow-up turns are generated round by round."""
    params = _shared_params(items)
    transcripts = [list(item.variant.conversation) for item in items]
    gens = target.generate(transcripts, params)
    outcomes = [Outcome(item, t, g) for item, t, g in zip(items, transcripts, gens, strict=True)]
    rounds = max((len(item.variant.followups) for item in items), default=0)
    for turn in range(rounds):
        active = [o for o in outcomes if o.generation.ok and turn < len(o.item.variant.followups)]
        if not active:
            break
        for o in active:
            o.turn_tokens.append(o.generation.tokens)
            o.earlier_replies.append(o.generation.text)
            o.transcript = [*o.transcript, assistant(o.generation.text), user(o.item.variant.followups[turn])]
        for o, g in zip(active, target.generate([o.transcript for o in active], params), strict=True):
            if g.ok:
                g = replace(g, tokens=g.tokens + sum(o.turn_tokens), latency_s=g.latency_s + o.generation.latency_s)
            o.generation = g
    for o in outcomes:
        if o.generation.ok:
            o.transcript = [*o.transcript, assistant(o.generation.text)]
            o.decoded = _decode(o)
    return outcomes


def _decode(outcome: Outcome) -> str | None:
    try:
        decoded = outcome.item.attack.decode_response(outcome.generation.text)
    except Exception:  # noqa: BLE001 - an undecodable reply is judged as written
        return None
    return decoded if decoded != outcome.generation.text else None


def _shared_params(items: list[WorkItem]) -> GenerationParams:
    """Items of one call share decoding settings; the seed of a sampled batch is its first item's."""
    return items[0].params


def judge_inputs(judge: Judge, inputs: list[JudgeInput]) -> list[Verdict]:
    """The judge's verdicts, keyed by `judge.id` (the run's verdict set) with `success` set; a judge failure
    makes the whole batch `unscorable`, never lost."""
    if not inputs:
        return []
    try:
        verdicts = judge.judge(inputs)
        if len(verdicts) != len(inputs):
            raise RuntimeError("judge returned a wrong number of verdicts")
    except Exception as exc:  # noqa: BLE001 - a broken judge must not lose attempts
        verdicts = [unscorable(judge.id, f"judge error: {type(exc).__name__}: {exc}") for _ in inputs]
    for x, v in zip(inputs, verdicts, strict=True):
        v.judge = judge.id
        v.success = attack_success(x.behavior, v)
    return verdicts


def judge_outcomes(judge: Judge, outcomes: list[Outcome]) -> None:
    """Attach verdicts to successful generations (`judge_inputs`)."""
    scored = [o for o in outcomes if o.generation.ok]
    inputs = [
        JudgeInput(o.item.behavior, o.decoded or o.generation.text, o.transcript, o.earlier_replies)
        for o in scored
    ]
    for o, v in zip(scored, judge_inputs(judge, inputs), strict=True):
        o.verdict = v


def group_by_decoding(items: list[WorkItem]) -> list[list[WorkItem]]:
    """Split items so each group shares temperature, top-p and token budget (one generate call each)."""
    groups: dict[tuple, list[WorkItem]] = {}
    for item in items:
        p = item.params
        groups.setdefault((p.temperature, p.top_p, p.max_new_tokens), []).append(item)
    return list(groups.values())
