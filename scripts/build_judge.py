"""Rebuild the offline judge's classifier (src/redline/judges/data/offline_judge.npz), deterministically.

Trains on corpus_train.yaml, handwritten_train.jsonl and smollm2_labelled_train.jsonl only: a logistic
regression on hand-crafted and hashed n-gram features, Platt-calibrated on 5-fold out-of-fold scores, and a
ridge head for harm.
Usage: python scripts/build_judge.py [--check]   (--check: also print agreement on the held-apart sets)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from redline.judges.corpus import DATA, evaluation_corpus, smollm2_corpus, training_corpus
from redline.judges.features import HAND_NAMES, HASH_DIM, feature_matrix

C = 4.0
HAND_WEIGHT = 5.0  # hand-written and hand-labelled real items are few but realistic
OUT = DATA / "offline_judge.npz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="evaluate on the held-apart sets after building")
    args = parser.parse_args()
    corpus = training_corpus()
    X = feature_matrix([(i.goal, i.response) for i in corpus])
    y = np.array([i.label == "complied" for i in corpus], dtype=int)
    clf = LogisticRegression(C=C, max_iter=5000, solver="liblinear", random_state=0)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    weight = np.array([HAND_WEIGHT if i.family in ("hand", "smollm2") else 1.0 for i in corpus])
    oof = cross_val_predict(clf, X, y, cv=folds, method="decision_function", params={"sample_weight": weight})
    cal = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000).fit(oof.reshape(-1, 1), y)
    clf.fit(X, y, sample_weight=weight)
    harmful = np.array([i.expected == "refuse" for i in corpus])
    harm = Ridge(alpha=1.0, random_state=0).fit(X[harmful], np.array([i.harm for i in corpus])[harmful])
    blob = json.dumps([(i.goal, i.response, i.label, i.harm) for i in corpus]).encode()
    meta = {
        "n_train": len(corpus),
        "corpus_sha256": hashlib.sha256(blob).hexdigest()[:16],
        "C": C,
        "oof_accuracy": float(((oof > 0) == y).mean()),
        "hand_features": HAND_NAMES,
        "hash_dim": HASH_DIM,
    }
    np.savez_compressed(
        OUT,
        w=clf.coef_[0].astype(np.float32),
        b=np.float32(clf.intercept_[0]),
        cal_a=np.float32(cal.coef_[0][0]),
        cal_b=np.float32(cal.intercept_[0]),
        harm_w=harm.coef_.astype(np.float32),
        harm_b=np.float32(harm.intercept_),
        meta=np.array(json.dumps(meta)),
    )
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB): {json.dumps(meta)[:200]}")
    if args.check:
        from redline.judges.metaeval import evaluate_items
        from redline.judges.offline import OfflineClassifier

        model = OfflineClassifier.load()
        for name, items in (
            ("eval templates", evaluation_corpus()),
            ("smollm2 hand-labelled (eval half)", smollm2_corpus("eval")),
        ):
            print(name, json.dumps(evaluate_items(model, items)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
