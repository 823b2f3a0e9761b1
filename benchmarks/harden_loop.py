"""Where the time of `redline harden` goes: each stage timed on a small input, in one run.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/harden_loop.py --db runs.db --run RUN [--judge J] [--items 8]
        [--steps 3] [--behaviors 6] [--max-new-tokens 32] [--out result.json]

The source database is copied to a temporary folder first (the original is never written). Stages: collect (the
whole run), revise (`--items` failures and as many benign prompts, the embedded model as reviser), dataset (SFT and
DPO rows), train (`--steps` LoRA steps of SFT and of DPO, batch 8, on the training rows; the DPO figure includes its
one-off reference pass), re-measure (a scan of `--behaviors` held-out behaviors x the trained attacks on the base
model). Prints seconds per stage and per item, and the ratios that size a full run (a DPO step in SFT steps, a
training step in re-measure attempts). Machine load changes the seconds; the ratios from one run are comparable.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, help="database with a scan of a `local` target (copied, not written)")
    ap.add_argument("--run", required=True, help="the scan run (id or prefix)")
    ap.add_argument("--judge", default=None, help="whose verdicts on the run count (default: the run's own)")
    ap.add_argument("--items", type=int, default=8, help="failures (and as many benign prompts) to revise")
    ap.add_argument("--steps", type=int, default=3, help="training steps per method")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--behaviors", type=int, default=6, help="behaviors in the re-measure scan")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--out", default="-")
    args = ap.parse_args()

    from redline.harden.collect import collect
    from redline.harden.dataset import build_rows, split_behaviors, write_dataset
    from redline.harden.remeasure import heldout_behaviors, run_remeasure, scan_config
    from redline.harden.revise import revise_all
    from redline.harden.train import examples, fit, local_rest
    from redline.judges.base import create_judge
    from redline.judges.rubric import load_constitution
    from redline.store.db import Store
    from redline.store.queries import get_run, resolve_run_id
    from redline.targets import create_target
    from redline.targets.local import load_model

    tmp = Path(tempfile.mkdtemp(prefix="harden-bench-"))
    db = tmp / "source.db"
    shutil.copy(args.db, db)
    secs: dict[str, float] = {}
    per: dict[str, float] = {}
    try:
        store = Store(str(db))
        run_id = resolve_run_id(store, args.run)
        source = get_run(store, run_id)
        t = time.perf_counter()
        coll = collect(store, run_id, judge=args.judge)
        secs["collect"] = time.perf_counter() - t
        store.close()
        coll.failures, coll.benign = coll.failures[: args.items], coll.benign[: args.items]
        items = [*coll.failures, *coll.benign]
        reviser, judge = create_target("local"), create_judge(source.judge or None)
        load_model(local_rest(source.target))  # loaded once here, so no stage's time includes the model load
        t = time.perf_counter()
        revisions = revise_all(items, reviser, judge, load_constitution(), batch_size=32, max_new_tokens=64)
        secs["revise"] = time.perf_counter() - t
        per["revise_per_item"] = secs["revise"] / len(revisions)
        t = time.perf_counter()
        split = split_behaviors(coll.behaviors, 0.3, 0)
        sft, dpo, _ = build_rows(coll, revisions, split)
        write_dataset(tmp / "data", sft, dpo)
        secs["dataset"] = time.perf_counter() - t
        model, tok, _ = load_model(local_rest(source.target))
        for method, rows in (("sft", sft), ("dpo", dpo)):
            data, _ = examples(tok, rows, method)
            t = time.perf_counter()
            _, info = fit(model, tok, data, method, steps=args.steps, batch_size=args.batch_size)
            secs[f"train_{method}"] = time.perf_counter() - t
            per[f"train_{method}_per_step"] = secs[f"train_{method}"] / args.steps
            per[f"train_{method}_examples"] = len(data)
        behaviors = heldout_behaviors(coll.behaviors, {b: "heldout" for b in coll.behaviors})[0][: args.behaviors]
        attacks = sorted({i.attack for i in items})
        conf = scan_config(source.target, behaviors, attacks, source.judge, 0, args.max_new_tokens)
        t = time.perf_counter()
        scan_id, _ = run_remeasure(str(db), conf)
        secs["remeasure"] = time.perf_counter() - t
        n_attempts = len(behaviors) * len(attacks)
        per["remeasure_per_attempt"] = secs["remeasure"] / n_attempts
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "source_run": run_id, "items_revised": len(items), "steps": args.steps, "batch_size": args.batch_size,
        "remeasure_attempts": n_attempts, "max_new_tokens": args.max_new_tokens,
        "seconds": {k: round(v, 2) for k, v in secs.items()}, "per_item": {k: round(v, 3) for k, v in per.items()},
        "ratios": {
            "dpo_step_over_sft_step": round(per["train_dpo_per_step"] / per["train_sft_per_step"], 2),
            "sft_step_over_remeasure_attempt": round(per["train_sft_per_step"] / per["remeasure_per_attempt"], 2),
            "revise_item_over_remeasure_attempt": round(per["revise_per_item"] / per["remeasure_per_attempt"], 2),
        },
    }
    text = json.dumps(result, indent=2)
    if args.out == "-":
        print(text)
    else:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(text)


if __name__ == "__main__":
    main()
