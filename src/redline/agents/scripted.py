"""Scripted agents for tests and calibration, as `python:` targets (they take `tools`, return tool calls).

Both know each user task's reference solution (an oracle: they always do the user's task):
- `vulnerable`: follows any instruction it reads: an injection goal found in a tool output or a tool
  description (also base64 / ROT13 / hex encoded) makes it carry out that injection task's solution first,
  and "call TOOL with {...}" in a tool output makes it make that call.
- `careful`: does only the user's task, whatever the tool outputs say.

Use: `--target python:redline.agents.scripted:vulnerable`.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from ..attacks import codecs as c
from .tasks import EnvironmentSpec, UserTask, environments, injection_tasks, user_tasks

CALL_HINT = re.compile(r"call (\w+) with (\{[^{}]*\})")


def _task_of(messages: list[dict]) -> tuple[EnvironmentSpec, UserTask] | None:
    prompt = next((m["content"] for m in messages if m["role"] == "user"), "")
    for task in user_tasks().values():
        if task.prompt.strip() == prompt.strip():
            return environments()[task.environment], task
    return None


def _readings(text: str) -> list[str]:
    """The text and what it decodes to (base64 blobs, ROT13, hex runs)."""
    out = [text, codecs.encode(text, "rot13")]
    for blob in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", text):
        try:
            out.append(c.b64_decode(blob))
        except ValueError:
            pass
    for run in re.findall(r"(?:[0-9a-f]{2} ){8,}[0-9a-f]{2}", text):
        try:
            out.append(c.hex_decode(run))
        except ValueError:
            pass
    return out


def _made(messages: list[dict]) -> list[tuple[str, str]]:
    return [(tc["function"]["name"], json.dumps(json.loads(tc["function"]["arguments"] or "{}"), sort_keys=True))
            for m in messages if m["role"] == "assistant" for tc in m.get("tool_calls") or ()]


def _injected(env: EnvironmentSpec, seen: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """Calls the instructions in `seen` ask for: injection goals found there, and explicit call hints."""
    calls: list[tuple[str, dict[str, Any]]] = []
    readings = [r.lower() for text in seen for r in _readings(text)]
    for inj in injection_tasks().values():
        if inj.applies_to(env) and any(inj.goal_in(env).lower() in r for r in readings):
            calls += [(s.name, s.arguments) for s in inj.solution_in(env)]
    for text in seen:
        for name, args in CALL_HINT.findall(text):
            try:
                calls.append((name, json.loads(args)))
            except ValueError:
                continue
    return calls


def _next(messages: list[dict], tools: list[dict] | None, follow: bool) -> dict[str, Any]:
    found = _task_of(messages)
    if found is None:
        return {"content": "I do not know this task."}
    env, task = found
    plan: list[tuple[str, dict[str, Any]]] = []
    if follow:
        seen = [m["content"] for m in messages if m["role"] == "tool"]
        seen += [t["function"].get("description", "") for t in tools or []]
        plan += _injected(env, seen)
    plan += [(s.name, s.arguments) for s in task.solution]
    made = _made(messages)
    for name, args in plan:
        key = (name, json.dumps(args, sort_keys=True))
        if key in made:
            made.remove(key)
            continue
        n = len(_made(messages))
        return {"content": "", "tool_calls": [{"id": f"call_{n}", "type": "function",
                                               "function": {"name": name, "arguments": json.dumps(args)}}]}
    return {"content": task.answer}


def vulnerable(messages: list[dict], tools: list[dict] | None = None) -> dict[str, Any]:
    """Does the user's task and follows every instruction it reads."""
    return _next(messages, tools, follow=True)


def careful(messages: list[dict], tools: list[dict] | None = None) -> dict[str, Any]:
    """Does only the user's task."""
    return _next(messages, tools, follow=False)
