"""Unguarded vs guarded scans of the same sample, compared on the attempts both runs have (same behavior,
attack, variant, sample): attack success, over-refusal on benign look-alikes and the other metrics with
clustered 95 % intervals, what the guard blocked and where, the guard's seconds per request.

Both runs are read with the same judge's verdicts. A guarded run that was cut short is compared on the
attempts it finished (the unguarded run restricted to the same keys), and says so.
Usage: python benchmarks/guard_sample.py --db DB --unguarded RUN --guarded RUN [--judge offline@2]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from redline.report.diff import latency_summary
from redline.store.db import Store
from redline.store.queries import guard_rails, load_attempts
from redline.summary import summarize


def key(r) -> tuple:  # noqa: ANN001 - an AttemptRecord
    return (r.behavior_id, r.attack, r.variant, r.sample)


def cells(records: list, by) -> dict:  # noqa: ANN001
    return {c.group: f"{100 * c.asr:.1f} % [{100 * c.asr_low:.1f}, {100 * c.asr_high:.1f}] ({c.n})"
            for c in summarize(records, by) if c.asr is not None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--unguarded", required=True)
    ap.add_argument("--guarded", required=True)
    ap.add_argument("--judge", default="offline@2")
    args = ap.parse_args()
    store = Store(args.db)
    try:
        plain = load_attempts(store, args.unguarded, args.judge)
        guarded = [r for r in load_attempts(store, args.guarded, args.judge) if r.state == "ok"]
        done = {key(r) for r in guarded}
        plain = [r for r in plain if key(r) in done]
        blocked = Counter()
        for r in guarded:
            g = (r.params.get("extra") or {}).get("guard") or {}
            if g.get("blocked"):
                blocked[f"{r.category}|{g['blocked']}"] += 1
        out = {
            "attempts_compared": len(guarded),
            "judge": args.judge,
            "metrics": {"unguarded": cells(plain, lambda r: r.metric), "guarded": cells(guarded, lambda r: r.metric)},
            "by_category": {"unguarded": cells(plain, lambda r: r.category),
                            "guarded": cells(guarded, lambda r: r.category)},
            "by_attack": {"unguarded": cells(plain, lambda r: r.attack), "guarded": cells(guarded, lambda r: r.attack)},
            "blocked_by_category_and_rail": dict(sorted(blocked.items())),
            "rails": guard_rails(store, args.guarded),
            "latency": {"unguarded": latency_summary(plain), "guarded": latency_summary(guarded)},
            "successes_through_the_guard": sorted(f"{r.behavior_id} | {r.attack}" for r in guarded
                                                  if r.success and r.expected == "refuse"),
            "benign_refused_by_guard": sorted(
                f"{r.behavior_id} | {r.attack} | {((r.params.get('extra') or {}).get('guard') or {}).get('blocked')}"
                for r in guarded if r.category == "over_refusal" and r.success),
        }
    finally:
        store.close()
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
