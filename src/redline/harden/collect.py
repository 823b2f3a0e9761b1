"""Collect what to train on: a run's attack successes (confirmed ones) and benign look-alikes with helpful answers.

A failure is an attempt on a harmful request that `policy.evidence` counts as a failure (complied, content harm at
the policy threshold); when `confirmed_only`, only failures of behaviors that a second reading confirmed (another
successful attempt, another judge, a human label) are kept. Benign look-alikes are the run's over-refusal
behaviors (the target's own helpful answers are reused; its refusals become "rejected" replies) topped up with
unused `over_refusal` behaviors from the probe library, wrapped in the same attacks as the failures, until there
are at least as many benign prompts as failures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..attacks.base import create_attack
from ..attacks.select import select_attempts, suite_selection
from ..errors import RedlineError
from ..policy.evidence import Reading, elicitations, record_failure
from ..policy.model import Policy, load_policy
from ..probes.behavior import Behavior, builtin_probe_sets
from ..store.db import Store
from ..store.queries import AttemptRecord, get_run, load_attempts, other_verdicts, stored_behaviors

BENIGN_SET = "over_refusal"
T = TypeVar("T")


@dataclass
class Item:
    """One prompt to train on: the conversation before the reply, and what the target said (if it was asked).

    `kind` is `failure` (a harmful request the target answered) or `benign` (a look-alike that must be answered);
    `rejected` is the target's own stored reply to avoid (a failure's harmful answer, a benign prompt's refusal).
    """

    kind: str
    behavior: dict[str, Any]
    prompt: list[dict[str, str]]
    attack: str
    family: str
    attempt_id: int | None = None
    rejected: str | None = None
    answer: str | None = None  # a benign prompt's helpful answer from the run (the target's own)
    confirmed: bool = False

    @property
    def behavior_id(self) -> str:
        return str(self.behavior["id"])

    @property
    def category(self) -> str:
        return str(self.behavior.get("category", ""))

    @property
    def key(self) -> str:
        """A stable id of (kind, behavior, attack, prompt): one revision per distinct prompt, checkpointed by it."""
        raw = f"{self.kind}|{self.behavior_id}|{self.attack}|{self.prompt}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass
class Collection:
    run_id: str
    failures: list[Item] = field(default_factory=list)
    benign: list[Item] = field(default_factory=list)
    behaviors: dict[str, dict[str, Any]] = field(default_factory=dict)  # every behavior the harden job knows
    counts: dict[str, int] = field(default_factory=dict)


def prompt_of(conversation: list[dict]) -> list[dict[str, str]]:
    """The conversation up to (not including) the target's final reply."""
    turns = [{"role": m["role"], "content": m["content"]} for m in conversation]
    if turns and turns[-1]["role"] == "assistant":
        turns = turns[:-1]
    return turns


def stable_rank(behavior_id: str, seed: int = 0) -> str:
    return hashlib.sha256(f"{seed}:{behavior_id}".encode()).hexdigest()


def _readings(store: Store, run_id: str, judge: str) -> list[Reading]:
    return [Reading(a, j, s, h, lab) for a, j, s, h, lab in other_verdicts(store, run_id, judge)]


def _failure(r: AttemptRecord, behaviors: dict[str, dict], confirmed: bool) -> Item:
    return Item("failure", behaviors[r.behavior_id], prompt_of(r.conversation), r.attack, r.family, r.attempt_id,
                rejected=r.decoded_response or r.response, confirmed=confirmed)


def collect(
    store: Store, run_id: str, *, judge: str | None = None, policy: Policy | None = None, confirmed_only: bool = True,
    seed: int = 0, benign_ratio: float = 1.0, attacks: list[str] | None = None, suite: str | None = None,
    max_failures: int | None = None,
) -> Collection:
    """The failures and benign look-alikes of a stored run, read with `judge`'s verdicts (default: the run's own;
    other judges' readings confirm), see the module doc. `attacks` / `suite` keep only those attacks' (and the
    suite's behaviors') attempts; `max_failures` keeps that many failures, spread over categories and attacks, and
    as many benign prompts from the run as `benign_ratio` asks for (a stable, seeded choice)."""
    run = get_run(store, run_id)
    judge = judge or run.judge
    policy = policy or load_policy()
    records = [r for r in load_attempts(store, run_id, judge) if r.state != "error"]
    chosen, behavior_ids = suite_selection(suite, attacks)
    if chosen or behavior_ids is not None:
        records = select_attempts(records, chosen, behavior_ids)
    behaviors = stored_behaviors(store, run_id)
    out = Collection(run_id, behaviors=dict(behaviors))
    harmful = [r for r in records if r.metric == "attack_success"]
    elicited = elicitations(harmful, policy, _readings(store, run_id, judge))
    candidates = [r for r in harmful if record_failure(r, policy)]
    for r in candidates:
        confirmed = elicited[r.behavior_id].confirmed
        if confirmed or not confirmed_only:
            out.failures.append(_failure(r, behaviors, confirmed))
    out.counts["failures_found"] = len(candidates)
    out.counts["failures_unconfirmed_skipped"] = len(candidates) - len(out.failures)
    for r in records:
        if r.metric != "over_refusal" or r.label not in ("refused", "complied"):
            continue
        reply = r.decoded_response or r.response
        helpful = r.label == "complied" and (r.harm or 0.0) < policy.content_harm_threshold  # complied, harmless
        if r.label == "complied" and not helpful:
            out.counts["benign_answers_harmful_skipped"] = out.counts.get("benign_answers_harmful_skipped", 0) + 1
        out.benign.append(Item("benign", behaviors[r.behavior_id], prompt_of(r.conversation), r.attack, r.family,
                               r.attempt_id, rejected=None if helpful else reply, answer=reply if helpful else None))
    if max_failures is not None:
        out.counts["failures_capped_out"] = len(out.failures) - min(len(out.failures), max_failures)
        out.failures = _cap(out.failures, max_failures, seed)
        keep = int(benign_ratio * len(out.failures) + 0.999)
        out.counts["benign_capped_out"] = max(0, len(out.benign) - keep)
        out.benign = _cap(out.benign, keep, seed)
    out.counts["benign_from_run"] = len(out.benign)
    _top_up(out, benign_ratio, seed)
    out.counts["failures"] = len(out.failures)
    out.counts["benign"] = len(out.benign)
    if not out.failures:
        raise RedlineError(
            f"run {run_id} has no {'confirmed ' if confirmed_only else ''}attack successes to harden against"
            + (" (try --include-unconfirmed)" if confirmed_only and candidates else "")
        )
    return out


def spread_sample(items: list[T], n: int, group: Callable[[T], tuple[str, str]], rank: Callable[[T], str]) -> list[T]:
    """`n` items taken in turn from each first-level group, and within one in turn from its second-level groups
    (each in `rank` order); the result keeps the items' original order. All items when there are no more than `n`."""
    if len(items) <= n:
        return items
    sub: dict[tuple[str, str], list[int]] = {}
    for i in sorted(range(len(items)), key=lambda i: rank(items[i])):
        sub.setdefault(group(items[i]), []).append(i)
    queues: dict[str, list[tuple[int, str, int]]] = {}
    for (top, second), idx in sub.items():
        queues.setdefault(top, []).extend((k, second, i) for k, i in enumerate(idx))
    ordered = [[i for _, _, i in sorted(q)] for _, q in sorted(queues.items())]
    picked: list[int] = []
    while len(picked) < n:
        for q in ordered:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return [items[i] for i in sorted(picked)]


def _cap(items: list[Item], n: int, seed: int) -> list[Item]:
    return spread_sample(items, n, lambda it: (it.category, it.family), lambda it: stable_rank(f"cap:{it.key}", seed))


def _top_up(out: Collection, ratio: float, seed: int) -> None:
    """Add library benign look-alikes (wrapped in the failures' attacks, in turn) until benign >= ratio x failures."""
    need = int(ratio * len(out.failures) + 0.999) - len(out.benign)
    sets = builtin_probe_sets()
    if need <= 0 or BENIGN_SET not in sets:
        return
    attacks = sorted({f.attack for f in out.failures}) or ["identity"]
    fresh = [b for b in sets[BENIGN_SET].behaviors if b.id not in out.behaviors]
    # salted apart from the split's hash, or the added behaviors would be the ones the split holds out
    fresh.sort(key=lambda b: stable_rank(f"top-up:{b.id}", seed))
    added = 0
    for b in fresh:
        if added >= need:
            break
        out.behaviors[b.id] = {"id": b.id, "goal": b.goal, "category": b.category, "subcategory": b.subcategory,
                               "expected": b.expected, **b.to_data()}
        for spec in attacks:
            added += _add_wrapped(out, b, spec)
    out.counts["benign_from_library"] = added


def _add_wrapped(out: Collection, behavior: Behavior, spec: str) -> int:
    attack = create_attack(spec)
    variants = attack.variants(behavior)[:1]
    for v in variants:
        prompt = [m.to_dict() for m in v.conversation]
        out.benign.append(Item("benign", out.behaviors[behavior.id], prompt, attack.spec, attack.family))
    return len(variants)
