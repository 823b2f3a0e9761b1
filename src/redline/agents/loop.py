"""The agent loop: set up an episode (environment, user task, optional injection, defence), let a target call
tools for up to `max_steps` turns, execute every call against the episode's apps, then check the final state.

Targets with a native tools API (`supports_tools`: `openai:`, `python:` functions taking `tools`) get the
schemas in `GenerationParams.tools`; any other target (the embedded `local` model) gets the text protocol of
`agents.protocol`. Episodes of one step are generated as one batch.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from ..records import Conversation, Generation, GenerationParams, Message, ToolCall
from ..targets.base import Target
from .apps import APPS, AppSet
from .checks import evaluate
from .defences import SCREENS, Defence, make_defence
from .injections import NOTE_REF, PLANT_ORDER, build_injection, encoded_goal
from .protocol import parse_reply, to_text_conversation
from .tasks import EnvironmentSpec, InjectionTask, UserTask, environments, injection_tasks, user_tasks
from .user import SimulatedUser

DECLINED = "The user declined this action."


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode: a user task (`ENV/ID`), optionally attacked by an injection task in a family, under a defence."""

    user_task: str
    defence: str = "none"
    injection: str | None = None
    family: str | None = None
    encoding: str | None = None
    sample: int = 0
    prefill: int = 0  # reference calls of the user task made for the model before it starts (weak models)

    @property
    def env(self) -> str:
        return self.user_task.split("/", 1)[0]

    @property
    def attack(self) -> str:
        """The stored attack name: `none` for benign episodes, else `injection:FAMILY[+ENCODING]`."""
        if not self.injection:
            return "none"
        return f"injection:{self.family}" + (f"+{self.encoding}" if self.encoding else "")


@dataclass
class Episode:
    spec: EpisodeSpec
    env: EnvironmentSpec
    task: UserTask
    inj: InjectionTask | None
    apps: AppSet
    defence: Defence
    tools: list[dict[str, Any]]
    messages: Conversation
    user: SimulatedUser = field(default_factory=lambda: SimulatedUser(""))
    poison: str = ""
    steps: int = 0
    calls: int = 0
    done: bool = False
    truncated: bool = False
    error: str | None = None
    answer: str = ""
    tokens: int = 0
    latency_s: float = 0.0
    log: list[dict[str, Any]] = field(default_factory=list)
    utility: bool | None = None
    attack_success: bool | None = None

    def absorb(self, gen: Generation, content: str, calls: list[ToolCall]) -> None:
        """Take one model turn: run its tool calls (through the defence), or end with its answer."""
        self.steps += 1
        self.tokens += gen.tokens
        self.latency_s += gen.latency_s
        if not gen.ok:
            self.error, self.done = gen.error, True
            return
        if not calls:
            self.messages.append(Message("assistant", content))
            self.answer, self.done = content, True
            return
        calls = [c if c.id else ToolCall(f"call_{self.calls + i}", c.name, c.arguments) for i, c in enumerate(calls)]
        self.calls += len(calls)
        self.messages.append(Message("assistant", content, tool_calls=tuple(calls)))
        for call in calls:
            allowed = self.defence.confirm(call, self.apps.is_sensitive(call.name), self.user)
            result = self.apps.call(call.name, call.arguments) if allowed else DECLINED
            shown = self.defence.wrap_result(result)
            self.messages.append(Message("tool", shown, tool_call_id=call.id, name=call.name))
            self.log.append({"name": call.name, "arguments": call.arguments, "allowed": allowed,
                             "withheld": shown != result and self.defence.name in SCREENS})

    def finish(self) -> None:
        if not self.done:
            self.done = self.truncated = True
        self.utility = evaluate(self.task.success, self.apps, self.answer)
        if self.inj is not None:
            self.attack_success = evaluate(self.inj.checks_in(self.env), self.apps, self.answer)


def _plant_app(env: EnvironmentSpec) -> str | None:
    return next((a for a in PLANT_ORDER if a in env.apps), None)


def setup(spec: EpisodeSpec, seed: int = 0) -> Episode:
    """A fresh episode: apps in their initial state with the injection planted, the defence, the first turns."""
    env = environments()[spec.env]
    task = user_tasks()[spec.user_task]
    defence = make_defence(spec.defence, seed)
    inj = injection_tasks()[spec.injection] if spec.injection else None
    slots: dict[str, str] = {}
    poisoned, poison, note, plant_at = None, "", None, _plant_app(env)
    if inj is not None:
        goal = encoded_goal(inj.goal_in(env), spec.encoding)
        first_tools = [c.name for c in task.solution] or [n for a in env.apps for n in APPS[a]({}).tool_names]
        hint = (lambda ref, text: APPS[plant_at]({}).plant(ref, text)) if plant_at else None
        injection = build_injection(spec.family or "direct", goal, env.vars.get("user", "the user"), task.slots,
                                    first_tools, hint)
        slots, poisoned, poison, note = injection.slots, injection.poisoned_tool, injection.poison, injection.note
    apps = env.build(slots)
    if note and plant_at:
        apps[plant_at].plant(NOTE_REF, note)
    tools = apps.schemas()
    for t in tools:
        if t["function"]["name"] == poisoned:
            t["function"]["description"] += poison
    defence.screen_tools(tools)
    messages = [Message("system", env.system_prompt + defence.system_suffix()), Message("user", task.prompt)]
    sensitive = {c.name for c in task.solution if apps.is_sensitive(c.name)}
    user = SimulatedUser.of(task.prompt, [(c.name, c.arguments) for c in task.solution], sensitive)
    episode = Episode(spec, env, task, inj, apps, defence, tools, messages, user, poison=poison if poisoned else "")
    for i, ref in enumerate(task.solution[: spec.prefill]):
        episode.absorb(Generation(), "", [ToolCall(f"call_{i}", ref.name, dict(ref.arguments))])
        episode.steps -= 1  # a prefilled call is not a model turn
    return episode


def run_episodes(target: Target, episodes: list[Episode], max_new_tokens: int = 128, max_steps: int = 6,
                 seed: int = 0, native: bool | None = None) -> list[Episode]:
    """Step every unfinished episode (one target call per step and tool set) until all end or `max_steps`."""
    native = bool(getattr(target, "supports_tools", False)) if native is None else native
    for _ in range(max_steps):
        active = [e for e in episodes if not e.done]
        if not active:
            break
        if native:
            groups: dict[str, list[Episode]] = {}
            for e in active:
                groups.setdefault(json.dumps(e.tools, sort_keys=True), []).append(e)
            for group in groups.values():
                params = GenerationParams(max_new_tokens=max_new_tokens, seed=seed,
                                          tools=tuple(copy.deepcopy(group[0].tools)))
                gens = target.generate([list(e.messages) for e in group], params)
                for e, g in zip(group, gens, strict=True):
                    e.absorb(g, g.text, list(g.tool_calls))
        else:
            params = GenerationParams(max_new_tokens=max_new_tokens, seed=seed)
            gens = target.generate([to_text_conversation(e.messages, e.tools) for e in active], params)
            for e, g in zip(active, gens, strict=True):
                content, calls = parse_reply(g.text, e.calls) if g.ok else ("", [])
                e.absorb(g, content, calls)
    for e in episodes:
        e.finish()
    return episodes
