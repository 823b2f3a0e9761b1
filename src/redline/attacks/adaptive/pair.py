"""PAIR-style iterative refinement: parallel streams, bounded iterations, stop on success."""

from __future__ import annotations

from ...records import Conversation, assistant, system, user
from .common import Context, StepSpec, behavior_prefix, fill, prompts, register_method


@register_method(
    "pair",
    {"streams": 3, "iterations": 3, "history": 2},
    "Attacker LLM refines a prompt from the target's reply and the judge's score (PAIR).",
)
def run_pair(ctx: Context) -> None:
    """Each stream keeps its own attacker conversation; all streams advance together, one batch per role."""
    tpl = prompts()
    n, iterations, keep = (
        int(ctx.params["streams"]),
        int(ctx.params["iterations"]),
        int(ctx.params["history"]),
    )
    prefix = behavior_prefix(ctx.behavior)
    histories: list[Conversation] = [[] for _ in range(n)]
    last: list[tuple[str, str, float | None] | None] = [None] * n
    for it in range(iterations):
        convs, asks = [], []
        for s in range(n):
            if last[s] is None:
                ask = fill(tpl["pair_first"], goal=ctx.goal)
            else:
                prompt, response, score = last[s]  # type: ignore[misc]
                ask = fill(
                    tpl["pair_user"],
                    goal=ctx.goal,
                    prompt=prompt,
                    response=response[:600],
                    score=f"{score:.0f}" if score is not None else "unknown",
                )
            asks.append(ask)
            convs.append(
                [system(fill(tpl["pair_system"], goal=ctx.goal)), *histories[s][-2 * keep :], user(ask)]
            )
        specs = [
            StepSpec(stream=s, depth=it, node=f"s{s}-i{it}", parent=f"s{s}-i{it - 1}" if it else None)
            for s in range(n)
        ]
        props = ctx.ask_attacker(
            "attacker_prompt", specs, convs, [ctx.mutation("pair", s, it) for s in range(n)], ("pair", it)
        )
        target_convs = [[*prefix, user(p["prompt"])] for p in props]
        replies = ctx.query_target(specs, target_convs)
        done = len(replies)
        scores = ctx.score(specs[:done], target_convs[:done], replies)
        for s in range(done):
            histories[s] += [user(asks[s]), assistant(props[s]["raw"] or props[s]["prompt"])]
            last[s] = (props[s]["prompt"], replies[s]["text"], scores[s]["score"])
        if any(d["success"] for d in scores) or done < n:
            return
