"""`redline rejudge RUN --judge SPEC`: a stored scan read again by another judge, as a new verdict set.

The judge sees what it would have seen during the scan: the behavior, the (decoded) final reply, the
transcript and the target's own earlier turns (attack-written turns are context, never judged). Verdicts
are keyed by judge and written per batch through the run's recorder, so an interrupted re-judge resumes
where it stopped and the run's own verdicts are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..attacks.base import create_attack
from ..errors import RedlineError
from ..judges.base import Judge, JudgeInput, create_judge
from ..probes.behavior import Behavior
from ..records import conversation_from_dicts
from ..store.db import Store
from ..store.models import Attempt
from ..store.queries import attempts_without_verdict, get_run, resolve_run_id, stored_behaviors
from ..store.recorder import NewVerdict, RunRecorder
from .execute import judge_inputs


@dataclass
class RejudgeResult:
    run_id: str
    judge: str
    judged: int


def attack_prefix(a: Attempt, behavior: Behavior) -> int | None:
    """How many messages of the stored transcript the attack wrote (None when it cannot be rebuilt); an adaptive
    attack's conversations hold only the target's real replies, so 0."""
    if a.family == "adaptive":
        return 0
    try:
        variants = create_attack(a.attack).variants(behavior)
    except RedlineError:
        return None
    return next((len(v.conversation) for v in variants if v.variant == a.variant), None)


def _input(a: Attempt, behavior: Behavior) -> JudgeInput:
    """The judge's view of a stored attempt, with only target-produced turns as its earlier replies.

    The attack is rebuilt from the run's own stored behavior (not today's library), so older runs can be
    re-judged; if its conversation cannot be rebuilt, only the final reply is judged as the target's.
    """
    transcript = conversation_from_dicts(a.conversation or [])
    prefix = attack_prefix(a, behavior)
    own = [] if prefix is None else transcript[prefix:-1]
    earlier = [m.content for m in own if m.role == "assistant"]
    return JudgeInput(behavior, a.decoded_response or a.response, transcript, earlier)


def rejudge(
    store: Store,
    run_ref: str,
    judge_spec: str,
    *,
    batch_size: int = 32,
    judge: Judge | None = None,
    replace: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> RejudgeResult:
    """Store `judge_spec`'s verdicts on every answered attempt of a scan that it has not read yet; with
    `replace`, read every answered attempt again and replace that judge's verdicts batch by batch (after a
    change to the judge's code; an interrupted replace is finished by running it again)."""
    run_id = resolve_run_id(store, run_ref)
    get_run(store, run_id)
    judge = judge or create_judge(judge_spec)
    behaviors = {k: Behavior.model_validate(v) for k, v in stored_behaviors(store, run_id).items()}
    pending = attempts_without_verdict(store, run_id, None if replace else judge.id)
    inputs = [_input(a, behaviors[a.behavior_id]) for a in pending]  # bad runs fail before anything is written
    recorder = RunRecorder(store, run_id)
    if on_start:
        on_start(len(pending))
    for start in range(0, len(pending), max(1, batch_size)):
        batch = inputs[start : start + batch_size]
        ids = [a.id for a in pending[start : start + batch_size]]
        recorder.record_verdicts(zip(ids, map(NewVerdict.of, judge_inputs(judge, batch)), strict=True))
        if on_progress:
            on_progress(len(batch))
    return RejudgeResult(run_id, judge.id, len(pending))
