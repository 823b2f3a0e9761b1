"""Guard replay speed: the same stored attempts replayed per request (as the live guard reads them) and with the
replay's batched, memoised readings; the block decisions of both must agree.

Both paths run the guard's own decision code (`Guard.check_input` / `check_output`); they differ only in how the
classifiers are fed: one call per request (live) or batches per chunk of attempts (`CachedReadings.prefetch`).
Prints attempts per second for each, their ratio (one run, same process, same attempts) and how many decisions
differ (0 expected; a float difference from batch padding could flip a score sitting on a threshold).
Usage: python benchmarks/guard_replay.py DB RUN [--attack identity] [--limit 120]
"""

from __future__ import annotations

import argparse
import json
import time

from redline.engine.rejudge import attack_prefix
from redline.guard.classify import Readings
from redline.guard.engine import Guard
from redline.guard.policy import load_guard_policy
from redline.guard.replay import CachedReadings, replay_attempt, select_attempts, target_calls
from redline.judges import embed
from redline.probes.behavior import Behavior
from redline.store.db import Store
from redline.store.queries import load_attempts, stored_behaviors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("run")
    ap.add_argument("--attack", action="append", default=[])
    ap.add_argument("--limit", type=int, default=120)
    args = ap.parse_args()
    store = Store(args.db)
    try:
        records = select_attempts(load_attempts(store, args.run), args.attack, None)[: args.limit]
        behaviors = {k: Behavior.model_validate(v) for k, v in stored_behaviors(store, args.run).items()}
    finally:
        store.close()
    calls = [target_calls(r.conversation, attack_prefix(r, behaviors[r.behavior_id])) for r in records]
    policy = load_guard_policy()
    policy = policy.model_copy(update={"classifier_timeout_s": 600.0})
    readings = Readings()
    readings.request_harm(["warm up"])  # encoder loaded before either timing
    out = {}
    decisions = {}
    for name in ("per request (live)", "batched (replay)"):
        cached = CachedReadings(readings) if name.startswith("batched") else None
        guard = Guard(policy, readings=cached or readings)
        embed._GOALS.clear()  # the judge's goal-vector cache: neither pass starts with the other's vectors
        start = time.perf_counter()
        if cached:
            cached.prefetch(calls, policy.conversation.score_replies)
        pairs = zip(records, calls, strict=True)
        decisions[name] = [replay_attempt(guard, r.attempt_id, c).blocked_by for r, c in pairs]
        seconds = time.perf_counter() - start
        guard.close()
        out[name] = {"attempts": len(records), "calls": sum(map(len, calls)), "seconds": round(seconds, 2),
                     "attempts_per_s": round(len(records) / seconds, 2)}
    live, batched = out.values()
    out["speed-up"] = round(batched["attempts_per_s"] / live["attempts_per_s"], 2)
    out["decisions differing"] = sum(a != b for a, b in zip(*decisions.values(), strict=True))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
