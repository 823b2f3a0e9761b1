"""Plain records shared by targets, attacks, judges and the engine."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    """A call an assistant asked for: `name(**arguments)`, with the id its `tool` result answers."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The chat-completions form (`arguments` is a JSON string there)."""
        return {"id": self.id, "type": "function",
                "function": {"name": self.name, "arguments": json.dumps(self.arguments, sort_keys=True)}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolCall:
        """From the chat-completions form; unparseable arguments are kept under `_raw`."""
        fn = d.get("function") or {}
        raw = fn.get("arguments", d.get("arguments", {}))
        if isinstance(raw, str):
            try:
                raw = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raw = {"_raw": raw}
        if not isinstance(raw, dict):
            raw = {"_raw": raw}
        return cls(id=str(d.get("id") or ""), name=str(fn.get("name") or d.get("name") or ""), arguments=raw)


@dataclass(frozen=True)
class Message:
    """One chat message; an assistant's may carry tool calls, a `tool` message answers one by `tool_call_id`."""

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            d["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.tool_call_id is not None:
            d["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            d["name"] = self.name
        return d


Conversation = list[Message]


def message_from_dict(m: dict[str, Any]) -> Message:
    """A message from its stored or chat-completions JSON form (`content` may be null beside tool calls)."""
    return Message(
        role=m["role"],
        content=m.get("content") or "",
        tool_calls=tuple(ToolCall.from_dict(c) for c in m.get("tool_calls") or ()),
        tool_call_id=m.get("tool_call_id"),
        name=m.get("name"),
    )


def conversation_from_dicts(items: list[dict]) -> Conversation:
    """Rebuild a conversation from its stored JSON form."""
    return [message_from_dict(m) for m in items]


def conversation_to_dicts(conv: Conversation) -> list[dict[str, Any]]:
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
    tools: tuple[dict, ...] = ()  # chat-completions tool schemas offered to a tool-using target

    def to_dict(self) -> dict:
        """The decoding settings; `tools` only when some are offered (so stored params of plain runs are unchanged)."""
        d: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature,
                             "top_p": self.top_p, "seed": self.seed}
        if self.tools:
            d["tools"] = list(self.tools)
        return d


@dataclass
class Generation:
    """What a target returned for one conversation: text, or an error message."""

    text: str = ""
    tokens: int = 0
    error: str | None = None
    finish_reason: str | None = None
    latency_s: float = 0.0
    extra: dict = field(default_factory=dict)
    tool_calls: list[ToolCall] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None
