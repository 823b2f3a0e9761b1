"""The default judge's readings, used as the guard's classifiers: request harm of a text, content harm of a reply.

Both come from the shipped `offline@2` weights (judges/offline.py): request harm is its request head over the
MiniLM sentence vector of the text; content harm is its content head, counted only when its answered head
reads the reply as complied (as in a `Verdict`). No network; numpy plus the packaged MiniLM.
"""

from __future__ import annotations

import threading

import numpy as np

from ..judges.features import EMB
from ..judges.offline import H, OfflineClassifier, _sigmoid
from ..judges.refusal import is_garbled


class Readings:
    """Thread-safe (one lock: the sentence encoder is shared) request and content readings."""

    id = "offline@2"

    def __init__(self) -> None:
        from ..judges.embed import check_available

        check_available()
        self.model = OfflineClassifier.load()
        self._lock = threading.Lock()

    def request_harm(self, texts: list[str]) -> list[float]:
        """P(the text asks for harm), per text (the encoder reads the first 64 tokens)."""
        if not texts:
            return []
        from ..judges.embed import goal_vectors

        with self._lock:
            vecs = goal_vectors(list(texts)).astype(np.float64)
        w, b = self.model.w["request"], self.model.b["request"]
        return [float(x) for x in _sigmoid(vecs[:, :EMB] @ w[H : H + EMB] + b)]

    def content_harm(self, pairs: list[tuple[str, str]]) -> list[float]:
        """Content harm of each (request, reply): P(specific usable help toward harm) when the reply complies."""
        todo = [i for i, (_, reply) in enumerate(pairs) if reply.strip() and not is_garbled(reply)]
        out = [0.0] * len(pairs)
        if todo:
            with self._lock:
                scores = self.model.score_batch([pairs[i] for i in todo])
            for i, s in zip(todo, scores, strict=True):
                out[i] = s.harm if s.p_complied >= 0.5 else 0.0
        return out
