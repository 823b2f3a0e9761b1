"""`python:package.module:function`: a user's callable as a target.

The function's first positional parameter gets the conversation, a list of message dicts
(`{"role", "content"}`), and it returns the reply text. The generation parameters
(`max_new_tokens`, `temperature`, `top_p`, `seed`) are passed according to its signature:

- `fn(messages)`: not passed;
- `fn(messages, params)` or `fn(messages, params=None)`: as one dict, positionally (a second
  positional parameter that is required or named `params`);
- `fn(messages, **kwargs)`: each as a keyword argument;
- `fn(messages, temperature=0.7, *, max_new_tokens=64)`: the defaulted or keyword-only parameters
  named after a generation parameter get it; others keep their defaults.

If it has `batched = True`, it takes a list of conversations instead and returns a list of replies.

Tools: a function with a `tools` parameter gets the offered chat-completions tool schemas (a list, empty
when none) and may return a dict `{"content": str, "tool_calls": [{"id", "function": {"name", "arguments"}}]}`
instead of text; messages then include `tool` results and assistants' `tool_calls` (`redline.agents`).
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable

from ..errors import TargetError
from ..records import Conversation, Generation, GenerationParams, ToolCall, conversation_to_dicts
from .base import TargetSpec, registry


def load_callable(path: str) -> Callable:
    """Import `package.module:function` and return the function."""
    module_name, sep, attr = path.rpartition(":")
    if not sep or not module_name or not attr:
        raise TargetError(f"python target needs 'python:package.module:function', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is a user error here
        raise TargetError(f"cannot import module {module_name!r}: {exc}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise TargetError(f"{module_name!r} has no callable {attr!r}")
    return fn


def call_shape(fn: Callable) -> tuple[bool, set[str] | None]:
    """How `fn` takes generation parameters: (as one positional dict, keyword names; None = all)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature: the messages only
        return False, set()
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not positional and not any(p.kind is p.VAR_POSITIONAL for p in params):
        raise TargetError("python target function must take the messages as its first positional parameter")
    if len(positional) >= 2 and (positional[1].default is inspect.Parameter.empty or positional[1].name == "params"):
        return True, set()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return False, None
    return False, {p.name for p in params[1:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _generation(reply: object, latency: float) -> Generation:
    """A reply as a Generation: text, or a dict with `content` and chat-completions `tool_calls`."""
    if isinstance(reply, dict):
        calls = [ToolCall.from_dict(c) for c in reply.get("tool_calls") or ()]
        return Generation(text=str(reply.get("content") or ""), latency_s=latency, tool_calls=calls)
    return Generation(text=str(reply), latency_s=latency)


class PythonTarget:
    """Calls a user function; exceptions become per-attempt errors."""

    def __init__(self, fn: Callable, name: str) -> None:
        self.fn = fn
        self.id = f"python:{name}"
        self.batched = bool(getattr(fn, "batched", False))
        self.positional, self.keywords = call_shape(fn)
        self.supports_tools = self.keywords is not None and "tools" in self.keywords

    def _call(self, arg: object, params: GenerationParams) -> object:
        values = params.to_dict()
        if self.supports_tools:
            values["tools"] = list(params.tools)
        if self.positional:
            return self.fn(arg, values)
        if self.keywords is None:
            return self.fn(arg, **values)
        return self.fn(arg, **{k: v for k, v in values.items() if k in self.keywords})

    def generate(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        if self.batched:
            start = time.perf_counter()
            try:
                replies = list(self._call([conversation_to_dicts(c) for c in batch], params))
            except Exception as exc:  # noqa: BLE001
                return [Generation(error=f"{type(exc).__name__}: {exc}") for _ in batch]
            if len(replies) != len(batch):
                return [Generation(error="batched function returned a wrong number of replies") for _ in batch]
            per = (time.perf_counter() - start) / max(1, len(batch))
            return [_generation(r, per) for r in replies]
        out = []
        for conv in batch:
            start = time.perf_counter()
            try:
                reply = self._call(conversation_to_dicts(conv), params)
                out.append(_generation(reply, time.perf_counter() - start))
            except Exception as exc:  # noqa: BLE001
                out.append(Generation(error=f"{type(exc).__name__}: {exc}"))
        return out

    def close(self) -> None:
        return None


@registry.register("python")
def make_python_target(spec: TargetSpec, **_: object) -> PythonTarget:
    return PythonTarget(load_callable(spec.rest), spec.rest)
