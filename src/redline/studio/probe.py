"""Probe: a tester's chat with a configured target, an attack's prompt rewrite applied to what they type."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ..attacks.base import Attack, ComposedAttack, create_attack, registry
from ..errors import RedlineError
from ..probes.behavior import Behavior
from ..records import GenerationParams, assistant, conversation_to_dicts, system, user
from ..targets.base import Target, create_target


def _single_turn(attack: Attack) -> bool:
    if isinstance(attack, ComposedAttack):
        return all(_single_turn(p) for p in attack.parts)
    return type(attack).variants is Attack.variants


def rewrite_attacks() -> list[str]:
    """Attacks that rewrite one prompt (the ones that can be applied to typed text)."""
    return [name for name, cls in registry.items() if cls.variants is Attack.variants]


def apply_attack(spec: str, text: str) -> tuple[Attack, str]:
    """The attack of `spec` (`identity` when empty) and its rewrite of `text` (the first variant)."""
    attack = create_attack(spec.strip() or "identity")
    if not _single_turn(attack):
        raise RedlineError(f"attack {attack.spec!r} is not a prompt rewrite; pick one of: identity, base64, ...")
    behavior = Behavior(id="studio", goal=text, category="harmful_content")
    return attack, attack.rewrite(text, behavior)[0][1]


@dataclass
class Turn:
    """One exchange: what the tester typed, what was sent, the raw reply and the reply decoded by the attack."""

    typed: str
    sent: str
    attack: str
    reply: str
    decoded: str | None = None
    error: str | None = None


@dataclass
class Chat:
    """A tester's conversation with one target (kept in memory per browser session)."""

    target: str
    system: str = ""
    turns: list[Turn] = field(default_factory=list)

    def messages(self) -> list[Any]:
        msgs = [system(self.system)] if self.system.strip() else []
        for t in self.turns:
            if t.error is None:
                msgs += [user(t.sent), assistant(t.reply)]
        return msgs

    def conversation(self) -> list[dict[str, str]]:
        """The conversation as sent (with rewrites) and answered, as a scan stores it (the last reply included)."""
        return conversation_to_dicts(self.messages())


class Prober:
    """Targets by spec, built once on first use; one generation at a time (local models are not thread-safe)."""

    def __init__(self, specs: list[str]) -> None:
        self.specs = specs
        self._targets: dict[str, Target] = {}
        self._lock = threading.Lock()

    def target(self, spec: str) -> Target:
        if spec not in self.specs:
            raise RedlineError(f"target {spec!r} is not configured for this studio (start it with --target SPEC)")
        if spec not in self._targets:
            self._targets[spec] = create_target(spec, batch_size=1)
        return self._targets[spec]

    def send(self, chat: Chat, text: str, attack_spec: str, params: GenerationParams) -> Turn:
        """Send `text` (rewritten by the attack) after the chat so far; the turn is appended and returned."""
        if not text.strip():
            raise RedlineError("type a message first")
        attack, sent = apply_attack(attack_spec, text)
        with self._lock:
            gen = self.target(chat.target).generate([[*chat.messages(), user(sent)]], params)[0]
        decoded = attack.decode_response(gen.text) if gen.ok else None
        turn = Turn(typed=text, sent=sent, attack=attack.spec, reply=gen.text,
                    decoded=decoded if decoded != gen.text else None, error=None if gen.ok else gen.error)
        chat.turns.append(turn)
        return turn
