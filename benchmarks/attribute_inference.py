"""Attribute inference on the memorization demo's data (the table in docs/privacy.md).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/attribute_inference.py [--docs 120] [--steps 120] [--out r.json]

LoRA-tunes the embedded SmolLM2-135M on `--docs` synthetic documents, masks each document's place, and
measures how often the fine-tuned model, the base model and their ratio pick the true place among the six,
on training documents and on as many held-out ones. Prints JSON and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _ci(x: list[float]) -> str:
    return f"[{x[0]:+.3f}, {x[1]:+.3f}]"


def table(r: dict) -> str:
    rows = ["| records | attacker | accuracy [95% CI] | prior | advantage over prior [95% CI] "
            "| advantage over base model [95% CI] |", "| --- | --- | --- | --- | --- | --- |"]
    for split in ("training", "held_out"):
        s = r[split]
        for name in ("target", "reference", "ratio"):
            a = s[name]
            vs_ref = (f"{a['advantage_over_reference']:+.3f} {_ci(a['advantage_over_reference_ci'])}"
                      if "advantage_over_reference" in a else "-")
            rows.append(f"| {split} (n={s['records']}) | {name} | {a['accuracy']:.3f} "
                        f"[{a['accuracy_ci'][0]:.3f}, {a['accuracy_ci'][1]:.3f}] | {s['prior']:.3f} | "
                        f"{a['advantage_over_prior']:+.3f} {_ci(a['advantage_over_prior_ci'])} | {vs_ref} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=120)
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import torch

    from redline.audits.privacy.attribute import demo

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    r = demo(n_docs=args.docs, steps=args.steps, seed=args.seed)
    r["seconds"] = round(time.perf_counter() - start, 1)
    text = json.dumps(r, indent=1)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    print(table(r))


if __name__ == "__main__":
    main()
