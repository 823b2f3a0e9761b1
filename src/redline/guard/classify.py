"""The guard's classifiers: request harm of a text, content harm of a reply.

Request harm is the guard's own look-alike-aware head (`data/request_head.npz`, built by
scripts/build_guard.py with the measured sample held out) over the MiniLM sentence vector of the text.
Content harm is the `offline@2` judge's content head (pinned: the newer judge generations trained on every
probe goal), counted only when its answered head reads the reply as complied (as in a `Verdict`). No network;
numpy plus the packaged MiniLM.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from ..judges.features import EMB
from ..judges.offline import GENERATIONS, OfflineClassifier, _sigmoid
from ..judges.refusal import is_garbled

REQUEST_HEAD = Path(__file__).parent / "data" / "request_head.npz"
CONTENT_GENERATION = 2


def load_request_head(path: Path = REQUEST_HEAD) -> tuple[np.ndarray, float, dict]:
    """The request head's weights, bias and build report (thresholds, out-of-fold rates)."""
    from ..errors import ConfigError

    try:
        data = np.load(path)
        return data["w"].astype(np.float64), float(data["b"]), json.loads(str(data["meta"]))
    except (OSError, KeyError) as exc:
        raise ConfigError(f"cannot read the guard's request head {path}: {exc} (run scripts/build_guard.py)") from None


class Readings:
    """Thread-safe (one lock: the sentence encoder is shared) request and content readings."""

    id = "guard-request@1+offline@2"

    def __init__(self) -> None:
        from ..judges.embed import check_available

        check_available()
        self.model = OfflineClassifier.load(GENERATIONS[CONTENT_GENERATION])
        self.w, self.b, self.meta = load_request_head()
        self._lock = threading.Lock()

    def request_harm(self, texts: list[str]) -> list[float]:
        """P(the text asks for harm), per text (the encoder reads the first 64 tokens)."""
        if not texts:
            return []
        from ..judges.embed import goal_vectors

        with self._lock:
            vecs = goal_vectors(list(texts)).astype(np.float64)
        return [float(x) for x in _sigmoid(vecs[:, :EMB] @ self.w + self.b)]

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
