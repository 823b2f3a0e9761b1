"""Scale-out on Ray, measured in one run on this machine:

1. Ray's overhead on a small scan: the same scan (a fast `python:` target) in-process and on one
   Ray replica; ratio of wall times (the cluster start is reported apart: it is paid once per session).
2. Fan-out for a latency-bound target: a `python:` target that answers each request after `--delay` seconds
   (an endpoint), with 1, 2, 4 and 8 replicas; attempts per second and speed-up over one replica.

    .venv/bin/python benchmarks/ray_scale.py [--delay 0.2] [--suite standard] [--limit 16] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

DELAY_ENV = "REDLINE_BENCH_DELAY"


def fast(messages: list[dict]) -> str:
    return "I can't help with that." if len(messages[-1]["content"]) % 2 else "Sure. [details redacted]"


def delayed(messages: list[dict]) -> str:
    """An endpoint's latency: one request at a time, each taking the configured delay."""
    time.sleep(float(os.environ.get(DELAY_ENV, "0.2")))
    return fast(messages)


def timed_scan(folder: Path, name: str, **options) -> tuple[float, float, int]:
    """(wall seconds incl. starting the replicas, seconds executing the plan, attempts)."""
    from redline import scan

    start = time.perf_counter()
    result = scan(db=str(folder / f"{name}.db"), **options)
    return time.perf_counter() - start, result.stats.seconds, result.stats.executed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--suite", default="standard")
    parser.add_argument("--limit", type=int, default=16, help="behaviors of the suite")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    os.environ[DELAY_ENV] = str(args.delay)  # before Ray starts, so its workers inherit it and find this module
    here = str(Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    import ray

    out: dict = {"cpus": os.cpu_count(), "delay_s": args.delay}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        out["ray_start_s"] = round(time.perf_counter() - start, 2)
        target = "python:ray_scale:fast"
        plan = {"suite": args.suite, "limit": args.limit}
        timed_scan(folder, "warm", target=target, **plan)  # imports, judge and its goal cache warm for both sides
        wall, inproc, n = timed_scan(folder, "inproc", target=target, **plan)
        ray_wall, on_ray, _ = timed_scan(folder, "ray1", target=target, executor="ray", replicas=1, **plan)
        out["overhead"] = {
            "attempts": n, "inprocess_s": round(inproc, 2), "ray_1_replica_s": round(on_ray, 2),
            "ratio": round(on_ray / inproc, 2), "wall_inprocess_s": round(wall, 2),
            "wall_ray_incl_replica_start_s": round(ray_wall, 2),
        }
        fan: dict[str, dict] = {}
        target = "python:ray_scale:delayed"
        for replicas in (1, 2, 4, 8):
            wall, secs, n = timed_scan(folder, f"fan{replicas}", target=target, executor="ray", replicas=replicas,
                                       batch_size=4, **plan)
            fan[str(replicas)] = {"attempts": n, "seconds": round(secs, 2), "attempts_per_s": round(n / secs, 2),
                                  "wall_incl_replica_start_s": round(wall, 2)}
        base = fan["1"]["attempts_per_s"]
        for row in fan.values():
            row["speedup"] = round(row["attempts_per_s"] / base, 2)
        out["fan_out"] = fan
        ray.shutdown()
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
