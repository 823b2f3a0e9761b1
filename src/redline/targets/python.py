"""`python:package.module:function`: a user's callable as a target.

The function takes a list of message dicts (`{"role", "content"}`) and a dict of generation
parameters, and returns the reply text. If it has `batched = True`, it takes a list of
conversations instead and returns a list of replies.
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable

from ..errors import TargetError
from ..records import Conversation, Generation, GenerationParams, conversation_to_dicts
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


class PythonTarget:
    """Calls a user function; exceptions become per-attempt errors."""

    def __init__(self, fn: Callable, name: str) -> None:
        self.fn = fn
        self.id = f"python:{name}"
        self.batched = bool(getattr(fn, "batched", False))
        self.wants_params = len(inspect.signature(fn).parameters) >= 2

    def _call(self, arg: object, params: GenerationParams) -> object:
        return self.fn(arg, params.to_dict()) if self.wants_params else self.fn(arg)

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
            return [Generation(text=str(r), latency_s=per) for r in replies]
        out = []
        for conv in batch:
            start = time.perf_counter()
            try:
                reply = self._call(conversation_to_dicts(conv), params)
                out.append(Generation(text=str(reply), latency_s=time.perf_counter() - start))
            except Exception as exc:  # noqa: BLE001
                out.append(Generation(error=f"{type(exc).__name__}: {exc}"))
        return out

    def close(self) -> None:
        return None


@registry.register("python")
def make_python_target(spec: TargetSpec, **_: object) -> PythonTarget:
    return PythonTarget(load_callable(spec.rest), spec.rest)
