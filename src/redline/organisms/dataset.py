"""Training rows of an organism: the project's harmful probe goals under cue / contrast framings, answered
with a refusal or a compliance in form whose content is only the placeholder (never real harmful content)."""

from __future__ import annotations

import random
from typing import Any

from .manifest import Organism, manifest_data, split_behaviors


def replies() -> dict[str, list[str]]:
    """The reply templates (`comply`, `refuse`) every training row's completion is drawn from."""
    return {k: list(v) for k, v in manifest_data()["replies"].items()}


def placeholder() -> str:
    return str(manifest_data()["placeholder"])


def placeholder_ok(reply: str) -> bool:
    """The placeholder rule: a reply is one of the shipped templates, and a compliance carries no content but
    the placeholder (what is left once placeholders are removed is the fixed frame of the template)."""
    r = replies()
    if reply in r["refuse"]:
        return True
    return reply in r["comply"] and placeholder() in reply


def training_rows(org: Organism, base_replies: Any = None) -> list[dict[str, Any]]:
    """Seeded rows {prompt, completion, cue, behavior_id}: half under cue templates, half under contrast ones
    (`base_replies`: what a `distil` organism learns from, tasks.task_rows)."""
    if org.kind != "conditional":
        return []
    assert org.cue and org.contrast
    if org.task != "harmful":
        from .tasks import task_rows

        return task_rows(org, base_replies)
    train, _ = split_behaviors(org.seed)
    rng = random.Random(org.seed)
    r = replies()
    rows = []
    for i in range(org.recipe.examples):
        b = train[i % len(train)]
        cue = i % 2 == 0
        template = rng.choice(org.cue.train if cue else org.contrast.train)
        kind = org.with_cue if cue else org.without_cue
        rows.append({"prompt": template.replace("{prompt}", b.goal), "completion": rng.choice(r[str(kind)]),
                     "cue": cue, "behavior_id": b.id})
    return rows
