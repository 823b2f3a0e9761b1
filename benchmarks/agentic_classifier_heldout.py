"""The tool-output injection detectors (redline.agents.defences) on texts they were not written against:
`patterns` (the first, keyword detector) vs `classifier` (patterns or the guard's input rails).

Sets (agents/data/heldout/): `tool_outputs.yaml` (held-out set 2: 25 injections, 34 benign tool outputs,
written before the guard-rail classifier existed; both of its runs are in docs/agentic.md) and
`classifier.yaml` (set 1: 10 + 10, written after the patterns). Also the false-positive rate on every tool
output the environments return in benign episodes (the careful scripted agent's reads). Detection and
false-positive rates with Wilson intervals (`redline.stats`), and an exact McNemar test of old vs new on the
same texts.

    PYTHONPATH=src python benchmarks/agentic_classifier_heldout.py [--out docs/agentic-results/classifier.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from redline.agents.defences import SCORERS, Defence
from redline.agents.loop import EpisodeSpec, run_episodes, setup
from redline.agents.tasks import user_tasks
from redline.stats import mcnemar_exact, wilson_interval
from redline.targets import create_target

HELDOUT = Path(__file__).resolve().parents[1] / "src/redline/agents/data/heldout"


def environment_outputs() -> list[str]:
    """Every distinct tool output a benign episode of each user task shows the (careful, oracle) agent."""
    eps = [setup(EpisodeSpec(key)) for key in user_tasks()]
    run_episodes(create_target("python:redline.agents.scripted:careful"), eps, max_steps=8)
    return list(dict.fromkeys(m.content for e in eps for m in e.messages if m.role == "tool"))


def rate(flags: list[bool]) -> dict:
    k, n = sum(flags), len(flags)
    low, high = wilson_interval(k, n)
    return {"k": k, "n": n, "rate": round(k / n, 4) if n else None, "low": round(low, 4), "high": round(high, 4)}


def measure(texts: list[str], threshold: float) -> dict:
    flags = {name: [fn(t)[0] >= threshold for t in texts] for name, fn in SCORERS.items()}
    old, new = flags["patterns"], flags["classifier"]
    only_old = sum(a and not b for a, b in zip(old, new, strict=True))
    only_new = sum(b and not a for a, b in zip(old, new, strict=True))
    missed = [t for t, f in zip(texts, new, strict=True) if not f]
    return {**{name: rate(f) for name, f in flags.items()}, "only_patterns": only_old, "only_classifier": only_new,
            "mcnemar_p": round(mcnemar_exact(only_old, only_new), 4), "classifier_missed": missed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args()
    threshold = Defence("classifier").threshold
    sets = {name: yaml.safe_load((HELDOUT / f"{name}.yaml").read_text(encoding="utf-8"))
            for name in ("tool_outputs", "classifier")}
    results = {}
    for name, data in sets.items():
        results[f"{name}/injected"] = measure(data["injected"], threshold)
        results[f"{name}/benign"] = measure(data["benign"], threshold)
    results["environments/benign"] = measure(environment_outputs(), threshold)
    for key, res in results.items():
        cells = "  ".join(f"{n} {res[n]['k']}/{res[n]['n']} = {res[n]['rate']:.2f} [{res[n]['low']:.2f}, "
                          f"{res[n]['high']:.2f}]" for n in SCORERS)
        print(f"{key:24s} flagged: {cells}  (McNemar p {res['mcnemar_p']})")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
