"""The conversation rail's state: a decayed running risk per conversation id, LRU-bounded, with expiry.

A turn's risk is the request harm of the user turn, or (when the policy scores replies) the content harm of the
assistant reply that came before it, whichever is higher: a model walked into harm shows it in its replies.
score <- decay * score + risk for each new user turn (risks under `min_turn_risk` add nothing), so a run of
moderately risky turns crosses the threshold that no single turn reaches, and old turns fade. Clients that
resend the whole history are recognised: only turns not seen before are added; a shorter or different
history (an edited or new conversation under the same id) starts the score again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass
class ConversationState:
    score: float = 0.0
    turns: list[str] = field(default_factory=list)  # digests of the user turns seen, in order
    updated: float = 0.0


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def replies_before_turns(messages: list[dict[str, str]]) -> list[tuple[str, str] | None]:
    """Per user turn: (the previous user turn, the assistant's reply to it) when the history has that reply."""
    out: list[tuple[str, str] | None] = []
    last_user: str | None = None
    reply: list[str] = []
    for m in messages:
        role, content = m.get("role"), m.get("content") or ""
        if role == "user":
            text = "\n".join(reply).strip()
            out.append((last_user, text) if last_user is not None and text else None)
            last_user, reply = content, []
        elif role == "assistant":
            reply.append(content)
    return out


def conversation_key(messages: list[dict[str, str]]) -> str:
    """An id for a conversation the client did not name: its system prompt and first user turn."""
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    first = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
    return "auto-" + digest(system + "\x00" + first)


class ConversationTracker:
    """Running risk per conversation id; at most `max_conversations` kept (least recently used dropped)."""

    def __init__(self, decay: float, min_turn_risk: float, expiry_s: float, max_conversations: int) -> None:
        self.decay, self.min_turn_risk = decay, min_turn_risk
        self.expiry_s, self.max_conversations = expiry_s, max_conversations
        self._states: OrderedDict[str, ConversationState] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._states)

    def unseen(self, conv_id: str, user_turns: list[str]) -> int:
        """How many of the trailing `user_turns` this conversation has not seen (all of them for a new id or
        a different history)."""
        turns = [digest(t) for t in user_turns]
        with self._lock:
            state = self._states.get(conv_id)
            if state is None or turns[: len(state.turns)] != state.turns:
                return len(turns)
            return len(turns) - len(state.turns)

    def update(self, conv_id: str, user_turns: list[str], risks: list[float], now: float | None = None) -> float:
        """Add the risks of the unseen trailing turns (as counted by `unseen`) and return the score."""
        now = time.monotonic() if now is None else now
        turns = [digest(t) for t in user_turns]
        with self._lock:
            self._expire(now)
            state = self._states.pop(conv_id, None) or ConversationState()
            if turns[: len(state.turns)] != state.turns:  # a different history under this id: start again
                state = ConversationState()
            for risk in risks[len(risks) - (len(turns) - len(state.turns)):] if len(turns) > len(state.turns) else []:
                state.score = self.decay * state.score + (risk if risk >= self.min_turn_risk else 0.0)
            state.turns, state.updated = turns, now
            self._states[conv_id] = state
            while len(self._states) > self.max_conversations:
                self._states.popitem(last=False)
            return state.score

    def add_turn(self, conv_id: str, risk: float, now: float | None = None) -> float:
        """Clients that send only the newest message under an id: every call is a new turn."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._expire(now)
            state = self._states.pop(conv_id, None) or ConversationState()
            state.score = self.decay * state.score + (risk if risk >= self.min_turn_risk else 0.0)
            state.updated = now
            self._states[conv_id] = state
            while len(self._states) > self.max_conversations:
                self._states.popitem(last=False)
            return state.score

    def score(self, conv_id: str) -> float:
        with self._lock:
            state = self._states.get(conv_id)
            return state.score if state else 0.0

    def _expire(self, now: float) -> None:
        while self._states:
            key, oldest = next(iter(self._states.items()))
            if now - oldest.updated <= self.expiry_s:
                break
            del self._states[key]
