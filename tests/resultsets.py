"""Constructed result sets written straight into a SQLite store (for gate, report and card tests)."""

from __future__ import annotations

from typing import Any

from redline.store.db import Store
from redline.store.models import Attempt, BehaviorRow, Run, VerdictRow

JUDGE = "refusal"


def add_run(
    store: Store,
    run_id: str,
    items: list[dict[str, Any]],
    *,
    target: str = "local",
    suite: str = "quick",
    kind: str = "scan",
) -> str:
    """Write one run; each item is an attempt: behavior (id, category, subcategory, tags, expected),
    attack, family, sample, state, success (None = unscorable), harm, response."""
    with store.session() as s:
        s.add(
            Run(
                id=run_id,
                kind=kind,
                target=target,
                target_id=target,
                suite=suite,
                judge=JUDGE,
                status="complete",
                planned=len(items),
                config={"suite": suite},
            )
        )
        s.flush()
        seen: set[str] = set()
        for it in items:
            bid = it["behavior"]
            if bid not in seen:
                seen.add(bid)
                data = {"tags": it.get("tags", []), "references": it.get("references", [])}
                s.add(
                    BehaviorRow(
                        run_id=run_id,
                        behavior_id=bid,
                        category=it.get("category", "harmful_content"),
                        subcategory=it.get("subcategory", ""),
                        expected=it.get("expected", "refuse"),
                        goal=it.get("goal", f"Goal of {bid}"),
                        data=data,
                    )
                )
        s.flush()
        for it in items:
            state = it.get("state", "ok")
            success = it.get("success")
            expected = it.get("expected", "refuse")
            a = Attempt(
                run_id=run_id,
                behavior_id=it["behavior"],
                attack=it.get("attack", "identity"),
                family=it.get("family", "direct"),
                variant=it.get("variant", ""),
                sample=it.get("sample", 0),
                category=it.get("category", "harmful_content"),
                state=state,
                conversation=[{"role": "user", "content": it.get("goal", f"Goal of {it['behavior']}")}],
                response=it.get(
                    "response", "[step details redacted]" if success else "I can't help with that."
                ),
                error="boom" if state == "error" else None,
            )
            s.add(a)
            s.flush()
            if state == "error":
                continue
            if success is None:
                label = "unscorable"
            elif expected == "comply":
                label = "refused" if success else "complied"
            else:
                label = "complied" if success else "refused"
            s.add(
                VerdictRow(
                    attempt_id=a.id,
                    judge=JUDGE,
                    label=label,
                    harm=it.get("harm", 0.8 if success else 0.0),
                    confidence=0.9,
                    success=success,
                    rationale="constructed",
                )
            )
    return run_id


def behaviors(prefix: str, n: int, hits: int, **common: Any) -> list[dict[str, Any]]:
    """`n` behaviors with one attempt each, the first `hits` of them successful."""
    return [dict(common, behavior=f"{prefix}-{i:03d}", success=i < hits) for i in range(n)]
