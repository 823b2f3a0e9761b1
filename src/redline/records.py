"""Plain records shared by targets, attacks, judges and the engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


Conversation = list[Message]


def conversation_from_dicts(items: list[dict]) -> Conversation:
    """Rebuild a conversation from its stored JSON form."""
    return [Message(role=m["role"], content=m["content"]) for m in items]


def conversation_to_dicts(conv: Conversation) -> list[dict[str, str]]:
    return [m.to_dict() for m in conv]


def user(text: str) -> Message:
    return Message("user", text)


def assistant(text: str) -> Message:
    return Message("assistant", text)


def system(text: str) -> Message:
    return Message("system", text)


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings; temperature 0 means greedy."""

    max_new_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Generation:
    """What a target returned for one conversation: text, or an error message."""

    text: str = ""
    tokens: int = 0
    error: str | None = None
    finish_reason: str | None = None
    latency_s: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None
