"""Verdicts per second of the offline judge on CPU at realistic response lengths.

Usage: python benchmarks/judge_throughput.py [--n 2000] [--words 150] [--distinct-goals] [--judges offline,refusal]
Reports wall-clock and per-CPU-second rates (the latter is robust to a shared, loaded machine) of each judge in
one run, and each judge's rate as a share of the last one's (by default the refusal-string judge).
Replies are built from the held-apart evaluation corpus, padded to about --words words with prose. Goals
repeat as in a scan (26 distinct goals) unless --distinct-goals gives every reply its own goal (the
offline judge encodes each new goal once with MiniLM).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from redline.judges import JudgeInput, create_judge
from redline.judges.corpus import evaluation_corpus
from redline.probes.behavior import Behavior

PAD = (
    "This paragraph adds ordinary explanatory prose so the reply has a realistic length, as answers "
    "from chat models usually run to a few hundred tokens with context, caveats and a summary. "
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--judges", default="offline,refusal", help="comma-separated judge specs, run in turn")
    parser.add_argument("--distinct-goals", action="store_true", help="a new goal for every reply")
    args = parser.parse_args()
    corpus = evaluation_corpus()
    items = []
    for k in range(args.n):
        c = corpus[k % len(corpus)]
        text = c.response
        while len(text.split()) < args.words:
            text += "\n" + PAD
        goal = f"{c.goal} (case {k})" if args.distinct_goals else c.goal
        items.append(JudgeInput(Behavior(id=f"b{k}", goal=goal, category="harmful_content"), text))
    words = sum(len(i.response.split()) for i in items) / len(items)
    results = [_run(create_judge(spec.strip()), spec.strip(), items) for spec in args.judges.split(",")]
    for r in results:
        r |= {"n": args.n, "distinct_goals": args.distinct_goals, "mean_words": round(words, 1), "cpus": os.cpu_count()}
        r["ratio_to_last"] = round(r["verdicts_per_s"] / results[-1]["verdicts_per_s"], 3)
        print(json.dumps(r))


def _run(judge: object, spec: str, items: list[JudgeInput]) -> dict:
    judge.judge([JudgeInput(Behavior(id="w", goal="warm-up", category="harmful_content"), "Hello.")])  # loads
    start, cpu_start = time.perf_counter(), time.process_time()
    judge.judge(items)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "judge": spec,
        "id": judge.id,
        "seconds": round(elapsed, 3),
        "verdicts_per_s": round(len(items) / elapsed, 1),
        "verdicts_per_cpu_s": round(len(items) / max(cpu, 1e-9), 1),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }


if __name__ == "__main__":
    main()
