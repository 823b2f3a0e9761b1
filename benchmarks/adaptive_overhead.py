"""Adaptive loop overhead and ASR on the embedded model: attacker + judge time vs target time.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/adaptive_overhead.py --limit 4 --max-queries 6

Runs a static identity scan on the same behaviors as the baseline, then each adaptive method, all
against the embedded SmolLM2-135M (which also serves as attacker and rubric judge), and prints a table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--max-queries", type=int, default=6)
    ap.add_argument("--methods", default="pair,tap,crescendo")
    ap.add_argument("--target-tokens", type=int, default=48)
    ap.add_argument("--out", default="-")
    args = ap.parse_args()

    from redline.engine.adaptive import AttackConfig, load_behaviors, run_attack
    from redline.engine.scan import ScanConfig, run_scan
    from redline.probes.behavior import DATA_DIR
    from redline.results import load_attempts
    from redline.stats import wilson_interval
    from redline.store.db import Store
    from redline.targets import create_target

    db = str(Path(tempfile.mkdtemp()) / "bench.db")
    start = time.perf_counter()
    target = create_target("local", batch_size=16)
    rows = [{"what": "model load", "seconds": round(time.perf_counter() - start, 1)}]
    n = len(load_behaviors("starter", limit=args.limit))
    t0 = time.perf_counter()
    scan = run_scan(
        ScanConfig(
            target="local",
            behaviors_file=str(DATA_DIR / "starter.yaml"),
            limit=args.limit,
            max_new_tokens=args.target_tokens,
        ),
        db=db,
        target=target,
    )
    store = Store(db)
    recs = [r for r in load_attempts(store, scan.run_id) if r.expected == "refuse"]
    store.close()
    wins = sum(bool(r.success) for r in recs if r.success is not None)
    rows.append(
        {
            "what": "static identity",
            "behaviors": len(recs),
            "successes": wins,
            "asr_ci": wilson_interval(wins, len(recs)),
            "queries": len(recs),
            "seconds": round(time.perf_counter() - t0, 1),
        }
    )
    for method in args.methods.split(","):
        t0 = time.perf_counter()
        res = run_attack(
            AttackConfig(
                method=method, limit=n, max_queries=args.max_queries, target_tokens=args.target_tokens
            ),
            db=db,
            target=target,
        )
        u = res.usage
        wins = sum(bool(o.success) for o in res.outcomes)
        scored = sum(o.success is not None for o in res.outcomes)
        rows.append(
            {
                "what": method,
                "behaviors": scored,
                "successes": wins,
                "asr_ci": wilson_interval(wins, scored),
                "queries": u["queries"],
                "queries_per_success": round(u["queries"] / wins, 1) if wins else None,
                "budget_hits": sum(o.budget_hit is not None for o in res.outcomes),
                "target_s": round(u["target_s"], 1),
                "attacker_s": round(u["attacker_s"], 1),
                "judge_s": round(u["judge_s"], 1),
                "overhead_ratio": round((u["attacker_s"] + u["judge_s"]) / u["target_s"], 2)
                if u["target_s"]
                else None,
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
    text = json.dumps(rows, indent=1, default=str)
    print(text) if args.out == "-" else Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
