"""Privacy-utility table of DP-SGD on the demo data: accuracy, accountant epsilon, empirical epsilon bound.

Usage: python benchmarks/dp_privacy_utility.py [--epsilons 1 3 8 inf] [--n 1000] [--epochs 40] [--json]
For each finite epsilon it trains a DP model (Opacus, PRV accountant) with 200 inserted canaries and
audits it (`redline.audits.dp.audit.run_audit`); `inf` is the same model trained without DP. The
non-DP model is also audited against a deliberately false claim (--false-claim, default 0.5): a model
that memorizes its canaries must get the verdict BROKEN.
"""

from __future__ import annotations

import argparse
import json
import math
import time

from redline.audits.dp.audit import run_audit
from redline.audits.dp.train import load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilons", nargs="+", default=["1", "3", "8", "inf"])
    parser.add_argument("--n", type=int, default=1000, help="demo rows (a quarter held out for test)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--canaries", type=int, default=200)
    parser.add_argument("--false-claim", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    rows = []
    for e in args.epsilons:
        eps = float(e)
        finite = math.isfinite(eps)
        cfg = load_config(None, target_epsilon=eps if finite else 1.0, epochs=args.epochs, lr=args.lr,
                          batch_size=args.batch_size, seed=args.seed, data={"n": args.n})
        start = time.perf_counter()
        r = run_audit(cfg, canaries=args.canaries, seed=args.seed,
                      claim_epsilon=None if finite else args.false_claim,
                      models=("dp",) if finite else ("non_dp",))
        m = r["models"]["dp" if finite else "non_dp"]
        rows.append({
            "target_epsilon": e, "accountant_epsilon": m["accountant_epsilon"],
            "claimed_epsilon": m["claimed_epsilon"], "empirical_epsilon_lower": m["empirical"]["epsilon_lower"],
            "empirical_epsilon_point": m["empirical"]["epsilon_point"], "attack_auc": m["attack"]["auc"],
            "test_accuracy": m["test_accuracy"], "noise_multiplier": m["noise_multiplier"],
            "verdict": m["verdict"], "seconds": round(time.perf_counter() - start, 1),
        })
        print(f"done epsilon={e} in {rows[-1]['seconds']} s", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"\ndemo data n={args.n}, {args.canaries} canaries, {args.epochs} epochs, lr {args.lr}, "
          f"batch {args.batch_size}, seed {args.seed}\n")
    print("| target ε | accountant ε | claimed ε | empirical ε lower bound (95%) | point | attack AUC | "
          "test acc | verdict |")
    print("|---|---|---|---|---|---|---|---|")
    for w in rows:
        acc_eps = "—" if w["accountant_epsilon"] is None else f"{w['accountant_epsilon']:.2f}"
        claim = "—" if w["claimed_epsilon"] is None else f"{w['claimed_epsilon']:.2f}"
        print(f"| {w['target_epsilon']} | {acc_eps} | {claim} | {w['empirical_epsilon_lower']:.3f} | "
              f"{w['empirical_epsilon_point']:.3f} | {w['attack_auc']:.3f} | {w['test_accuracy']:.3f} | "
              f"{w['verdict']} |")


if __name__ == "__main__":
    main()
