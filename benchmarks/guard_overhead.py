"""Runtime guard overhead: requests/s with and without the guard (same upstream, one run, over loopback HTTP),
memory per 1,000 live conversations, and the added latency per request of a stored guarded scan.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/guard_overhead.py --requests 40            # fast python upstream
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/guard_overhead.py --local --requests 12    # the embedded model
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/guard_overhead.py --db runs.db --runs UNGUARDED GUARDED

The fast upstream answers instantly, so its ratio is the guard's whole cost; the embedded model's ratio is the
overhead a CPU deployment sees. Numbers depend on the machine's load: compare ratios within one run only.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

PROMPTS = [
    "Name a colour of the sky.", "How do I bake sourdough bread at home?", "What is the capital of France?",
    "Give me three tips for a job interview.", "How do I kill a Python process that hangs?",
    "Summarise the plot of Hamlet in two sentences.", "What is a good stretch for lower back pain?",
    "Explain what a hash function is.",
]
REPLY = ("Here is a short answer. " * 12).strip()


def fast_upstream(messages: list[dict]) -> str:
    """An upstream with no cost of its own: the guard's cost is all that is measured."""
    return REPLY


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def throughput(upstream_spec: str, n: int, max_tokens: int) -> dict:
    """Both servers up at once; requests alternate between them (ABBA) so a changing machine load hits both."""
    import httpx

    from redline.guard.engine import Guard
    from redline.guard.policy import load_guard_policy
    from redline.guard.server import create_guard_app
    from redline.serve import BackgroundServer, create_app
    from redline.targets import create_target

    target = create_target(upstream_spec, batch_size=1)
    guard = Guard(load_guard_policy())
    lat: dict[str, list[float]] = {"plain": [], "guarded": []}
    blocked = 0
    with (BackgroundServer(create_app(target, "m")) as plain, BackgroundServer(create_guard_app(guard, target, "m"))
          as guarded, httpx.Client(timeout=600) as client):
        urls = {"plain": plain.base_url, "guarded": guarded.base_url}
        for i in range(n + 2):
            body = {"model": "m", "max_tokens": max_tokens,
                    "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]}
            for arm in (("plain", "guarded") if i % 2 else ("guarded", "plain")):
                t0 = time.perf_counter()
                resp = client.post(urls[arm] + "/chat/completions", json=body)
                resp.raise_for_status()
                if i >= 2:  # the first two rounds warm up
                    lat[arm].append(time.perf_counter() - t0)
                    blocked += bool(resp.headers.get("x-guard-blocked-by"))
    guard.close()
    out: dict = {"upstream": upstream_spec, "requests_each": n, "guarded_blocked": blocked}
    for arm, xs in lat.items():
        out[arm] = {"rps": round(n / sum(xs), 2), "p50_s": round(pct(xs, 0.5), 4), "p95_s": round(pct(xs, 0.95), 4)}
    out["rps_ratio_guarded_over_plain"] = round(out["guarded"]["rps"] / out["plain"]["rps"], 3)
    out["added_p50_s"] = round(out["guarded"]["p50_s"] - out["plain"]["p50_s"], 4)
    out["added_mean_pct_of_plain"] = round(100 * (sum(lat["guarded"]) / sum(lat["plain"]) - 1), 1)
    return out


def conversation_memory(n: int = 1000, turns: int = 4) -> dict:
    from redline.guard.conversation import ConversationTracker

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    tracker = ConversationTracker(0.8, 0.25, 3600, 100_000)
    for i in range(n):
        history = [f"conversation {i} turn {t}: a user message of ordinary length" for t in range(turns)]
        for t in range(1, turns + 1):
            tracker.update(f"conv-{i}", history[:t], [0.3] * t)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    used = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return {"conversations": n, "turns_each": turns, "bytes_per_1000": int(used * 1000 / n)}


def stored_latency(db: str, unguarded: str, guarded: str) -> dict:
    """Per-request latency of two stored scans and, inside the guarded one, guard vs upstream seconds (the
    numbers `redline diff` prints)."""
    from redline.report.diff import diff_runs
    from redline.store.db import Store

    store = Store(db)
    try:
        return diff_runs(store, unguarded, guarded)["latency"]
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--local", action="store_true", help="the embedded model as upstream (slow)")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--db")
    ap.add_argument("--runs", nargs=2, metavar=("UNGUARDED", "GUARDED"))
    ap.add_argument("--out", default="-")
    args = ap.parse_args()
    if args.runs:
        result = {"stored": stored_latency(args.db, *args.runs)}
    else:
        spec = "local" if args.local else "python:guard_overhead:fast_upstream"
        result = {"throughput": throughput(spec, args.requests, args.max_tokens), "memory": conversation_memory()}
    text = json.dumps(result, indent=1)
    if args.out == "-":
        print(text)
    else:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
