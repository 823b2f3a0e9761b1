"""`openai:MODEL@BASE_URL`: any OpenAI-compatible chat-completions server.

The API key comes from the environment variable named by `;key_env=VAR` (default
`OPENAI_API_KEY`); it is sent in a header and never stored. Retries use exponential
backoff with full jitter; a `Retry-After` header (RFC 9110: delta-seconds or an HTTP-date) sets
the wait instead, up to `;max_retry_after=S` (default 60 s; a longer request is cut to it, with
a warning in the log).

Tools: `GenerationParams.tools` (chat-completions tool schemas) are sent as `tools`; the reply's
`tool_calls` come back on `Generation.tool_calls`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections.abc import Iterator
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx

from ..errors import TargetError
from ..records import Conversation, Generation, GenerationParams, ToolCall, conversation_to_dicts
from .base import BaseAsyncTarget, TargetSpec, registry

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 60.0
log = logging.getLogger(__name__)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a `Retry-After` value asks to wait (RFC 9110 section 10.2.3), or None when absent or invalid.

    Delta-seconds (`120`) or an HTTP-date (IMF-fixdate, RFC 850 or asctime; always GMT); a date in
    the past means no wait.
    """
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay(attempt: int, base: float, cap: float, rng: random.Random, server_delay: float | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based): the server's delay, else full-jitter backoff."""
    if server_delay is not None:
        return server_delay
    return rng.uniform(0, min(cap, base * (2**attempt)))


class OpenAITarget(BaseAsyncTarget):
    """Chat-completions client with bounded concurrency, timeouts and retries."""

    supports_tools = True

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None,
        concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self.id = f"openai:{model}@{self.base_url}"
        self._rng = random.Random(0)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def check_reachable(self) -> None:
        """Fail fast with one clear line when nothing listens at the base URL."""
        try:
            httpx.get(f"{self.base_url}/models", headers=self._headers(), timeout=min(10.0, self.timeout))
        except httpx.HTTPError as exc:
            raise TargetError(f"endpoint {self.base_url} is unreachable: {type(exc).__name__}") from None

    def _server_delay(self, header: str | None) -> float | None:
        """The wait a `Retry-After` header asks for, cut to `max_retry_after` (logged when it is)."""
        wait = parse_retry_after(header)
        if wait is not None and wait > self.max_retry_after:
            msg = "%s: server asked to retry after %.0f s; waiting max_retry_after=%g s instead"
            log.warning(msg, self.id, wait, self.max_retry_after)
            return self.max_retry_after
        return wait

    def _payload(self, conversation: Conversation, params: GenerationParams) -> dict:
        body: dict = {
            "model": self.model,
            "messages": conversation_to_dicts(conversation),
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "seed": params.seed,
        }
        if params.top_p < 1.0:
            body["top_p"] = params.top_p
        if params.tools:
            body["tools"] = list(params.tools)
        return body

    async def agenerate(self, conversation: Conversation, params: GenerationParams) -> Generation:
        async with httpx.AsyncClient(timeout=self.timeout, headers=self._headers()) as client:
            return await self._post_with_retries(client, conversation, params)

    async def agenerate_batch(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        limits = httpx.Limits(max_connections=max(1, self.concurrency))
        async with httpx.AsyncClient(timeout=self.timeout, headers=self._headers(), limits=limits) as client:
            gate = asyncio.Semaphore(max(1, self.concurrency))

            async def one(conv: Conversation) -> Generation:
                async with gate:
                    return await self._post_with_retries(client, conv, params)

            return list(await asyncio.gather(*(one(c) for c in batch)))

    async def _post_with_retries(
        self, client: httpx.AsyncClient, conversation: Conversation, params: GenerationParams
    ) -> Generation:
        url = f"{self.base_url}/chat/completions"
        payload = self._payload(conversation, params)
        last_error = "no attempt made"
        start = time.perf_counter()
        for attempt in range(self.max_retries + 1):
            retry_after = None
            try:
                resp = await client.post(url, json=payload)
                if resp.status_code == 200:
                    return self._parse(resp.json(), time.perf_counter() - start, attempt)
                last_error = f"HTTP {resp.status_code}: {resp.text[:200]}"
                if resp.status_code not in RETRY_STATUS:
                    break
                retry_after = resp.headers.get("retry-after")
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"[:300]
            except ValueError as exc:  # invalid JSON body
                last_error = f"invalid response: {exc}"[:300]
                break
            if attempt < self.max_retries:
                server = self._server_delay(retry_after)
                await asyncio.sleep(retry_delay(attempt, self.backoff_base, self.backoff_cap, self._rng, server))
        return Generation(error=last_error, latency_s=time.perf_counter() - start, extra={"retries": attempt})

    def stream(self, conversation: Conversation, params: GenerationParams) -> Iterator[str]:
        """The reply as the server sends it (`stream: true`, server-sent events): the content of each delta, in
        order. A refused or failed request raises RuntimeError (one line); a stream is not retried."""
        payload = {**self._payload(conversation, params), "stream": True}
        try:
            with httpx.stream("POST", f"{self.base_url}/chat/completions", json=payload, headers=self._headers(),
                              timeout=self.timeout) as resp:
                if resp.status_code != 200:
                    resp.read()
                    raise RuntimeError(f"HTTP {resp.status_code}: {resp.text[:200]}")
                for line in resp.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    try:
                        delta = json.loads(data)["choices"][0].get("delta") or {}
                    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                        raise RuntimeError(f"malformed stream event: {data[:200]}") from None
                    if delta.get("content"):
                        yield str(delta["content"])
        except httpx.HTTPError as exc:
            raise RuntimeError(f"{type(exc).__name__}: {exc}"[:300]) from None

    @staticmethod
    def _parse(data: dict, latency: float, retries: int) -> Generation:
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
            calls = [ToolCall.from_dict(c) for c in choice["message"].get("tool_calls") or ()]
        except (KeyError, IndexError, TypeError, AttributeError):
            return Generation(error=f"malformed completion: {str(data)[:200]}", latency_s=latency)
        tokens = int((data.get("usage") or {}).get("completion_tokens") or 0)
        return Generation(
            text=text,
            tokens=tokens,
            finish_reason=choice.get("finish_reason"),
            latency_s=latency,
            extra={"retries": retries},
            tool_calls=calls,
        )


def _opt(options: dict, key: str, cast: type, default: object) -> object:
    try:
        return cast(options.get(key, default))
    except (TypeError, ValueError):
        raise TargetError(f"target option {key}={options.get(key)!r} is not a valid {cast.__name__}") from None


def _non_negative(options: dict, key: str, default: float) -> float:
    value = float(_opt(options, key, float, default))
    if not 0 <= value < float("inf"):
        raise TargetError(f"target option {key}={options.get(key)!r} must be a number of seconds >= 0")
    return value


@registry.register("openai")
def make_openai_target(spec: TargetSpec, **options: object) -> OpenAITarget:
    model, _, base_url = spec.rest.partition("@")
    if not model:
        raise TargetError("openai target needs 'openai:MODEL@BASE_URL'")
    base_url = base_url or DEFAULT_BASE_URL
    if not base_url.startswith(("http://", "https://")):
        raise TargetError(f"openai base URL must start with http:// or https://, got {base_url!r}")
    key_env = str(options.get("key_env", "OPENAI_API_KEY"))
    target = OpenAITarget(
        model=model,
        base_url=base_url,
        api_key=os.environ.get(key_env),
        concurrency=int(_opt(options, "concurrency", int, 8)),
        timeout=float(_opt(options, "timeout", float, 60.0)),
        max_retries=int(_opt(options, "max_retries", int, 4)),
        backoff_base=float(_opt(options, "backoff_base", float, 0.5)),
        max_retry_after=_non_negative(options, "max_retry_after", MAX_RETRY_AFTER),
    )
    if str(options.get("check", "1")) != "0":
        target.check_reachable()
    return target
