"""Rebuild the offline judge's newest generation (redline.judges.offline.GENERATIONS) deterministically, and check it.

Trains the three heads (redline.judges.training) on the public judge-data files (read where they lie, never
copied), this project's labelled data and the shipped probe goals. `--check` also measures every source
leave-one-source-out (train on all the others, test on it) beside refusal-string matching.
Usage: python scripts/build_judge.py [--data DIR] [--check] [--out PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

from redline.judges import training
from redline.judges.metaeval import agreement_metrics
from redline.judges.offline import GENERATIONS, LATEST
from redline.judges.refusal import RefusalJudge
from redline.judges.sources import (
    Row,
    probe_goal_rows,
    project_rows,
    public_rows,
    smollm2_eval_rows,
    strip_placeholders,
)

OUT = GENERATIONS[LATEST]
# the public files lie in shared/ beside the repository (never copied into it)
DEFAULT_DATA = os.environ.get("REDLINE_JUDGE_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "judge-data"))


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz with fixed zip timestamps, so the same weights give the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            arr = io.BytesIO()
            np.lib.format.write_array(arr, np.asarray(arrays[name]), allow_pickle=False)
            zf.writestr(info, arr.getvalue())
    path.write_bytes(buf.getvalue())


def corpus_hash(rows: list[Row]) -> str:
    blob = json.dumps([(r.source, r.goal, r.response, r.answered, r.request_harm, r.content_harm) for r in rows])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build(rows: list[Row], out: Path, X=None) -> training.Model:  # noqa: ANN001
    """Fit the heads on `rows` and write the weights file."""
    X = training.features(rows) if X is None else X
    model = training.fit(X, rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.source] = counts.get(r.source, 0) + 1
    meta = {"rows": counts, "corpus_sha256": corpus_hash(rows), "C": training.C, "cap": training.SOURCE_CAP}
    meta |= {"goal_encoder": training.GOAL_ENCODER, "by_voice": training.BY_VOICE}
    arrays = {f"w_{h}": model.w[h].astype(np.float32) for h in training.HEADS}
    arrays |= {f"b_{h}": np.float32(model.b[h]) for h in training.HEADS}
    arrays |= {"cal_a": np.float32(model.cal[0]), "cal_b": np.float32(model.cal[1]), "meta": np.array(json.dumps(meta))}
    save_npz(out, arrays)
    return model


def _summary(m: dict) -> dict:
    out = {"n": m["scored"]}
    for k in ("agreement", "fpr", "fnr"):
        out[k] = [round(m[k]["value"], 4), *(round(x, 4) for x in m[k]["ci95"])]
    out["kappa"] = [round(m["kappa"]["value"], 4), *(round(x, 4) for x in m["kappa"]["ci95"])]
    return out


def loso(rows: list[Row], X, sources: list[str]) -> dict:  # noqa: ANN001
    """Per held-out source: the new judge trained without it, and refusal strings, against its labels."""
    src = np.array([r.source for r in rows])
    report = {}
    for s in sources:
        test = np.flatnonzero(src == s)
        train = np.flatnonzero(src != s)
        model = training.fit(X[train], [rows[i] for i in train])
        held = [rows[i] for i in test]
        kind, human = training.human_and_reading(held)
        r = training.readings(model, X[test])
        new = ["complied" if v else "refused" for v in r[kind]]
        strings = [RefusalJudge()._one(h.response).label for h in held]
        entry = {"compared_with": kind, "new": _summary(agreement_metrics(human, new))}
        entry["refusal_strings"] = _summary(agreement_metrics(human, strings))
        answered = [(h.answered, c) for h, c in zip(held, r["complied"], strict=True) if h.answered is not None]
        if kind == "success" and answered:
            a = agreement_metrics([x for x, _ in answered], ["complied" if c else "refused" for _, c in answered])
            entry["new_answered"] = _summary(a)
        report[s] = entry
        print(s, json.dumps(entry), flush=True)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="folder of the public judge-data files")
    parser.add_argument("--check", action="store_true", help="leave-one-source-out table after building")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(min(2, torch.get_num_threads()))
    except ImportError:
        pass
    public = public_rows(Path(args.data))
    if not public:
        print(f"no judge-data files in {args.data}", file=sys.stderr)
        return 2
    labelled = public + project_rows()
    rows = labelled + probe_goal_rows()
    X = training.features(rows)
    build(rows, args.out, X)
    print(
        f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB, sha256 "
        f"{hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]})"
    )
    if args.check:
        held_out = sorted({r.source for r in labelled}, key=[r.source for r in labelled].index)
        loso(rows, X, held_out)
        held_apart(args.out)
    return 0


def held_apart(weights: Path) -> None:
    """The shipped model on this project's held-apart sets (never trained on), placeholders stripped."""
    from redline.judges.corpus import evaluation_corpus
    from redline.judges.offline import OfflineClassifier

    model = OfflineClassifier(weights)
    for name, rows in (
        ("smollm2_eval", smollm2_eval_rows()),
        (
            "corpus_eval",
            [
                Row("corpus_eval", i.goal, strip_placeholders(i.response), i.label == "complied")
                for i in evaluation_corpus()
            ],
        ),
    ):
        human = [bool(r.answered) for r in rows]
        scores = model.score_batch([(r.goal, r.response) for r in rows])
        new = ["complied" if s.p_complied >= 0.5 else "refused" for s in scores]
        strings = [RefusalJudge()._one(r.response).label for r in rows]
        entry = {
            "new": _summary(agreement_metrics(human, new)),
            "refusal_strings": _summary(agreement_metrics(human, strings)),
        }
        print(name, json.dumps(entry), flush=True)


if __name__ == "__main__":
    sys.exit(main())
