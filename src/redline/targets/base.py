"""The Target protocol, spec parsing, and the registry of backends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..errors import ConfigError
from ..records import Conversation, Generation, GenerationParams
from ..redaction import secret_option_error
from ..registry import Registry


@runtime_checkable
class Target(Protocol):
    """Anything that answers a batch of conversations."""

    id: str

    def generate(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        """Answer every conversation of `batch`; errors come back as `Generation.error`, never raised."""
        ...

    def close(self) -> None: ...


class AsyncTarget(Protocol):
    """A remote backend: one conversation per call, many in flight."""

    id: str
    concurrency: int

    async def agenerate(self, conversation: Conversation, params: GenerationParams) -> Generation: ...


class BaseAsyncTarget:
    """Gives an async backend the batch `generate` of the Target protocol, with bounded concurrency."""

    id: str = "async"
    concurrency: int = 8
    is_async = True

    async def agenerate(self, conversation: Conversation, params: GenerationParams) -> Generation:
        raise NotImplementedError

    async def agenerate_batch(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        limit = asyncio.Semaphore(max(1, self.concurrency))

        async def one(conv: Conversation) -> Generation:
            async with limit:
                return await self.agenerate(conv, params)

        return list(await asyncio.gather(*(one(c) for c in batch)))

    def generate(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        return asyncio.run(self.agenerate_batch(batch, params))

    def close(self) -> None:
        return None


SHOWN_OPTIONS = ("adapter",)


@dataclass(frozen=True)
class TargetSpec:
    """A parsed target spec: `kind[:rest][;key=value...]`."""

    kind: str
    rest: str = ""
    options: dict[str, str] = field(default_factory=dict)

    @property
    def display(self) -> str:
        """The spec as shown and stored: never contains a secret (keys come from the environment); options that
        change the model itself (a LoRA `adapter`) are kept so runs of base and adapted model differ."""
        shown = "".join(f";{k}={self.options[k]}" for k in SHOWN_OPTIONS if self.options.get(k))
        return self.kind + (f":{self.rest}" if self.rest else "") + shown


def parse_target_spec(spec: str) -> TargetSpec:
    """Parse `local`, `local:PATH`, `local;adapter=DIR`, `openai:MODEL@URL;key_env=VAR`, `python:pkg.mod:func`.

    Every spec (`--target`, `--judge llm:SPEC`, `--attacker`, an adaptive attack's `attacker=`/`judge=`) goes
    through here, so a secret given inline is refused wherever it appears, before anything is stored.
    """
    if not spec or not spec.strip():
        raise ConfigError("empty target spec")
    head, *opts = spec.strip().split(";")
    kind, _, rest = head.partition(":")
    options: dict[str, str] = {}
    for opt in opts:
        if not opt:
            continue
        key, eq, value = opt.partition("=")
        if not eq or not key:
            raise ConfigError(f"malformed target option {opt!r} in {spec!r} (expected key=value)")
        options[key.strip()] = value.strip()
    refused = secret_option_error(spec, options)
    if refused:
        raise ConfigError(f"target spec refused: {refused}")
    return TargetSpec(kind=kind.strip().lower(), rest=rest.strip(), options=options)


TargetFactory = Callable[..., Target]
registry: Registry[TargetFactory] = Registry("target kind", "redline.targets")


def create_target(spec: str, **overrides: object) -> Target:
    """Build a target from its spec string; `overrides` are backend options such as batch_size."""
    parsed = parse_target_spec(spec)
    factory = registry.get(parsed.kind)
    options: dict[str, object] = dict(parsed.options)
    options.update({k: v for k, v in overrides.items() if v is not None})
    return factory(parsed, **options)
