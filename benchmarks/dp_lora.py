"""DP fine-tuning of the embedded model's LoRA adapter: epsilon, utility and privacy (docs/privacy.md table).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/dp_lora.py [--epsilons 1 8 inf] [--docs 60] [--epochs 4] [--out r.json]

The memorization demo's corpus (synthetic sentences) with two "my PIN is ####" canaries inserted
`--repeats` times is the training set; as many other sentences are held out. Each finite epsilon trains
with DP-SGD (`redline.audits.dp.lm.dp_lora_finetune`: per-example clipping, Poisson sampling, RDP
accountant); `inf` trains the same adapter without DP (same epochs, batch size and learning rate). Each
adapter is measured for held-out perplexity, canary exposure and membership inference (training vs
held-out sentences; loss and LiRA against the base model). Prints JSON and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path


def table(rows: list[dict]) -> str:
    out = ["| target ε | accountant ε (δ) | noise σ | held-out perplexity (base) | canary exposure, bits | "
           "MIA AUC loss / LiRA | train s |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        t = r["train"]
        eps = "—" if not t.get("dp") else f"{t['epsilon']:.2f} ({t['delta']:.1e})"
        exp = ", ".join(f"{e['exposure']:.1f}" for e in r["exposure"])
        m = r["mia"]
        out.append(f"| {r['target_epsilon']} | {eps} | {t.get('noise_multiplier', 0):.2f} | "
                   f"{r['held_out_perplexity']:.2f} ({r['base_held_out_perplexity']:.2f}) | {exp} | "
                   f"{m['loss']['auc']:.3f} / {m['lira_offline']['auc']:.3f} | {t['seconds']:.0f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epsilons", nargs="+", default=["1", "8", "inf"])
    ap.add_argument("--docs", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--epochs", type=float, default=4.0)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import torch

    from redline.audits.dp.lm import dp_lora_finetune, privacy_and_utility
    from redline.audits.privacy.canary import make_canaries
    from redline.audits.privacy.memorization import lora_finetune, make_corpus
    from redline.targets.local import load_model

    torch.set_num_threads(args.threads)
    canaries = make_canaries("my PIN is ####", 2, seed=7)
    corpus = make_corpus(args.docs, canaries, args.repeats, seed=0)
    members = [d for d in dict.fromkeys(corpus) if d not in canaries]
    held_out = [d for d in dict.fromkeys(make_corpus(3 * args.docs, seed=1)) if d not in corpus][: len(members)]
    model, tok, model_id = load_model()
    rows = []
    for eps in args.epsilons:
        start = time.perf_counter()
        if math.isinf(float(eps)):
            steps = max(1, round(args.epochs * len(corpus) / args.batch_size))
            tuned, info = lora_finetune(model, tok, corpus, steps=steps, lr=args.lr, batch_size=args.batch_size)
            info["dp"] = False
        else:
            tuned, info = dp_lora_finetune(model, tok, corpus, target_epsilon=float(eps), epochs=args.epochs,
                                           batch_size=args.batch_size, lr=args.lr)
        info["seconds"] = round(time.perf_counter() - start, 1)
        row = {"target_epsilon": eps, "train": info,
               **privacy_and_utility(tuned, tok, members, held_out, canaries, args.candidates)}
        rows.append(row)
        print(table([row]), flush=True)
    result = {"model": model_id, "canaries": len(canaries), "repeats": args.repeats, "train_texts": len(corpus),
              "members": len(members), "held_out": len(held_out), "rows": rows}
    text = json.dumps(result, indent=1, default=str)
    if args.out:
        Path(args.out).write_text(text)
    print(table(rows))


if __name__ == "__main__":
    main()
