"""`redline rejudge RUN --judge SPEC`: a stored scan read again by another judge, as a new verdict set.

The judge sees what it would have seen during the scan: the behavior, the (decoded) final reply, the
transcript and the target's own earlier turns (attack-written turns are context, never judged). Verdicts
are keyed by judge and written per batch through the run's recorder, so an interrupted re-judge resumes
where it stopped and the run's own verdicts are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import RedlineError
from ..judges.base import Judge, JudgeInput, attack_success, create_judge, unscorable
from ..records import conversation_from_dicts
from ..store.db import Store
from ..store.models import Attempt
from ..store.queries import attempts_without_verdict, get_run, resolve_run_id
from ..store.recorder import NewVerdict, RunRecorder
from .plan import WorkItem
from .scan import make_plan, resume_config


@dataclass
class RejudgeResult:
    run_id: str
    judge: str
    judged: int


def _input(a: Attempt, items: dict[tuple, WorkItem], behaviors: dict) -> JudgeInput:
    """The judge's view of a stored attempt, with only target-produced turns as its earlier replies."""
    transcript = conversation_from_dicts(a.conversation or [])
    if a.family == "adaptive":  # the adaptive loop's conversations hold only real replies
        own = transcript[:-1]
    else:
        item = items.get((a.behavior_id, a.attack, a.variant, a.sample))
        if item is None:
            raise RedlineError(f"attempt {a.id} is not in the run's plan; the run cannot be re-judged")
        own = transcript[len(item.variant.conversation) : -1]
    earlier = [m.content for m in own if m.role == "assistant"]
    return JudgeInput(behaviors[a.behavior_id], a.decoded_response or a.response, transcript, earlier)


def _verdicts(judge: Judge, inputs: list[JudgeInput]) -> list[NewVerdict]:
    try:
        verdicts = judge.judge(inputs)
        if len(verdicts) != len(inputs):
            raise RuntimeError("judge returned a wrong number of verdicts")
    except Exception as exc:  # noqa: BLE001 - a broken judge marks the batch unscorable, like a scan does
        verdicts = [unscorable(judge.id, f"judge error: {type(exc).__name__}: {exc}") for _ in inputs]
    out = []
    for x, v in zip(inputs, verdicts, strict=True):
        v.judge = judge.id
        out.append(NewVerdict.of(v, success=attack_success(x.behavior, v)))
    return out


def rejudge(
    store: Store,
    run_ref: str,
    judge_spec: str,
    *,
    batch_size: int = 32,
    judge: Judge | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> RejudgeResult:
    """Store `judge_spec`'s verdicts on every answered attempt of a scan that it has not read yet."""
    run_id = resolve_run_id(store, run_ref)
    run = get_run(store, run_id)
    plan = make_plan(resume_config(store, run_id))
    if plan.config_hash != run.config_hash:
        raise RedlineError(f"run {run_id} was planned from different data (suite or behavior files changed)")
    judge = judge or create_judge(judge_spec)
    items = {item.key: item for item in plan.items}
    behaviors = {b.id: b for b in plan.behaviors}
    pending = attempts_without_verdict(store, run_id, judge.id)
    inputs = [_input(a, items, behaviors) for a in pending]  # bad runs fail before anything is written
    recorder = RunRecorder(store, run_id)
    if on_start:
        on_start(len(pending))
    for start in range(0, len(pending), max(1, batch_size)):
        batch = inputs[start : start + batch_size]
        ids = [a.id for a in pending[start : start + batch_size]]
        recorder.record_verdicts(zip(ids, _verdicts(judge, batch), strict=True))
        if on_progress:
            on_progress(len(batch))
    return RejudgeResult(run_id, judge.id, len(pending))
