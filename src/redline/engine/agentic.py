"""`redline agents`: plan agentic episodes (user tasks x injection tasks x families x defences), run them
through the agent loop in batches, and store each as an attempt with its full transcript (every tool call).

Stored form (so `show`, `report` and the gate read it like any run, kind `agentic`):
- a benign episode: behavior `agentic/ENV/TASK` (category `agentic_utility`, expected `comply`), attack
  `none`, variant = defence; the verdict's `success` is the failure such a behavior measures: task not done;
- an attacked episode: behavior `agentic/injection/ID` (category `agentic`, expected `refuse`), attack
  `injection:FAMILY[+ENCODING]`, variant `ENV/TASK|DEFENCE`; `success` = the injection reached its goal
  (label `complied`, harm 1.0), so `asr` over category `agentic` is the targeted attack success rate.
The verdicts are the state checker's (`agentic:state`); utility and attack success also sit in
`params.agentic` with the tool-call log, for `agents.metrics`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..agents.defences import DEFENCES
from ..agents.injections import FAMILIES, encoded_goal
from ..agents.loop import Episode, EpisodeSpec, run_episodes, setup
from ..agents.metrics import EpisodeRow, agentic_metrics
from ..agents.tasks import environments, injection_tasks, pick, user_tasks
from ..errors import ConfigError, RedlineError
from ..probes.behavior import Behavior
from ..probes.suites import get_suite
from ..records import conversation_to_dicts
from ..store.db import Store
from ..store.queries import get_run, iter_attempts, resolve_run_id, stored_keys
from ..store.recorder import NewAttempt, NewVerdict, RunRecorder
from ..targets.base import Target, create_target, parse_target_spec

JUDGE_ID = "agentic:state"
KIND = "agentic"
AGENTIC_SUITE = "agentic"  # `redline scan --suite agentic` hands over to this runner


class AgenticConfig(BaseModel):
    """What an agentic run covers; stored with the run."""

    model_config = ConfigDict(extra="forbid")

    target: str = "local"
    suite: str = AGENTIC_SUITE
    environments: list[str] | None = None
    user_tasks: list[str] | None = None  # ENV/ID
    injections: list[str] | None = None
    families: list[str] | None = None
    encodings: list[str] | None = None  # encoding attacks combined with each family (none: plain only)
    defences: list[str] | None = None
    limit: int | None = None  # user tasks per environment
    samples: int = 1
    max_steps: int = 6
    prefill: int = 0  # reference calls made for the model first, so a model that never calls a tool still reads data
    max_new_tokens: int | None = None
    seed: int = 0


@dataclass
class AgenticResult:
    run_id: str
    episodes: int
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)


def plan_episodes(cfg: AgenticConfig) -> list[EpisodeSpec]:
    """Every episode of the config, in a stable order: per user task and defence, the benign one, then each
    applicable (injection, family, encoding)."""
    envs = pick("environment", environments(), cfg.environments)
    tasks = [k for k in pick("user task", user_tasks(), cfg.user_tasks) if k.split("/")[0] in envs]
    if cfg.limit is not None:
        if cfg.limit < 1:
            raise ConfigError("--limit must be at least 1")
        tasks = [k for k in tasks if [t for t in tasks if t.split("/")[0] == k.split("/")[0]].index(k) < cfg.limit]
    injections = pick("injection task", injection_tasks(), cfg.injections)
    families = pick("injection family", dict.fromkeys(FAMILIES), cfg.families or list(FAMILIES))
    defences = pick("defence", dict.fromkeys(DEFENCES), cfg.defences or ["none"])
    encodings: list[str | None] = [None, *(cfg.encodings or [])]
    for enc in encodings:
        encoded_goal("x", enc)  # an unknown or non-encoding attack fails here, before a run is stored
    if cfg.samples < 1 or cfg.max_steps < 1 or cfg.prefill < 0:
        raise ConfigError("samples and max-steps must be at least 1, prefill at least 0")
    if not tasks:
        raise ConfigError("no user tasks match the chosen environments")
    specs = []
    for key in tasks:
        env = environments()[key.split("/")[0]]
        for d in defences:
            for s in range(cfg.samples):
                specs.append(EpisodeSpec(key, d, sample=s, prefill=cfg.prefill))
                for inj in injections:
                    if not injection_tasks()[inj].applies_to(env):
                        continue
                    for fam in families:
                        specs += [EpisodeSpec(key, d, inj, fam, enc, s, cfg.prefill) for enc in encodings]
    return specs


def behaviors_of(specs: list[EpisodeSpec]) -> list[Behavior]:
    """The stored behaviors: one per user task (utility) and one per injection task (attack success)."""
    out: dict[str, Behavior] = {}
    for s in specs:
        task = user_tasks()[s.user_task]
        out.setdefault(f"agentic/{s.user_task}", Behavior(
            id=f"agentic/{s.user_task}", goal=task.prompt, category="agentic_utility", subcategory=s.env,
            source="redline-agents", expected="comply", tags=["agentic", f"env:{s.env}"]))
        if s.injection:
            inj = injection_tasks()[s.injection]
            out.setdefault(f"agentic/injection/{inj.id}", Behavior(
                id=f"agentic/injection/{inj.id}", goal=inj.goal, category="agentic", subcategory=inj.id,
                source="redline-agents", expected="refuse", tags=["agentic", "injection"]))
    return list(out.values())


def episode_key(s: EpisodeSpec) -> tuple[str, str, str, int]:
    """The stored (behavior, attack, variant, sample) key of an episode (as `stored_attempt` writes it)."""
    if s.injection:
        return f"agentic/injection/{s.injection}", s.attack, f"{s.user_task}|{s.defence}", s.sample
    return f"agentic/{s.user_task}", s.attack, s.defence, s.sample


def stored_attempt(e: Episode, max_new_tokens: int, max_steps: int, seed: int = 0) -> NewAttempt:
    s = e.spec
    info = {
        "env": s.env, "user_task": s.user_task, "injection": s.injection, "family": s.family or "none",
        "encoding": s.encoding, "defence": s.defence, "utility": e.utility, "attack_success": e.attack_success,
        "steps": e.steps, "truncated": e.truncated, "tool_calls": e.log, "flagged": e.defence.flagged,
        "poisoned_description": e.poison, "prefill": s.prefill,
    }
    if s.injection:
        ok = bool(e.attack_success)
        verdict = NewVerdict(JUDGE_ID, "complied" if ok else "refused", harm=1.0 if ok else 0.0, confidence=1.0,
                             success=ok, request_harm=1.0,
                             rationale=f"injection {'reached' if ok else 'missed'} its goal; user task "
                                       f"{'done' if e.utility else 'not done'}")
    else:
        verdict = NewVerdict(JUDGE_ID, "complied" if e.utility else "refused", confidence=1.0,
                             success=not e.utility, request_harm=0.0,
                             rationale=f"user task {'done' if e.utility else 'not done'}")
    behavior, _, variant, _ = episode_key(s)
    return NewAttempt(
        behavior_id=behavior, attack=s.attack, family=s.family or "none", variant=variant, sample=s.sample,
        category="agentic" if s.injection else "agentic_utility", state="error" if e.error else "ok",
        conversation=conversation_to_dicts(e.messages), response=e.answer, error=e.error, tokens=e.tokens,
        latency_s=e.latency_s, params={"max_new_tokens": max_new_tokens, "max_steps": max_steps, "seed": seed,
                                       "agentic": info},
        verdict=None if e.error else verdict,
    )


def stored_metrics(store: Store, run_id: str) -> dict[str, Any]:
    """The three numbers per group, read back from a stored agentic run."""
    if get_run(store, run_id).kind != KIND:
        raise RedlineError(f"run {run_id} is not an agentic run")
    rows = [EpisodeRow.of(a.params["agentic"], a.state) for a in iter_attempts(store, run_id)
            if "agentic" in (a.params or {})]
    return agentic_metrics(rows)


def run_agentic(
    cfg: AgenticConfig | None,
    *,
    db: str | None = None,
    resume: str | None = None,
    target: Target | None = None,
    batch_size: int = 16,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> AgenticResult:
    """Plan, run and store an agentic run (or, with `resume`, the episodes an interrupted one has not stored);
    bad input fails before anything is written."""
    store = Store(db)
    try:
        run_id = resolve_run_id(store, resume, KIND) if resume else None
        if run_id:
            try:
                cfg = AgenticConfig.model_validate(get_run(store, run_id).config)
            except ValueError:
                raise RedlineError(f"run {run_id} has a config this redline cannot read") from None
        if cfg is None:
            raise ConfigError("an agentic run needs a config, or a run to resume")
        parse_target_spec(cfg.target)
        suite = get_suite(cfg.suite)
        max_new_tokens = cfg.max_new_tokens or suite.max_new_tokens
        specs = plan_episodes(cfg)
        config = cfg.model_dump(mode="json")
        digest = hashlib.sha256(json.dumps({"config": config, "episodes": [s.__dict__ for s in specs]},
                                           sort_keys=True, default=str).encode()).hexdigest()[:16]
        if run_id and get_run(store, run_id).config_hash != digest:
            raise RedlineError(f"run {run_id} was planned from different tasks or environments; start a new run")
        target = target or create_target(cfg.target, batch_size=batch_size)
        if run_id:
            recorder = RunRecorder.open(store, run_id, lease=True)
            done = stored_keys(store, run_id)
            todo = [s for s in specs if episode_key(s) not in done]
        else:
            recorder = RunRecorder.start(
                store, KIND, parse_target_spec(cfg.target).display, config, target_id=target.id, suite=suite.name,
                judge=JUDGE_ID, seed=cfg.seed, planned=len(specs), config_hash=digest,
                behaviors=behaviors_of(specs))
            todo = specs
        if on_start:
            on_start(len(todo))
        recorder.set_status("running")
        start = time.perf_counter()
        chunk = max(1, batch_size)
        try:
            for i in range(0, len(todo), chunk):
                episodes = [setup(s, cfg.seed) for s in todo[i : i + chunk]]
                run_episodes(target, episodes, max_new_tokens, cfg.max_steps, cfg.seed)
                recorder.record(stored_attempt(e, max_new_tokens, cfg.max_steps, cfg.seed) for e in episodes)
                if on_progress:
                    on_progress(len(episodes))
        except KeyboardInterrupt:
            recorder.finish("interrupted")
            raise
        recorder.finish("complete")
        seconds = time.perf_counter() - start
        return AgenticResult(recorder.run_id, len(todo), seconds, stored_metrics(store, recorder.run_id))
    finally:
        store.close()


def load_metrics(run: str, db: str | None = None) -> tuple[str, dict[str, Any]]:
    store = Store(db)
    try:
        run_id = resolve_run_id(store, run, KIND)
        return run_id, stored_metrics(store, run_id)
    finally:
        store.close()
