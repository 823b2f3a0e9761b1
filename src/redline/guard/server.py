"""The guard as an OpenAI-compatible server: `/v1/chat/completions` (streaming SSE and not), `/v1/models`,
`/health`. An application points its client at it unchanged.

Requests in flight are bounded by the policy's `concurrency`, else by the upstream's (`concurrency` of a
remote target; 1 for in-process models, which are not thread-safe). The conversation id is the
`X-Conversation-Id` header or the body's `conversation_id` / `user`, else derived from the conversation.
Authorization headers are never read into logs.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from typing import Any

from ..records import GenerationParams, Message
from ..targets.base import Target
from .engine import Guard
from .guarded import upstream_chunks


def _params(body: dict[str, Any]) -> GenerationParams:
    return GenerationParams(
        max_new_tokens=int(body.get("max_tokens") or body.get("max_completion_tokens") or 128),
        temperature=float(body.get("temperature") or 0.0),
        top_p=float(body.get("top_p") or 1.0),
        seed=int(body.get("seed") or 0),
    )


def create_guard_app(guard: Guard, upstream: Target, model_name: str = "redline-guard"):  # noqa: ANN201
    """A Starlette app serving `upstream` behind `guard`."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    policy = guard.policy
    limit = policy.concurrency or max(1, int(getattr(upstream, "concurrency", 1) or 1))
    slots = asyncio.Semaphore(limit)
    started = time.time()

    def completion(rid: str, text: str, finish: str) -> dict[str, Any]:
        return {"id": rid, "object": "chat.completion", "created": int(time.time()), "model": model_name,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}]}

    def chunk(rid: str, delta: dict[str, str], finish: str | None = None) -> str:
        data = {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model_name,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(data)}\n\n"

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "policy": policy.name, "policy_hash": policy.digest(),
                             "upstream": upstream.id, "concurrency": limit, "conversations": len(guard.tracker),
                             "uptime_s": round(time.time() - started, 1)})

    async def models(_: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": model_name, "object": "model"}]})

    async def chat(request: Request):  # noqa: ANN202
        try:
            body = await request.json()
            msgs = [{"role": str(m["role"]), "content": str(m.get("content") or "")} for m in body["messages"]]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": {"message": "malformed request"}}, status_code=400)
        conv_id = request.headers.get("x-conversation-id") or body.get("conversation_id") or body.get("user")
        params = _params(body)
        rid = guard.new_request_id()
        conversation = [Message(m["role"], m["content"]) for m in msgs]  # type: ignore[arg-type]
        t0 = time.perf_counter()
        check = await asyncio.to_thread(guard.check_input, msgs, conv_id)
        guard.log.write(rid, check.conversation, "input", check.decisions, time.perf_counter() - t0)
        headers = {"X-Guard-Request-Id": rid}
        if check.blocked:
            headers["X-Guard-Blocked-By"] = check.blocked_by or ""
            if body.get("stream"):
                events = [chunk(rid, {"role": "assistant", "content": policy.refusal}),
                          chunk(rid, {}, "content_filter"), "data: [DONE]\n\n"]
                return StreamingResponse(iter(events), media_type="text/event-stream", headers=headers)
            return JSONResponse(completion(rid, policy.refusal, "content_filter"), headers=headers)
        if body.get("stream"):
            return StreamingResponse(_stream(rid, msgs, conversation, params, check.goal, check.conversation,
                                             check.harm),
                                     media_type="text/event-stream", headers=headers)
        async with slots:
            try:
                text = await asyncio.wait_for(
                    asyncio.to_thread(lambda: "".join(upstream_chunks(upstream, conversation, params))),
                    timeout=policy.upstream_timeout_s,
                )
            except TimeoutError:
                return JSONResponse({"error": {"message": "upstream timed out"}}, status_code=504, headers=headers)
            except Exception as exc:  # noqa: BLE001 - the upstream's failure, reported without a traceback
                return JSONResponse({"error": {"message": f"upstream error: {type(exc).__name__}"}},
                                    status_code=502, headers=headers)
        t0 = time.perf_counter()
        out = await asyncio.to_thread(guard.check_output, check.goal, text, msgs, check.harm)
        guard.log.write(rid, check.conversation, "output", out.decisions, time.perf_counter() - t0)
        if out.blocked:
            headers["X-Guard-Blocked-By"] = out.blocked_by or ""
        return JSONResponse(completion(rid, out.text, "content_filter" if out.blocked else "stop"), headers=headers)

    async def _stream(rid, msgs, conversation, params, goal, conv_id, request_harm):  # noqa: ANN001, ANN202
        """Upstream chunks -> output rails in windows -> SSE; a failing window ends the stream."""
        sc = guard.stream(goal, msgs, request_harm)
        pieces: queue.Queue = queue.Queue()

        def pump() -> None:
            try:
                for piece in upstream_chunks(upstream, conversation, params):
                    pieces.put(("text", piece))
            except Exception as exc:  # noqa: BLE001
                pieces.put(("error", type(exc).__name__))
            pieces.put(("end", ""))

        yield chunk(rid, {"role": "assistant", "content": ""})
        checking = 0.0  # the guard's own seconds over the stream's windows
        async with slots:
            threading.Thread(target=pump, daemon=True).start()
            deadline = time.monotonic() + policy.upstream_timeout_s
            finish = "stop"
            while True:
                try:
                    kind, piece = await asyncio.to_thread(pieces.get, True, max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    finish = "length"  # upstream timed out: end the stream where it is
                    break
                if kind == "error":
                    finish = "error"
                    break
                if kind == "end":
                    break
                t0 = time.perf_counter()
                out = await asyncio.to_thread(sc.feed, piece)
                checking += time.perf_counter() - t0
                if out:
                    yield chunk(rid, {"content": out})
                if sc.blocked_by:
                    break
        if not sc.blocked_by:
            t0 = time.perf_counter()
            rest = await asyncio.to_thread(sc.finish)
            checking += time.perf_counter() - t0
            if rest:
                yield chunk(rid, {"content": rest})
        guard.log.write(rid, conv_id, "output", sc.decisions, checking)
        if sc.blocked_by:
            yield chunk(rid, {"content": ("\n\n" if sc.sent else "") + policy.refusal}, "content_filter")
        else:
            yield chunk(rid, {}, finish)
        yield "data: [DONE]\n\n"

    return Starlette(routes=[
        Route("/health", health),
        Route("/v1/models", models),
        Route("/v1/chat/completions", chat, methods=["POST"]),
    ])


