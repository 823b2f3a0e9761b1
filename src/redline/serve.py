"""Serve any target over the OpenAI chat-completions protocol (used to test remote backends, and to
share one local model between processes). A fault plan injects 429/500/slow replies on demand.

Tools pass through: a request's `tools` go to a target with a tools API as they are; any other target (the
embedded model) gets them in the text protocol of `redline.agents.protocol`, and the calls it writes come
back as `tool_calls`. `tool` messages and assistants' `tool_calls` in the request are read either way."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate

from .records import GenerationParams, message_from_dict
from .targets.base import Target


@dataclass
class FaultPlan:
    """A cycle of outcomes per request: `ok`, `429`, `500`, `slow` (sleeps `slow_s` first).

    `retry_after` is the 429's `Retry-After` header; `date:+N` sends the HTTP-date N seconds after
    the request instead of delta-seconds.
    """

    sequence: list[str] = field(default_factory=lambda: ["ok"])
    slow_s: float = 5.0
    retry_after: str = "0"

    def __post_init__(self) -> None:
        self._cycle = itertools.cycle(self.sequence or ["ok"])
        self._lock = threading.Lock()
        self.served: list[str] = []

    def retry_after_header(self) -> str:
        if self.retry_after.startswith("date:"):
            return formatdate(time.time() + float(self.retry_after[5:]), usegmt=True)
        return self.retry_after

    def next(self) -> str:
        with self._lock:
            outcome = next(self._cycle)
            self.served.append(outcome)
            return outcome


def create_app(target: Target, model_name: str = "redline-local", faults: FaultPlan | None = None):  # noqa: ANN201
    """A Starlette app with `/v1/models` and `/v1/chat/completions` backed by `target`."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from .agents.protocol import parse_reply, to_text_conversation

    lock = threading.Lock()  # one generation at a time: local models are not thread-safe
    native = bool(getattr(target, "supports_tools", False))
    faults = faults or FaultPlan()

    async def models(_: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": model_name, "object": "model"}]})

    async def chat(request: Request) -> JSONResponse:
        outcome = faults.next()
        if outcome == "429":
            return JSONResponse({"error": {"message": "rate limited"}}, status_code=429,
                                headers={"Retry-After": faults.retry_after_header()})
        if outcome == "500":
            return JSONResponse({"error": {"message": "injected server error"}}, status_code=500)
        if outcome == "slow":
            await asyncio.sleep(faults.slow_s)
        try:
            body = await request.json()
            messages = [message_from_dict(m) for m in body["messages"]]
            tools = list(body.get("tools") or [])
        except (ValueError, KeyError, TypeError, AttributeError):
            return JSONResponse({"error": {"message": "malformed request"}}, status_code=400)
        params = GenerationParams(
            max_new_tokens=int(body.get("max_tokens") or 128),
            temperature=float(body.get("temperature") or 0.0),
            top_p=float(body.get("top_p") or 1.0),
            seed=int(body.get("seed") or 0),
            tools=tuple(tools) if native else (),
        )
        earlier = sum(len(m.tool_calls) for m in messages)
        textual = not native and (tools or earlier or any(m.role == "tool" for m in messages))
        conversation = to_text_conversation(messages, tools) if textual else messages

        def run() -> list:
            with lock:
                return target.generate([conversation], params)

        gen = (await asyncio.to_thread(run))[0]
        if not gen.ok:
            return JSONResponse({"error": {"message": gen.error}}, status_code=500)
        text, calls = gen.text, list(gen.tool_calls)
        if tools and not native:
            text, calls = parse_reply(gen.text, earlier)
        message: dict = {"role": "assistant", "content": text if text or not calls else None}
        if calls:
            message["tool_calls"] = [c.to_dict() for c in calls]
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model_name,
                "choices": [
                    {"index": 0, "message": message,
                     "finish_reason": "tool_calls" if calls else gen.finish_reason or "stop"}
                ],
                "usage": {"completion_tokens": gen.tokens},
            }
        )

    return Starlette(routes=[Route("/v1/models", models), Route("/v1/chat/completions", chat, methods=["POST"])])


class BackgroundServer:
    """Run an ASGI app with uvicorn in a thread on 127.0.0.1 (for tests and notebooks)."""

    def __init__(self, app, port: int = 0) -> None:  # noqa: ANN001
        import socket

        import uvicorn

        if port == 0:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port = port
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started and time.time() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
