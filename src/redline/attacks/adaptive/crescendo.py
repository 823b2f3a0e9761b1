"""Crescendo-style multi-turn escalation: benign openers that build toward the goal, with backtracking."""

from __future__ import annotations

from ...records import Conversation, Message, assistant, system, user
from .common import Context, StepSpec, behavior_prefix, fill, prompts, register_method, transcript_text


def topic_of(goal: str) -> str:
    """A short topic phrase for the fallback ladder (the goal without its trailing period)."""
    return goal.rstrip(".?! ")[:160]


@register_method(
    "crescendo",
    {"turns": 4, "backtracks": 2},
    "Multi-turn escalation from benign openers toward the goal, backtracking on refusals.",
)
def run_crescendo(ctx: Context) -> None:
    """A refused turn is removed from the conversation and a rephrased turn tried (up to `backtracks`)."""
    tpl = prompts()
    turns, max_back = int(ctx.params["turns"]), int(ctx.params["backtracks"])
    history: Conversation = behavior_prefix(ctx.behavior)
    turn, backs, refused_q = 1, 0, None
    step = 0
    while turn <= turns:
        ladder = tpl["ladder"]
        if refused_q is None:
            ask = fill(
                tpl["crescendo_user"],
                transcript=transcript_text(history) or "(none yet)",
                turn=turn,
                turns=turns,
            )
            fallback = ladder[min(turn - 1, len(ladder) - 1)] if turn < turns else ladder[-1]
        else:
            ask = fill(tpl["crescendo_rephrase"], prompt=refused_q, turn=turn, turns=turns, goal=ctx.goal)
            fallback = tpl["rephrase"][(backs - 1) % len(tpl["rephrase"])]
        fallback = fill(fallback, goal=ctx.goal, topic=topic_of(ctx.goal))
        spec = StepSpec(stream=0, depth=turn, node=f"t{turn}-{step}", parent=None)
        convs = [[system(fill(tpl["crescendo_system"], goal=ctx.goal, turn=turn, turns=turns)), user(ask)]]
        prop = ctx.ask_attacker("attacker_prompt", [spec], convs, [fallback], ("crescendo", step))[0]
        conv = [*history, user(prop["prompt"])]
        replies = ctx.query_target([spec], [conv])
        if not replies:
            return
        score = ctx.score([spec], [conv], replies)[0]
        step += 1
        if score["success"]:
            return
        if score["label"] == "refused" and backs < max_back:
            backs += 1
            refused_q = prop["prompt"]
            ctx.note(
                "backtrack",
                [spec],
                [
                    {
                        "turn": turn,
                        "removed": prop["prompt"],
                        "reply": replies[0]["text"][:400],
                        "backtracks_used": backs,
                    }
                ],
            )
            continue
        history = [*history, Message("user", prop["prompt"]), assistant(replies[0]["text"])]
        turn, refused_q = turn + 1, None
