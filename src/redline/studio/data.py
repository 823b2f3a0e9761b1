"""What the studio reads and writes: label queues, human labels (`human:NAME` verdicts), agreement, findings.

Every write goes through `RunRecorder`; agreement figures come from `judges.metaeval.agreement_metrics`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import RedlineError
from ..judges.base import HARM_THRESHOLD, Verdict, attack_success
from ..judges.metaeval import agreement_metrics
from ..policy.evidence import elicitations
from ..policy.gate import other_readings
from ..policy.model import load_policy
from ..probes.behavior import CATEGORIES, Behavior
from ..redaction import redact
from ..stats import fleiss_kappa, fleiss_kappa_interval
from ..store.db import Store
from ..store.models import Attempt, BehaviorRow
from ..store.queries import AttemptRecord, get_run, list_runs, load_attempts, other_verdicts
from ..store.recorder import NewAttempt, NewVerdict, RunRecorder

HUMAN = "human:"
LABELS = ("refused", "complied", "unscorable")
SEVERITIES = ("low", "medium", "high", "critical")
VERDICT_FILTERS = ("", "refused", "complied", "unscorable", "success", "unjudged", "disagree", "candidate")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


def check_name(name: str) -> str:
    """A labeller's or tester's name: 1-40 letters, digits, `_`, `.` or `-`."""
    name = (name or "").strip()
    if not _NAME.match(name):
        raise RedlineError("a name is 1-40 letters, digits, '_', '.' or '-'")
    return name


def behavior_of(fields: dict[str, Any]) -> Behavior:
    """The stored behavior fields as a `Behavior` (fields this version does not know are dropped)."""
    return Behavior(**{k: v for k, v in fields.items() if k in Behavior.model_fields})


def human_success(behavior: Behavior, judge: str, label: str, harm: float) -> bool | None:
    """What a human label means for the probe, by the judges' own rule (`judges.base.attack_success`)."""
    return attack_success(behavior, Verdict(label=label, harm=harm, judge=judge, confidence=1.0))


@dataclass
class QueueFilter:
    """Which attempts of a run to label, in which order (`random` is a stable shuffle by `seed`)."""

    run_id: str
    category: str = ""
    verdict: str = ""
    order: str = "stored"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.verdict not in VERDICT_FILTERS:
            raise RedlineError(f"unknown verdict filter {self.verdict!r}")
        if self.order not in ("stored", "random"):
            raise RedlineError(f"unknown order {self.order!r} (stored, random)")

    def keeps(self, r: AttemptRecord, chosen: set[int] = frozenset()) -> bool:
        """Whether `r` is in the queue; `chosen`: the attempts a `disagree` or `candidate` filter selected."""
        if r.state != "ok" or (self.category and r.category != self.category):
            return False
        if self.verdict in ("disagree", "candidate"):
            return r.attempt_id in chosen
        if self.verdict == "success":
            return r.success is True
        if self.verdict == "unjudged":
            return r.label is None
        return not self.verdict or r.label == self.verdict


@dataclass
class Queue:
    """The attempts left for one labeller under a filter, and how many they labelled already."""

    left: list[AttemptRecord] = field(default_factory=list)
    done: int = 0
    categories: list[str] = field(default_factory=list)


def human_labels(store: Store, run_id: str) -> dict[int, dict[str, tuple[str, float | None]]]:
    """attempt id -> {`human:NAME`: (label, harm)} for a run."""
    out: dict[int, dict[str, tuple[str, float | None]]] = {}
    for attempt_id, judge, _success, harm, label in other_verdicts(store, run_id, ""):
        if judge.startswith(HUMAN):
            out.setdefault(attempt_id, {})[judge] = (label, harm)
    return out


def disputed(store: Store, run_id: str) -> set[int]:
    """Attempts of a run that two or more (non-human) judges read differently (refused / complied / unscorable)."""
    labels: dict[int, set[str]] = {}
    for attempt_id, judge, _success, _harm, label in other_verdicts(store, run_id, ""):
        if not judge.startswith(HUMAN):
            labels.setdefault(attempt_id, set()).add(label)
    return {aid for aid, seen in labels.items() if len(seen) > 1}


def candidates(store: Store, run_id: str, records: list[AttemptRecord]) -> set[int]:
    """The failing attempts of elicited behaviors the default policy does not count as confirmed yet (a person's
    label on one of them is the second reading the gate asks for)."""
    found = elicitations(records, load_policy(), other_readings(store, run_id))
    return {aid for e in found.values() if not e.confirmed for aid in e.failures}


def label_queue(store: Store, f: QueueFilter, name: str) -> Queue:
    records = load_attempts(store, f.run_id)
    mine = {aid for aid, by in human_labels(store, f.run_id).items() if HUMAN + name in by}
    chosen = (disputed(store, f.run_id) if f.verdict == "disagree"
              else candidates(store, f.run_id, records) if f.verdict == "candidate" else set())
    kept = [r for r in records if f.keeps(r, chosen)]
    if f.order == "random":
        kept.sort(key=lambda r: hashlib.sha256(f"{f.seed}:{r.attempt_id}".encode()).hexdigest())
    return Queue(
        left=[r for r in kept if r.attempt_id not in mine],
        done=sum(r.attempt_id in mine for r in kept),
        categories=sorted({r.category for r in records}),
    )


def attempt_record(store: Store, run_id: str, attempt_id: int) -> AttemptRecord:
    for r in load_attempts(store, run_id):
        if r.attempt_id == attempt_id:
            return r
    raise RedlineError(f"no attempt {attempt_id} in run {run_id}")


def save_label(store: Store, attempt_id: int, name: str, label: str, harm: float) -> str:
    """Store (or replace) NAME's label of one attempt as a `human:NAME` verdict; returns the run id.

    Each (attempt, labeller) is its own verdict row, so labellers never overwrite each other."""
    if label not in LABELS:
        raise RedlineError(f"unknown label {label!r} (refused, complied, unscorable)")
    if not 0.0 <= harm <= 1.0:
        raise RedlineError("harm is a number from 0 to 1")
    judge = HUMAN + check_name(name)
    with store.session() as s:
        row = s.get(Attempt, attempt_id)
        if row is None:
            raise RedlineError(f"no attempt {attempt_id}")
        run_id = row.run_id
        b = s.get(BehaviorRow, (run_id, row.behavior_id))
        fields = {"id": b.behavior_id, "goal": b.goal, "category": b.category, "subcategory": b.subcategory,
                  "expected": b.expected, **(b.data or {})}
    verdict = Verdict(label=label, harm=harm, judge=judge, confidence=1.0)
    new = NewVerdict.of(verdict, success=human_success(behavior_of(fields), judge, label, harm),
                        rationale="studio label")
    RunRecorder(store, run_id).record_verdicts([(attempt_id, new)])
    return run_id


def _verdicts(store: Store, run_id: str | None) -> dict[int, dict[str, str]]:
    """attempt id -> {judge: label} over one run or all runs."""
    run_ids = [run_id] if run_id else [r["run_id"] for r in list_runs(store)]
    out: dict[int, dict[str, str]] = {}
    for rid in run_ids:
        for attempt_id, judge, _success, _harm, label in other_verdicts(store, rid, ""):
            out.setdefault(attempt_id, {})[judge] = label
    return out


def _compare(by_attempt: dict[int, dict[str, str]], reference: str, other: str) -> dict[str, Any] | None:
    """`agreement_metrics` of `other` against `reference` (a human) on the attempts both read."""
    pairs = [
        (v[reference] == "complied", v[other])
        for v in by_attempt.values()
        if reference in v and other in v and v[reference] != "unscorable"
    ]
    if not pairs:
        return None
    out = agreement_metrics([h for h, _ in pairs], [p for _, p in pairs])
    return {"reference": reference, "other": other, **out}


def agreement(store: Store, run_id: str | None = None) -> dict[str, Any]:
    """Human-vs-human and judge-vs-human agreement (answered: complied vs not), live from the store."""
    by_attempt = _verdicts(store, run_id)
    judges = sorted({j for v in by_attempt.values() for j in v})
    humans = [j for j in judges if j.startswith(HUMAN)]
    machines = [j for j in judges if not j.startswith(HUMAN)]
    raters = [c for a_i, a in enumerate(humans) for b in humans[a_i + 1 :] if (c := _compare(by_attempt, a, b))]
    judge_rows = [c for j in machines for h in humans if (c := _compare(by_attempt, h, j))]
    labelled = sum(any(j.startswith(HUMAN) for j in v) for v in by_attempt.values())
    return {"run_id": run_id, "humans": humans, "judges": machines, "labelled_attempts": labelled,
            "raters": raters, "judge_vs_human": judge_rows, "fleiss": fleiss(by_attempt, humans)}


def fleiss(by_attempt: dict[int, dict[str, str]], humans: list[str]) -> dict[str, Any] | None:
    """Fleiss' kappa over every attempt two or more people labelled (all labels: refused, complied,
    unscorable), with a bootstrap interval over attempts; None until some attempt has two human labels."""
    ratings = [[v[h] for h in humans if h in v] for v in by_attempt.values()]
    ratings = [r for r in ratings if len(r) >= 2]
    if not ratings:
        return None
    ci = fleiss_kappa_interval(ratings)
    return {"items": len(ratings), "raters": len(humans), "kappa": fleiss_kappa(ratings),
            "low": ci[0] if ci else None, "high": ci[1] if ci else None}


def export_generic(store: Store, run_id: str) -> str:
    """Human-labelled attempts of a run as a `generic` judge-eval CSV (majority of the human labels; ties and
    unscorable majorities are left out): prompt, response, label, expected, harmful."""
    labels = human_labels(store, run_id)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["prompt", "response", "label", "expected", "harmful"])
    for r in load_attempts(store, run_id):
        votes = [v for v in labels.get(r.attempt_id, {}).values() if v[0] != "unscorable"]
        complied = sum(v[0] == "complied" for v in votes)
        if not votes or 2 * complied == len(votes):
            continue
        label = "complied" if 2 * complied > len(votes) else "refused"
        harms = sorted(h or 0.0 for lab, h in votes if lab == label)
        harmful = "true" if label == "complied" and harms[len(harms) // 2] >= HARM_THRESHOLD else "false"
        response = r.decoded_response if r.decoded_response is not None else r.response
        w.writerow([r.goal, response, label, r.expected, harmful])
    return buf.getvalue()


@dataclass
class FindingIn:
    """A conversation a tester saves: what was sent, what came back, and the tester's reading of it."""

    tester: str
    target: str
    category: str
    severity: str
    goal: str
    conversation: list[dict[str, str]]
    response: str
    decoded_response: str | None = None
    attack: str = "manual"
    family: str = "manual"
    label: str = "complied"
    harm: float = 1.0
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        check_name(self.tester)
        if self.category not in CATEGORIES:
            raise RedlineError(f"unknown category {self.category!r} ({', '.join(CATEGORIES)})")
        if self.severity not in SEVERITIES:
            raise RedlineError(f"unknown severity {self.severity!r} ({', '.join(SEVERITIES)})")
        if self.label not in LABELS:
            raise RedlineError(f"unknown label {self.label!r}")
        if not 0.0 <= self.harm <= 1.0:
            raise RedlineError("harm is a number from 0 to 1")
        if not self.conversation or not self.goal.strip():
            raise RedlineError("nothing to save: send a message first")


def manual_run(store: Store, tester: str, target: str) -> str:
    """The tester's open `manual` run on `target` (created on first use): its judge is `human:TESTER`, so
    gate, report and diff read the tester's verdicts as the run's own."""
    judge = HUMAN + tester
    for r in list_runs(store, kind="manual"):
        if r["status"] == "running" and r["target"] == redact(target) and get_run(store, r["run_id"]).judge == judge:
            return r["run_id"]
    return RunRecorder.start(store, "manual", target, {"source": "studio", "tester": tester}, target_id=target,
                             suite="manual", judge=judge).run_id


def save_finding(store: Store, f: FindingIn) -> tuple[str, int]:
    """Store a finding as an attempt (with the tester's verdict) of their manual run; returns (run, attempt)."""
    f.check()
    judge = HUMAN + f.tester
    run_id = manual_run(store, f.tester, f.target)
    recorder = RunRecorder(store, run_id)
    n = sum(1 for _ in load_attempts(store, run_id)) + 1
    behavior = Behavior(
        id=f"finding-{n:04d}-{hashlib.sha256(repr(f.conversation).encode()).hexdigest()[:6]}",
        goal=f.goal.strip(), category=f.category, source="studio",
        tags=[f"severity:{f.severity}", *[t for t in f.tags if t]],
    )
    recorder.add_behaviors([behavior])
    verdict = NewVerdict(judge=judge, label=f.label, harm=f.harm if f.label == "complied" else 0.0,
                         confidence=1.0, success=human_success(behavior, judge, f.label, f.harm),
                         rationale=redact(f.notes)[:2000])
    params = {**f.params, "severity": f.severity, "tester": f.tester, "notes": redact(f.notes), "tags": f.tags}
    (attempt_id,) = recorder.record([
        NewAttempt(behavior_id=behavior.id, attack=f.attack, family=f.family, variant="", sample=0,
                   category=f.category, state="ok", conversation=f.conversation, response=f.response,
                   decoded_response=f.decoded_response, params=params, verdict=verdict)
    ])
    return run_id, attempt_id
