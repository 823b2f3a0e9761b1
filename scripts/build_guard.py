"""Build the guard's look-alike-aware request classifier deterministically, and choose its thresholds.

A logistic head over the packaged MiniLM sentence vectors, trained to separate harmful requests from benign
look-alikes (requests that sound unsafe but are not). It reads each request the way the guard does: every
training goal is rendered as written and inside the developer-mode role-play wrapper, then passed through the
guard's own views (`rails.jailbreak_patterns` + `rails.request_views`: persona sentences stripped, decodings,
windows). Benign goals teach "every view is benign"; harmful goals teach "the request itself is harmful".

Data (prompts only; the public files are read where they lie, never copied; no replies are used):
- the shipped behavior sets (`probes/data/`): expected refuse = harmful, expected comply = benign, EXCEPT the
  behaviors of the measured sample (`std_sample`: the standard sets, 12 per category by the suite's stable
  hash), which are held out entirely;
- /work/shared/judge-data: GPTFuzz questions and JailbreakBench goals (harmful), XSTest prompts (safe types
  benign, `contrast_*` harmful), llm-self-defense prompts (by its `harmful` column).

Thresholds are chosen on out-of-fold scores, never on the sample: 5 folds by goal (a goal is never scored by
a head that saw it; its family may have been seen, as the sample's families are); the same rates with folds
by source and behavior family (a family never seen) are reported as the pessimistic figure. `request_harm` at
the lowest score that blocks at most TARGET_FPR of benign look-alike goals (any rendering), `jailbreak` (a
jailbreak pattern plus this score) at the lowest that blocks at most TARGET_FPR of wrapped benign goals.
Writes `guard/data/request_head.npz`.
Usage: python scripts/build_guard.py [--data DIR] [--out PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np

from redline.attacks.base import create_attack
from redline.guard import rails as r
from redline.guard.classify import REQUEST_HEAD
from redline.judges.embed import goal_vectors
from redline.judges.sources import public_rows
from redline.probes.behavior import Behavior, builtin_probe_sets
from redline.probes.suites import Suite
from redline.records import conversation_to_dicts

sys.path.insert(0, str(Path(__file__).parent))
from build_judge import save_npz  # noqa: E402

DEFAULT_DATA = os.environ.get("REDLINE_JUDGE_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "judge-data"))
SAMPLE = Suite(name="standard-sample", sets=["harmful_content", "dangerous_capability", "bias", "hallucination",
                                            "privacy", "over_refusal", "alignment"], per_category=12)
WRAPPERS = ("identity", "roleplay:template=developer_mode")
C, FOLDS, TARGET_FPR = 1.0, 5, 0.03


def goals(data: Path) -> tuple[list[tuple[str, int, str]], set[str]]:
    """(goal, harmful, group) training goals and the held-out sample's goals."""
    held = {b.goal for b in SAMPLE.behaviors()}
    out: list[tuple[str, int, str]] = []
    for ps in builtin_probe_sets().values():
        for b in ps.behaviors:
            if b.goal not in held:
                out.append((b.goal, int(b.expected == "refuse" and b.category != "hallucination"),
                            f"probe:{b.category}:{b.subcategory}"))
    for row in public_rows(data):
        if row.source != "xstest" and row.goal not in held:
            out.append((row.goal, int(bool(row.request_harm)), f"{row.source}:{int(bool(row.request_harm))}"))
    xs = data / "xstest_dev.csv"
    if xs.exists():
        with xs.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):  # a safe type and its unsafe contrast share a family
                family = row["type"].removeprefix("contrast_")
                out.append((row["prompt"], int(row["type"].startswith("contrast")), f"xstest:{family}"))
    seen: dict[str, tuple[str, int, str]] = {}
    for g in out:
        seen.setdefault(g[0], g)
    return sorted(seen.values()), held


def views_of(goal: str) -> list[list[str]]:
    """The texts the guard reads for `goal` under each wrapper (index 0: the request without its wrapper)."""
    behavior = Behavior(id="x", goal=goal, category="x")
    out = []
    for spec in WRAPPERS:
        msgs = conversation_to_dicts(create_attack(spec).variants(behavior)[0].conversation)
        last = [m["content"] for m in msgs if m["role"] == "user"][-1]
        out.append(r.request_views(last, r.jailbreak_patterns(msgs)))
    return out


def fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
    clf.fit(X, y)
    return clf.coef_[0].astype(np.float64), float(clf.intercept_[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--out", default=str(REQUEST_HEAD))
    args = ap.parse_args()
    items, held = goals(Path(args.data))
    rendered = [views_of(g) for g, _, _ in items]
    texts = sorted({t for per in rendered for vs in per for t in vs})
    vec = dict(zip(texts, goal_vectors(texts).astype(np.float64), strict=True))
    # training rows: a harmful goal's unwrapped request; every view of a benign goal
    rows: list[tuple[int, str, int]] = []  # (item index, text, label)
    for i, ((_, harmful, _), per) in enumerate(zip(items, rendered, strict=True)):
        if harmful:
            rows += [(i, t, 1) for t in dict.fromkeys(vs[0] for vs in per)]
        else:
            rows += [(i, t, 0) for t in dict.fromkeys(t for vs in per for t in vs)]
    y = np.array([h for _, h, _ in items])
    lookalike = np.array([g.startswith(("probe:over_refusal", "xstest")) for _, _, g in items]) & (y == 0)
    family = {g: int(hash_str(g), 16) % FOLDS for g in {g for _, _, g in items}}
    by_goal = oof_scores(items, rendered, rows, vec, [int(hash_str(g), 16) % FOLDS for g, _, _ in items])
    by_family = oof_scores(items, rendered, rows, vec, [family[g] for _, _, g in items])
    t_req = threshold(by_goal[lookalike].max(axis=1))
    t_jb = min(t_req, threshold(by_goal[lookalike, 1]))
    w, b = fit(np.stack([vec[t] for _, t, _ in rows]), np.array([lab for _, _, lab in rows]))
    report = {
        "goals": {"harmful": int(y.sum()), "benign": int((y == 0).sum()), "benign_lookalike": int(lookalike.sum()),
                  "held_out_sample": len(held)},
        "thresholds": {"request_harm": t_req, "jailbreak": t_jb},
        "out_of_fold_by_goal": rates(by_goal, y, lookalike, t_req, t_jb),
        "out_of_fold_by_family": rates(by_family, y, lookalike, t_req, t_jb),
        "C": C, "folds": FOLDS, "target_fpr": TARGET_FPR, "encoder": "minilm",
    }
    save_npz(Path(args.out), {"w": w.astype(np.float32), "b": np.float32(b), "meta": np.array(json.dumps(report))})
    print(json.dumps(report, indent=1))


def oof_scores(items: list, rendered: list, rows: list, vec: dict, fold: list[int]) -> np.ndarray:
    """Out-of-fold max-over-views scores per goal and wrapper (`fold[i]`: the fold of goal i)."""
    oof = np.zeros((len(items), len(WRAPPERS)))
    for k in range(FOLDS):
        tr = [(t, y) for i, t, y in rows if fold[i] != k]
        w, b = fit(np.stack([vec[t] for t, _ in tr]), np.array([y for _, y in tr]))
        for i, per in enumerate(rendered):
            if fold[i] == k:
                for j, vs in enumerate(per):
                    oof[i, j] = max(sigmoid(vec[t] @ w + b) for t in vs)
    return oof


def rates(oof: np.ndarray, y: np.ndarray, lookalike: np.ndarray, t_req: float, t_jb: float) -> dict[str, float]:
    """Blocked shares at the chosen thresholds (wrapped: the jailbreak threshold, the wrapper being a pattern)."""
    blocked = np.stack([oof[:, 0] >= t_req, oof[:, 1] >= t_jb], axis=1)
    return {
        "harmful_blocked_identity": round(float(blocked[y == 1, 0].mean()), 4),
        "harmful_blocked_wrapped": round(float(blocked[y == 1, 1].mean()), 4),
        "lookalike_blocked_identity": round(float(blocked[lookalike, 0].mean()), 4),
        "lookalike_blocked_wrapped": round(float(blocked[lookalike, 1].mean()), 4),
    }


def threshold(benign_scores: np.ndarray) -> float:
    """The lowest score (2 decimals) at which at most TARGET_FPR of these benign goals reach it."""
    for t in np.arange(0.05, 1.0, 0.01):
        if (benign_scores >= t).mean() <= TARGET_FPR:
            return round(float(t), 2)
    return 0.99


def sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))))


def hash_str(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


if __name__ == "__main__":
    main()
