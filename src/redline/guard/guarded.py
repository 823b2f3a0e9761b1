"""A guarded target: the rails around any upstream `Target`, as a `Target` itself (`guard:UPSTREAM;policy=FILE`).

Blocked requests never reach the upstream and come back as the policy's refusal; every generation carries
the guard's record in `Generation.extra["guard"]` (policy name and hash, decisions, the blocking rail, upstream
and guard seconds), which scans store with the attempt, so a run shows that it was measured through the guard.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from ..records import Conversation, Generation, GenerationParams, conversation_to_dicts
from ..targets.base import Target
from .engine import Check, Guard
from .policy import GuardPolicy


def upstream_chunks(target: Target, messages: Conversation, params: GenerationParams) -> Iterator[str]:
    """The upstream's reply as it arrives: a target's `stream()` if it has one, a `python:` function that
    yields text (a generator), else the whole reply as one chunk. Errors raise RuntimeError."""
    stream = getattr(target, "stream", None)
    if callable(stream):
        yield from stream(messages, params)
        return
    fn = getattr(target, "fn", None)
    if fn is not None and hasattr(target, "_call") and not getattr(target, "batched", False):
        out = target._call(conversation_to_dicts(messages), params)
        if isinstance(out, str):
            yield out
        elif inspect.isgenerator(out) or hasattr(out, "__next__"):
            for piece in out:
                yield str(piece)
        else:
            yield str(out)
        return
    gen = target.generate([messages], params)[0]
    if not gen.ok:
        raise RuntimeError(gen.error)
    yield gen.text


def guard_record(policy: GuardPolicy, check_in: Check, check_out: Check | None, upstream_s: float,
                 guard_s: float, request_id: str) -> dict[str, Any]:
    decisions = [asdict(d) | {"phase": "input"} for d in check_in.decisions]
    if check_out is not None:
        decisions += [asdict(d) | {"phase": "output"} for d in check_out.decisions]
    blocked = check_in.blocked_by or (check_out.blocked_by if check_out else None)
    return {"policy": policy.name, "policy_hash": policy.digest(), "request_id": request_id, "blocked": blocked,
            "decisions": decisions, "upstream_s": round(upstream_s, 4), "guard_s": round(guard_s, 4)}


class GuardedTarget:
    """Input rails, then one batched upstream call for the allowed conversations, then output rails."""

    def __init__(self, upstream: Target, guard: Guard, upstream_spec: str = "") -> None:
        self.upstream, self.guard = upstream, guard
        self.id = f"guard:{upstream_spec or upstream.id}"
        self.concurrency = getattr(upstream, "concurrency", 1)

    def generate(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        policy = self.guard.policy
        out: list[Generation | None] = [None] * len(batch)
        checks: list[tuple[str, Check, float]] = []
        todo: list[int] = []
        for i, conv in enumerate(batch):
            start = time.perf_counter()
            rid = self.guard.new_request_id()
            msgs = conversation_to_dicts(conv)
            check = self.guard.check_input(msgs)
            checks.append((rid, check, time.perf_counter() - start))
            self.guard.log.write(rid, check.conversation, "input", check.decisions, checks[i][2])
            if check.blocked:
                out[i] = Generation(text=policy.refusal, finish_reason="content_filter", latency_s=checks[i][2],
                                    extra={"guard": guard_record(policy, check, None, 0.0, checks[i][2], rid)})
            else:
                todo.append(i)
        if todo:
            t0 = time.perf_counter()
            if hasattr(self.upstream, "fn") and not getattr(self.upstream, "batched", False):
                gens = [self._one(batch[i], params) for i in todo]
            else:
                gens = self.upstream.generate([batch[i] for i in todo], params)
            per = (time.perf_counter() - t0) / len(todo)
            for i, gen in zip(todo, gens, strict=True):
                rid, check_in, in_s = checks[i]
                upstream_s = gen.latency_s or per
                if not gen.ok:
                    out[i] = gen
                    continue
                start = time.perf_counter()
                check_out = self.guard.check_output(check_in.goal, gen.text, conversation_to_dicts(batch[i]),
                                                   check_in.harm)
                out_s = time.perf_counter() - start
                guard_s = in_s + out_s
                self.guard.log.write(rid, check_in.conversation, "output", check_out.decisions, out_s)
                out[i] = Generation(
                    text=check_out.text, tokens=gen.tokens, latency_s=upstream_s + guard_s,
                    finish_reason="content_filter" if check_out.blocked else gen.finish_reason,
                    extra={**gen.extra, "guard": guard_record(policy, check_in, check_out, upstream_s, guard_s, rid)},
                )
        return [g if g is not None else Generation(error="guard: no result") for g in out]

    def _one(self, conv: Conversation, params: GenerationParams) -> Generation:
        start = time.perf_counter()
        try:
            text = "".join(upstream_chunks(self.upstream, conv, params))
        except Exception as exc:  # noqa: BLE001 - an upstream failure is the attempt's error
            return Generation(error=f"{type(exc).__name__}: {exc}")
        return Generation(text=text, latency_s=time.perf_counter() - start)

    def close(self) -> None:
        self.upstream.close()
        self.guard.close()
