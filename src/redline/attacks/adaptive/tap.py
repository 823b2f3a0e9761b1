"""TAP-style tree of attacks: branch, prune off-topic candidates before querying, keep the best width."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...records import system, user
from .common import Context, StepSpec, behavior_prefix, fill, prompts, register_method
from .pruning import offtopic_scores


@dataclass
class Node:
    node: str
    prompt: str | None = None
    response: str = ""
    score: float | None = None


def keep_top(nodes: list[Node], width: int) -> tuple[list[Node], list[Node]]:
    """Phase-2 pruning: the `width` best-scored nodes (stable order on ties), and the dropped rest."""
    ranked = sorted(nodes, key=lambda n: -(n.score if n.score is not None else 0.0))
    return ranked[:width], ranked[width:]


@register_method(
    "tap",
    {"branching": 2, "width": 2, "depth": 3, "offtopic": "embedding", "threshold": 0.3},
    "Tree of attacks with pruning: branch refinements, drop off-topic ones, keep the best (TAP).",
)
def run_tap(ctx: Context) -> None:
    tpl = prompts()
    p: dict[str, Any] = ctx.params
    branching, width, depth = int(p["branching"]), int(p["width"]), int(p["depth"])
    prefix = behavior_prefix(ctx.behavior)
    leaves = [Node("root")]
    for d in range(depth):
        children = [(leaf, f"d{d}-{i}-{b}") for i, leaf in enumerate(leaves) for b in range(branching)]
        specs = [
            StepSpec(stream=j, depth=d, node=name, parent=leaf.node)
            for j, (leaf, name) in enumerate(children)
        ]
        convs = []
        for leaf, _ in children:
            ask = (
                fill(tpl["pair_first"], goal=ctx.goal)
                if leaf.prompt is None
                else fill(
                    tpl["pair_user"],
                    goal=ctx.goal,
                    prompt=leaf.prompt,
                    response=leaf.response[:600],
                    score=f"{leaf.score:.0f}" if leaf.score is not None else "unknown",
                )
            )
            convs.append([system(fill(tpl["tap_system"], goal=ctx.goal)), user(ask)])
        props = ctx.ask_attacker(
            "attacker_prompt", specs, convs, [ctx.mutation("tap", name) for _, name in children], ("tap", d)
        )
        # phase 1: off-topic candidates are pruned before any target query
        sims = offtopic_scores(
            ctx, specs, [q["prompt"] for q in props], str(p["offtopic"]), float(p["threshold"])
        )
        kept = [i for i, s in enumerate(sims) if s["kept"]]
        if not kept:  # everything pruned: nothing to query at this depth
            ctx.note(
                "prune",
                [StepSpec(depth=d, node=f"d{d}")],
                [{"phase": 1, "kept": False, "reason": "all candidates off topic"}],
            )
            continue
        kspecs = [specs[i] for i in kept]
        tconvs = [[*prefix, user(props[i]["prompt"])] for i in kept]
        replies = ctx.query_target(kspecs, tconvs)
        done = len(replies)
        scores = ctx.score(kspecs[:done], tconvs[:done], replies)
        nodes = [
            Node(kspecs[j].node, props[kept[j]]["prompt"], replies[j]["text"], scores[j]["score"])
            for j in range(done)
        ]
        if any(s["success"] for s in scores) or done < len(kept):
            return
        leaves, dropped = keep_top(nodes, width)
        if dropped:
            ctx.note(
                "prune",
                [StepSpec(depth=d, node=n.node) for n in dropped],
                [
                    {"phase": 2, "kept": False, "score": n.score, "reason": f"not in top {width}"}
                    for n in dropped
                ],
            )
