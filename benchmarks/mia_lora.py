"""Membership inference on a real fine-tune: LoRA-train the embedded SmolLM2-135M on member documents,
then attack it with the loss attack and offline LiRA / RMIA (the base model, adapter disabled, is the reference).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/mia_lora.py [--docs 200] [--epochs 4] [--out mia.json]

Members and non-members are disjoint draws of the same synthetic sentence distribution (made-up names,
places and numbers, `memorization.make_corpus`), so only training separates them. Prints AUC and TPR at
1% FPR per attack, the fine-tune's loss and time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=200, help="members (and as many non-members, plus a population)")
    ap.add_argument("--epochs", type=float, default=4.0)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--out", default="-")
    args = ap.parse_args()

    from redline.audits.privacy import mia
    from redline.audits.privacy.lm import scorer
    from redline.audits.privacy.memorization import lora_finetune, make_corpus
    from redline.targets.local import load_model

    pool = list(dict.fromkeys(make_corpus(args.docs * 4, seed=11)))
    members, non_members = pool[: args.docs], pool[args.docs : 2 * args.docs]
    population = pool[2 * args.docs : 3 * args.docs]
    model, tokenizer, model_id = load_model()
    steps = max(1, round(args.epochs * len(members) / args.batch_size))
    tuned, info = lora_finetune(model, tokenizer, members, steps=steps, lr=args.lr, batch_size=args.batch_size)
    target, reference = scorer(tuned, tokenizer), scorer(tuned, tokenizer, adapter=False)
    t0 = time.perf_counter()
    t_mem, t_non, t_pop = target(members), target(non_members), target(population)
    r_mem, r_non, r_pop = reference(members), reference(non_members), reference(population)
    scoring_s = time.perf_counter() - t0
    attacks = {
        "loss": (mia.loss_attack(t_mem), mia.loss_attack(t_non)),
        "lira_offline": (mia.lira_offline(t_mem, r_mem), mia.lira_offline(t_non, r_non)),
        "rmia": (mia.rmia(t_mem, r_mem, t_pop, r_pop), mia.rmia(t_non, r_non, t_pop, r_pop)),
    }
    result = {
        "model": model_id,
        "members": len(members),
        "non_members": len(non_members),
        "population": len(population),
        "finetune": info,
        "scoring_seconds": round(scoring_s, 1),
        "mean_loss": {"members": float(t_mem.mean()), "non_members": float(t_non.mean()),
                      "members_base": float(r_mem.mean()), "non_members_base": float(r_non.mean())},
        "attacks": {name: mia.metrics(m, n) for name, (m, n) in attacks.items()},
    }
    text = json.dumps(result, indent=1)
    print(text) if args.out == "-" else Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
