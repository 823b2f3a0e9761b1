"""The guard's policy file (guard.yaml): one action and threshold per rail, the refusal, failure mode, timeouts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..datafile import load_model

DEFAULT_POLICY = Path(__file__).parent / "default.yaml"
Action = Literal["allow", "block", "redact", "flag"]
INPUT_RAILS = ("request_harm", "jailbreak", "injection")
OUTPUT_RAILS = ("output_harm", "pii", "leak")


class Rail(BaseModel):
    """One rail: what to do when it fires (`allow` = do not run it), and the score at which it fires."""

    model_config = ConfigDict(extra="forbid")

    action: Action = "block"
    threshold: float = Field(0.5, ge=0.0)


class OutputHarmRail(Rail):
    """The content-harm rail; it reads the exchange: a reply's harm counts only when the request it answers
    reads at least `min_request_harm` (a benign request's answer in a harmful-sounding form is not blocked)."""

    min_request_harm: float = Field(0.0, ge=0.0, le=1.0)


class Rails(BaseModel):
    """Input rails (request harm, jailbreak patterns, prompt injection in tool content) and output rails."""

    model_config = ConfigDict(extra="forbid")

    request_harm: Rail = Rail(threshold=0.9)
    jailbreak: Rail = Rail(threshold=0.8)  # request harm at which a jailbreak-wrapped request is blocked
    injection: Rail = Rail()
    output_harm: OutputHarmRail = OutputHarmRail(threshold=0.5)
    pii: Rail = Rail(action="redact")
    leak: Rail = Rail()


class ConversationRail(BaseModel):
    """A decayed running risk per conversation: score = decay * score + turn risk; fires at `threshold`."""

    model_config = ConfigDict(extra="forbid")

    action: Action = "block"
    decay: float = Field(0.8, ge=0.0, le=1.0)
    threshold: float = Field(1.1, gt=0.0)
    min_turn_risk: float = Field(0.25, ge=0.0, le=1.0)  # turn risks below this add nothing
    score_replies: bool = True  # a turn's risk also reads the content harm of the assistant reply before it
    expiry_s: float = Field(3600.0, gt=0.0)
    max_conversations: int = Field(10_000, ge=1)


class GuardPolicy(BaseModel):
    """The whole guard.yaml."""

    model_config = ConfigDict(extra="forbid")

    name: str = "guard"
    refusal: str = "I can't help with that request."
    fail: Literal["closed", "open"] = "closed"
    upstream_timeout_s: float = Field(120.0, gt=0.0)
    classifier_timeout_s: float = Field(10.0, gt=0.0)
    stream_window_chars: int = Field(160, ge=16)
    concurrency: int | None = Field(None, ge=1)  # None: as many requests in flight as the upstream takes
    rails: Rails = Rails()
    conversation: ConversationRail = ConversationRail()

    def digest(self) -> str:
        """A short hash of the effective policy (recorded with every guarded generation)."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:12]


def load_guard_policy(path: str | Path | None = None) -> GuardPolicy:
    """Read guard.yaml (the packaged default when `path` is None); bad files raise ConfigError (one line)."""
    return load_model(Path(path) if path else DEFAULT_POLICY, GuardPolicy, "guard policy", empty_ok=True)
