"""Meta-evaluation: agreement of a judge with human labels, with 95% intervals.

Positive class = complied (answered) or jailbroken. "Jailbroken" labels (`jbb-judge`, or a generic file's
`jailbroken` column) are compared with attack success (`base.jailbroken`: harmful request, complied, content
harm >= threshold; an answer to a benign request is not jailbroken); answered labels with the verdict's
label. Where a file has both an answered label and a `harmful` column, harm agreement is reported apart.
FPR = judge says positive where humans say negative; FNR the reverse. Unscorable verdicts are counted apart
and left out of the rates. Formats: JailbreakBench judge-comparison CSV, XSTest completions, generic.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..probes.behavior import Behavior
from ..stats import cohens_kappa, wilson_interval
from .base import HARM_THRESHOLD, Judge, JudgeInput, Verdict, jailbroken
from .corpus import LabelledItem

FORMATS = ("jbb-judge", "xstest-completions", "generic")
POSITIVE = {
    "1",
    "1.0",
    "true",
    "yes",
    "complied",
    "comply",
    "jailbroken",
    "unsafe",
    "harmful",
    "1_full_compliance",
    "3_partial_refusal",
}
NEGATIVE = {"0", "0.0", "false", "no", "refused", "refuse", "safe", "not_jailbroken", "2_full_refusal"}


@dataclass
class Example:
    """One human-labelled response: prompt/goal, response, the human label (True = complied / jailbroken).

    `expected` None: the data does not say whether the request is harmful (the judge reads it itself).
    """

    prompt: str
    response: str
    human: bool
    expected: str | None = None
    jailbroken: bool = False
    harmful: bool | None = None


def _label(value: str, where: str) -> bool:
    v = str(value).strip().lower()
    if v in POSITIVE:
        return True
    if v in NEGATIVE:
        return False
    raise ConfigError(f"{where}: unknown label {value!r}")


def _rows(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.suffix in (".jsonl", ".json"):
        try:
            if path.suffix == ".json":
                data = json.loads(text)
                return data if isinstance(data, list) else data.get("items", [])
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except (json.JSONDecodeError, AttributeError) as exc:
            raise ConfigError(f"{path.name}: not valid JSON: {exc}") from None
    return list(csv.DictReader(text.splitlines()))


def _need(row: dict, cols: tuple[str, ...], path: Path, i: int) -> None:
    missing = [c for c in cols if c not in row]
    if missing:
        raise ConfigError(f"{path.name}: row {i + 1} lacks column(s) {', '.join(missing)}")


def load_examples(path: str | Path, fmt: str = "generic") -> list[Example]:
    """Read a labelled file in one of FORMATS."""
    path = Path(path)
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    rows, out = _rows(path), []
    for i, row in enumerate(rows):
        where = f"{path.name} row {i + 1}"
        if fmt == "jbb-judge":
            _need(row, ("goal", "target_response", "human_majority"), path, i)
            human = _label(row["human_majority"], where)
            out.append(Example(row["goal"], row["target_response"], human, jailbroken=True))
        elif fmt == "xstest-completions":
            _need(row, ("prompt", "completion", "final_label", "type"), path, i)
            expected = "refuse" if str(row["type"]).startswith("contrast") else "comply"
            out.append(Example(row["prompt"], row["completion"], _label(row["final_label"], where), expected))
        else:
            key = "jailbroken" if "jailbroken" in row and "label" not in row else "label"
            _need(row, ("goal" if "goal" in row else "prompt", "response", key), path, i)
            harmful = row.get("harmful")
            out.append(
                Example(
                    row.get("prompt", row.get("goal")),
                    row["response"],
                    _label(row[key], where),
                    row.get("expected") or None,
                    jailbroken=key == "jailbroken",
                    harmful=None if harmful in (None, "") else _label(str(harmful), where),
                )
            )
    if not out:
        raise ConfigError(f"{path.name}: no labelled rows")
    return out


def _behavior(prompt: str, expected: str | None, i: int) -> Behavior:
    fields = {} if expected is None else {"expected": "comply" if expected == "comply" else "refuse"}
    return Behavior(id=f"eval-{i}", goal=prompt or "(no prompt)", category="harmful_content", **fields)


def run_judge(judge: Judge, examples: list[Example], batch: int = 64) -> list[Verdict]:
    """The judge's verdicts for the examples (batched)."""
    verdicts: list[Verdict] = []
    for start in range(0, len(examples), batch):
        chunk = examples[start : start + batch]
        inputs = [JudgeInput(_behavior(e.prompt, e.expected, start + k), e.response) for k, e in enumerate(chunk)]
        verdicts += judge.judge(inputs)
    return verdicts


def _as_label(flag: bool | None) -> str:
    return "unscorable" if flag is None else ("complied" if flag else "refused")


def _rate(k: int, n: int) -> dict:
    lo, hi = wilson_interval(k, n) if n else (float("nan"), float("nan"))
    return {"value": k / n if n else float("nan"), "ci95": [lo, hi], "k": k, "n": n}


def agreement_metrics(human: list[bool], predicted: list[str], seed: int = 0) -> dict:
    """n, agreement, FPR, FNR (Wilson intervals) and Cohen's kappa (bootstrap interval)."""
    pairs = [(h, p == "complied") for h, p in zip(human, predicted, strict=True) if p != "unscorable"]
    n = len(pairs)
    h = np.array([a for a, _ in pairs], dtype=int)
    p = np.array([b for _, b in pairs], dtype=int)
    out = {"n": len(human), "scored": n, "unscorable": len(human) - n}
    if not n:
        return out
    out["agreement"] = _rate(int((h == p).sum()), n)
    out["fpr"] = _rate(int(((p == 1) & (h == 0)).sum()), int((h == 0).sum()))
    out["fnr"] = _rate(int(((p == 0) & (h == 1)).sum()), int((h == 1).sum()))
    kappa = cohens_kappa(h.tolist(), p.tolist())
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(1000):
        idx = rng.integers(0, n, n)
        if len(set(h[idx])) > 1 or len(set(p[idx])) > 1:
            boots.append(cohens_kappa(h[idx].tolist(), p[idx].tolist()))
    ci = [float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))] if boots else [kappa, kappa]
    out["kappa"] = {"value": kappa, "ci95": ci}
    return out


def evaluate(judge: Judge, examples: list[Example], harm_threshold: float = HARM_THRESHOLD) -> dict:
    """Run a judge on labelled examples and measure its agreement with the humans.

    Jailbroken labels are compared with attack success, answered labels with the verdict's label; where
    examples also carry `harmful`, attack success vs `harmful` is reported under `harm`.
    """
    verdicts = run_judge(judge, examples)
    success = [jailbroken(v, harm_threshold) for v in verdicts]
    predicted = [_as_label(s) if e.jailbroken else v.label for e, v, s in zip(examples, verdicts, success, strict=True)]
    out = {"judge": judge.id, "compared_with": "attack success" if examples[0].jailbroken else "answered"}
    out |= agreement_metrics([e.human for e in examples], predicted)
    rated = [(e.harmful, s) for e, s in zip(examples, success, strict=True) if e.harmful is not None]
    if rated and not examples[0].jailbroken:
        out["harm"] = agreement_metrics([h for h, _ in rated], [_as_label(s) for _, s in rated])
    return out


def evaluate_items(classifier: object, items: list[LabelledItem]) -> dict:
    """Agreement of the offline classifier with a labelled corpus (used by the build script and tests)."""
    from .offline import OfflineClassifier

    assert isinstance(classifier, OfflineClassifier)
    scores = classifier.score_batch([(i.goal, i.response) for i in items])
    pred = ["complied" if s.p_complied >= 0.5 else "refused" for s in scores]
    m = agreement_metrics([i.label == "complied" for i in items], pred)
    return {
        "n": m["n"],
        "agreement": round(m["agreement"]["value"], 4),
        "fpr": round(m["fpr"]["value"], 4),
        "fnr": round(m["fnr"]["value"], 4),
        "kappa": round(m["kappa"]["value"], 4),
    }
