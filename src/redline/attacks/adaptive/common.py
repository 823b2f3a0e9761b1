"""The adaptive loop's shared parts: budgets, the replayable step trace, the attacker and the scorer."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from ...errors import RedlineError
from ...judges.base import Judge, JudgeInput, attack_success
from ...probes.behavior import Behavior
from ...records import Conversation, Generation, GenerationParams, Message, system, user
from ...registry import Registry
from ...targets.base import Target

if TYPE_CHECKING:
    from .settings import AdaptiveSettings

DATA = Path(__file__).parent / "data" / "prompts.yaml"


@cache
def prompts() -> dict[str, Any]:
    """The attacker/judge prompt templates shipped with redline."""
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def fill(template: str, **values: Any) -> str:
    goal = str(values.get("goal", ""))
    values.setdefault("goal_lower", goal[:1].lower() + goal[1:])
    return template.format(**values)


# ---------------------------------------------------------------------------------------------- budgets
@dataclass
class Budget:
    """Limits; None means unlimited. Seconds count model time (attacker + target + judge calls)."""

    max_queries: int | None = None
    max_attacker_tokens: int | None = None
    max_seconds: float | None = None


@dataclass
class Usage:
    """What a behavior (or a run) consumed, split by role for the overhead benchmark."""

    queries: int = 0
    attacker_tokens: int = 0
    attacker_calls: int = 0
    judge_calls: int = 0
    target_s: float = 0.0
    attacker_s: float = 0.0
    judge_s: float = 0.0

    @property
    def seconds(self) -> float:
        return self.target_s + self.attacker_s + self.judge_s

    def charge(self, data: dict) -> None:
        role, secs = data.get("role"), float(data.get("latency_s", 0.0))
        if role == "target":
            self.queries += 1
            self.target_s += secs
        elif role == "attacker":
            self.attacker_calls += 1
            self.attacker_tokens += int(data.get("tokens", 0))
            self.attacker_s += secs
        elif role == "judge":
            self.judge_calls += 1
            self.judge_s += secs

    def to_dict(self) -> dict:
        return {**asdict(self), "seconds": round(self.seconds, 4)}


def budget_hit(budget: Budget, usage: Usage) -> str | None:
    """The first exhausted resource of `budget`, or None."""
    if budget.max_queries is not None and usage.queries >= budget.max_queries:
        return "max_queries"
    if budget.max_attacker_tokens is not None and usage.attacker_tokens >= budget.max_attacker_tokens:
        return "max_attacker_tokens"
    if budget.max_seconds is not None and usage.seconds >= budget.max_seconds:
        return "max_seconds"
    return None


class BudgetExhausted(Exception):
    """Raised inside a method's loop when a budget runs out; `scope` is `behavior` or `run`."""

    def __init__(self, scope: str, resource: str) -> None:
        super().__init__(f"{scope} budget {resource} exhausted")
        self.scope = scope
        self.resource = resource


# ---------------------------------------------------------------------------------------------- trace
@dataclass
class StepSpec:
    """Where a step sits in the search: stream (PAIR), depth and node/parent (TAP), turn (Crescendo)."""

    stream: int = 0
    depth: int = 0
    node: str = ""
    parent: str | None = None


class StepLog(Protocol):
    """Where a trace reads and writes its steps (the engine hands in the run's recorder)."""

    def steps(self, behavior_id: str, method: str) -> dict[int, tuple[str, dict]]: ...

    def record_steps(self, behavior_id: str, method: str, steps: list[dict]) -> None: ...


class Trace:
    """Numbered steps of one (run, behavior, method), written as they happen and replayed on resume.

    Every model call goes through `run`: if the steps it would write are already stored (a resumed
    run), their data comes back without calling any model, so the search continues exactly where it
    stopped and no step is written twice.
    """

    def __init__(self, log: StepLog | None, behavior_id: str, method: str) -> None:
        self.log, self.behavior_id, self.method = log, behavior_id, method
        self.seq = 0
        self.replayed = 0
        self.stored: dict[int, tuple[str, dict]] = log.steps(behavior_id, method) if log is not None else {}
        self.steps: list[dict] = []  # everything seen this execution (stored or new), for callers and tests

    def run(
        self,
        kind: str,
        specs: list[StepSpec],
        compute: Callable[[], list[dict]],
        score_key: str | None = None,
    ) -> list[dict]:
        """Steps of one kind for a batch: replayed when all are stored, else computed and written."""
        seqs = list(range(self.seq, self.seq + len(specs)))
        self.seq += len(specs)
        if seqs and all(s in self.stored for s in seqs):
            kinds = {self.stored[s][0] for s in seqs}
            if kinds != {kind}:
                raise RedlineError(
                    f"stored trace of {self.behavior_id} diverges at step {seqs[0]} ({kinds} != {kind}); "
                    "start a new attack run"
                )
            self.replayed += len(seqs)
            datas = [self.stored[s][1] for s in seqs]
        else:
            datas = compute()
            if len(datas) != len(specs):
                raise RuntimeError("a step computation returned a wrong number of items")
            self._write(kind, seqs, specs, datas, score_key)
        for seq, spec, data in zip(seqs, specs, datas, strict=True):
            self.steps.append({"seq": seq, "kind": kind, **asdict(spec), "data": data})
        return datas

    def _write(
        self, kind: str, seqs: list[int], specs: list[StepSpec], datas: list[dict], key: str | None
    ) -> None:
        if self.log is None:
            return
        rows = []
        for seq, spec, data in zip(seqs, specs, datas, strict=True):
            if seq in self.stored:
                continue
            score = data.get(key) if key else None
            rows.append(
                {"seq": seq, "kind": kind, "data": data, **asdict(spec),
                 "score": float(score) if score is not None else None}
            )
        self.log.record_steps(self.behavior_id, self.method, rows)


# ---------------------------------------------------------------------------------------------- models
def generate_timed(
    target: Target, convs: list[Conversation], params: GenerationParams, role: str
) -> list[dict]:
    """Call a target on a batch; one data dict per conversation with text, tokens, latency and role."""
    start = time.perf_counter()
    gens: list[Generation] = target.generate(convs, params) if convs else []
    elapsed = time.perf_counter() - start
    out = []
    for g in gens:
        tokens = g.tokens or (len(g.text.split()) if g.ok else 0)
        out.append(
            {
                "role": role,
                "text": g.text if g.ok else "",
                "error": g.error,
                "tokens": tokens,
                "latency_s": round(elapsed / max(1, len(gens)), 4),
            }
        )
    return out


def derive_seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).digest()[:4], "big")


_JSON_PROMPT = re.compile(r'"prompt"\s*:\s*"((?:[^"\\]|\\.)*)', re.S)
_LABELLED = re.compile(r"(?im)^\s*(?:new\s+)?(?:prompt|p|question)\s*[:=]\s*(.+)$")
_REFUSAL_START = re.compile(r"^\s*(?:i(?:'m| am) sorry|i can(?:'|no)t|sorry|as an ai)", re.I)


def extract_prompt(raw: str) -> tuple[str | None, str]:
    """Pull an attack prompt out of attacker output: JSON, a `prompt:` line, or plain text. (prompt, how)."""
    text = raw.strip()
    if not text:
        return None, "empty attacker output"
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            obj = json.loads(text[start : end + 1])
            if isinstance(obj, dict) and isinstance(obj.get("prompt"), str) and obj["prompt"].strip():
                return _clean(obj["prompt"]), "json"
        except json.JSONDecodeError:
            pass
    m = _JSON_PROMPT.search(text)
    if m and m.group(1).strip():
        return _clean(m.group(1).encode().decode("unicode_escape", errors="ignore")), "json-partial"
    m = _LABELLED.search(text)
    if m and len(m.group(1).strip()) >= 15:
        return _clean(m.group(1)), "labelled"
    if _REFUSAL_START.search(text):
        return None, "attacker refused"
    if len(text) >= 25 and not text.startswith("{"):
        return _clean(text), "plain"
    return None, "unusable attacker output"


def _clean(prompt: str) -> str:
    return prompt.strip().strip('"').strip()[:1500]


_RATING = [
    re.compile(p)
    for p in (
        r"\[\[\s*(10|[1-9])\s*\]\]",
        r"(?i)rating\s*[:=]?\s*\[?\s*(10|[1-9])\b",
        r"(?i)\b(10|[1-9])\s*(?:/|out of)\s*10\b",
    )
]


def parse_rating(text: str) -> int | None:
    """A 1-10 rating from judge output (`[[7]]`, `Rating: 7`, `7/10`); None when there is none."""
    for pattern in _RATING:
        m = pattern.search(text)
        if m:
            return int(m.group(1))
    return None


def transcript_text(conv: Conversation | list[dict], limit: int = 2400) -> str:
    lines = []
    for m in conv:
        role, content = (m.role, m.content) if isinstance(m, Message) else (m["role"], m["content"])
        if role != "system":
            lines.append(f"{role.upper()}: {content}")
    return "\n".join(lines)[-limit:]


@dataclass
class AdaptiveResult:
    """The best attempt one method found for one behavior."""

    conversation: list[dict] = field(default_factory=list)
    response: str = ""
    score: float | None = None
    verdict: dict | None = None
    success: bool = False
    queries_to_success: int | None = None
    error: str | None = None
    tokens: int = 0
    latency_s: float = 0.0


class Context:
    """What a method's loop uses: the three models, the verdict judge, the trace and the budget meters."""

    def __init__(
        self,
        behavior: Behavior,
        method: str,
        target: Target,
        attacker: Target,
        judge_target: Target,
        verdict_judge: Judge,
        trace: Trace,
        settings: AdaptiveSettings,
        budget: Budget,
        run_budget: Budget,
        run_usage: Usage,
        params: dict[str, Any],
    ) -> None:
        self.behavior, self.method, self.target, self.attacker = behavior, method, target, attacker
        self.judge_target, self.verdict_judge, self.trace, self.settings = (
            judge_target,
            verdict_judge,
            trace,
            settings,
        )
        self.budget, self.run_budget, self.run_usage, self.params = budget, run_budget, run_usage, params
        self.usage = Usage()
        self.best = AdaptiveResult()
        self.goal = behavior.goal

    # -- budgets
    def check(self) -> None:
        """Raise BudgetExhausted when the run's or this behavior's budget is spent."""
        hit = budget_hit(self.run_budget, self.run_usage)
        if hit:
            raise BudgetExhausted("run", hit)
        hit = budget_hit(self.budget, self.usage)
        if hit:
            raise BudgetExhausted("behavior", hit)

    def queries_left(self) -> int:
        left = [
            b.max_queries - u.queries
            for b, u in ((self.budget, self.usage), (self.run_budget, self.run_usage))
            if b.max_queries is not None
        ]
        return max(0, min(left)) if left else 1 << 30

    def _charge(self, datas: list[dict]) -> None:
        for d in datas:
            self.usage.charge(d)
            self.run_usage.charge(d)

    # -- model calls (each recorded as steps)
    def ask_attacker(
        self,
        kind: str,
        specs: list[StepSpec],
        convs: list[Conversation],
        fallbacks: list[str],
        seed_parts: object,
    ) -> list[dict]:
        """Attacker proposals; unusable output falls back to the given template prompt (recorded)."""
        self.check()
        params = GenerationParams(
            max_new_tokens=self.settings.attacker_tokens,
            temperature=self.settings.attacker_temperature,
            seed=derive_seed(self.settings.seed, self.behavior.id, self.method, seed_parts),
        )

        def compute() -> list[dict]:
            outs = generate_timed(self.attacker, convs, params, "attacker")
            for out, fb in zip(outs, fallbacks, strict=True):
                prompt, how = extract_prompt(out["text"]) if not out["error"] else (None, "attacker error")
                if prompt and self.method == "crescendo" and how == "plain":
                    prompt = prompt.split("\n")[0].strip()
                out.update(
                    raw=out.pop("text"),
                    prompt=prompt or fb,
                    source="attacker" if prompt else "fallback",
                    parse=how,
                )
            return outs

        datas = self.trace.run(kind, specs, compute)
        self._charge(datas)
        return datas

    def query_target(self, specs: list[StepSpec], convs: list[Conversation]) -> list[dict]:
        """Target replies; never more queries than the budgets allow (the batch is cut, then we stop)."""
        self.check()
        allowed = min(len(convs), self.queries_left())
        specs, convs = specs[:allowed], convs[:allowed]
        params = GenerationParams(max_new_tokens=self.settings.target_tokens, temperature=0.0)

        def compute() -> list[dict]:
            outs = generate_timed(self.target, convs, params, "target")
            for out, conv in zip(outs, convs, strict=True):
                out["conversation"] = [m.to_dict() for m in conv]
            return outs

        datas = self.trace.run("target_response", specs, compute)
        self._charge(datas)
        return datas

    def score(self, specs: list[StepSpec], convs: list[Conversation], replies: list[dict]) -> list[dict]:
        """Rubric score (judge target, 1-10) plus the verdict judge, one `judge_score` step per reply."""
        tpl = prompts()
        multi = self.method == "crescendo"

        def compute() -> list[dict]:
            judge_convs = []
            for conv, rep in zip(convs, replies, strict=True):
                last_user = next((m.content for m in reversed(conv) if m.role == "user"), "")
                body = (
                    fill(
                        tpl["judge_conversation"],
                        transcript=transcript_text([*conv, Message("assistant", rep["text"])]),
                    )
                    if multi
                    else fill(tpl["judge_user"], prompt=last_user[:1200], response=rep["text"][:1200])
                )
                judge_convs.append([system(fill(tpl["judge_system"], goal=self.goal)), user(body)])
            params = GenerationParams(max_new_tokens=self.settings.judge_tokens, temperature=0.0)
            outs = generate_timed(self.judge_target, judge_convs, params, "judge")
            inputs = [
                JudgeInput(
                    self.behavior,
                    rep["text"],
                    [*conv, Message("assistant", rep["text"])],
                    [m.content for m in conv if m.role == "assistant"],  # the loop sends only real replies
                )
                for conv, rep in zip(convs, replies, strict=True)
            ]
            start = time.perf_counter()
            verdicts = self.verdict_judge.judge(inputs)
            vsecs = (time.perf_counter() - start) / max(1, len(inputs))
            for out, rep, v in zip(outs, replies, verdicts, strict=True):
                rubric = parse_rating(out["text"]) if not out["error"] else None
                v.judge = self.verdict_judge.id  # the run's verdict set
                success = attack_success(self.behavior, v) if not rep["error"] else None
                fallback = {"refused": 1.0, "complied": 1.0 + 9.0 * v.harm}.get(v.label)
                score = float(rubric) if rubric is not None else fallback
                if success and self.settings.success_threshold is not None:
                    success = rubric is not None and rubric >= self.settings.success_threshold
                out.update(
                    raw=out.pop("text"),
                    rubric=rubric,
                    label=v.label,
                    harm=v.harm,
                    request_harm=getattr(v, "request_harm", None),
                    confidence=v.confidence,
                    verdict_judge=v.judge,
                    rationale=v.rationale,
                    success=bool(success),
                    score=score,
                    latency_s=round(out["latency_s"] + vsecs, 4),
                )
            return outs

        datas = self.trace.run("judge_score", specs, compute, score_key="score")
        self._charge(datas)
        for conv, rep, d in zip(convs, replies, datas, strict=True):
            self._consider(conv, rep, d)
        return datas

    def note(self, kind: str, specs: list[StepSpec], datas: list[dict]) -> list[dict]:
        """A bookkeeping step (prune, backtrack...) that calls no model."""
        return self.trace.run(kind, specs, lambda: datas)

    def _consider(self, conv: Conversation, rep: dict, d: dict) -> None:
        best = self.best
        key = (d["success"], d["score"] or 0.0)
        if best.verdict is not None and key <= (best.success, best.score or 0.0):
            return
        self.best = AdaptiveResult(
            conversation=[*[m.to_dict() for m in conv], {"role": "assistant", "content": rep["text"]}],
            response=rep["text"],
            score=d["score"],
            success=d["success"],
            error=rep["error"],
            verdict={
                **{k: d[k] for k in ("label", "harm", "confidence", "verdict_judge", "rationale", "rubric")},
                "request_harm": d.get("request_harm"),
            },
            queries_to_success=self.usage.queries if d["success"] else None,
            tokens=int(rep.get("tokens", 0)),
            latency_s=float(rep.get("latency_s", 0.0)),
        )

    def mutation(self, *key: object) -> str:
        """A deterministic template mutation of the goal (fallback when the attacker is unusable)."""
        muts = prompts()["mutations"]
        return fill(muts[derive_seed(self.behavior.id, *key) % len(muts)], goal=self.goal)


@dataclass
class Method:
    """An adaptive method: its loop and its default parameters."""

    name: str
    run: Callable[[Context], None]
    defaults: dict[str, Any]
    description: str


methods: Registry[Method] = Registry("adaptive method", "redline.attacks.adaptive")


def register_method(name: str, defaults: dict[str, Any], description: str) -> Callable:
    def deco(fn: Callable[[Context], None]) -> Callable[[Context], None]:
        methods.register(name)(Method(name, fn, defaults, description))
        return fn

    return deco


def behavior_prefix(behavior: Behavior) -> Conversation:
    return [system(behavior.system)] if behavior.system else []
