"""The guard's decisions in the store: a run of kind `guard` per guard session, one row per rail decision.

Rows hold the request id, conversation id, phase, rail, action, score, the guard's seconds and a short detail
(key-redacted); never the request or reply text (the view a rail read stays in the JSON-lines log only) and
never request headers. Written through `RunRecorder.record_guard_decisions`, one transaction per request.
"""

from __future__ import annotations

import threading
from typing import Any

from ..store.db import Store
from ..store.recorder import RunRecorder


class DecisionStore:
    """Opens the store and starts the guard run at once; `write` records one request's decisions."""

    def __init__(self, url: str, upstream: str, policy: Any) -> None:
        self.store = Store(url)
        config = {"upstream": upstream, "policy": policy.name, "policy_hash": policy.digest(),
                  "rails": policy.model_dump(mode="json")["rails"]}
        self.recorder = RunRecorder.start(self.store, "guard", f"guard:{upstream}", config, target_id=upstream,
                                          suite=policy.name)
        self.run_id = self.recorder.run_id
        self._lock = threading.Lock()

    def write(self, request_id: str, conv_id: str, phase: str, decisions: list[Any], latency_s: float) -> None:
        rows = [{"request_id": request_id, "conversation": conv_id, "phase": phase, "rail": d.rail,
                 "action": d.action, "score": d.score, "latency_s": round(latency_s, 4), "detail": d.detail}
                for d in decisions]
        with self._lock:
            self.recorder.record_guard_decisions(rows)

    def close(self) -> None:
        with self._lock:
            self.recorder.finish()
            self.store.close()
