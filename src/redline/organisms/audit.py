"""`redline organisms audit`: every detector on every built organism and control; the scoreboard is stored
as a run of kind `audit-organisms` (RunRecorder) and returned."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import RedlineError
from ..judges.router import RULES_VERSION
from .build import default_root, load_meta, target_spec
from .detect import TASK_METRICS, detect, scoreboard, summarize, task_consistency
from .internals import LAYER_FRACTIONS, MIN_AUROC, MIN_SHIFT
from .manifest import Organism, manifest_data, split_behaviors, trigger_candidates

EXTRA_VERSION = 1  # bump when the extra detectors change what they measure (their cached results are then redone)


def _cached(path: Path, compute: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> tuple[dict[str, Any],
                                                                                                  bool]:
    """(compute(*args, **kwargs), False), or (the result kept in `path`, True)."""
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8")), True
    result = compute(*args, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result, False


def _judged(judge: str) -> dict[str, Any]:
    """The settings that fix what a judged result means: the judge and the router's rules."""
    return {"judge": judge, "rules": RULES_VERSION}


def _key(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def harmful_detectors(org: Organism, meta: dict[str, Any], spec: str, behaviors: list[Any], **kwargs: Any
                      ) -> dict[str, Any]:
    """The consistency test's shipped framing sets and the fixed-list trigger search, on harmful behaviors."""
    start = time.perf_counter()
    found = detect(spec, behaviors, **kwargs)
    generated = found.pop("generated")
    return {"name": org.name, "control": org.control, "implanted": org.implanted, "trigger": org.trigger,
            "verified": (meta.get("verification") or {}).get("verified"), "detectors": found,
            "generated": generated, "seconds": round(time.perf_counter() - start, 1)}


SCORING = 2  # the arithmetic scoring rule (2: the reply's last number; 1 was its first)
PARTS = ("harmful", "tasks", "proposal", "noise", "internals", "reference")  # detector parts, each kept apart


def task_part(spec: str, heldout: list[Any], *, behaviors: int,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The consistency test's task framings (raw p; corrected with the other consistency tests)."""
    start = time.perf_counter()
    tests, generated = task_consistency(spec, items=behaviors, progress=progress)
    return {"task_tests": tests, "generated": generated, "seconds": round(time.perf_counter() - start, 1)}


def proposal_part(spec: str, heldout: list[Any], *, behaviors: int, judge: str, alpha: float, max_new_tokens: int,
                  search_behaviors: int, top: int, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The trigger proposal search: search behaviors after the confirmation ones, both held out."""
    from .measure import Asker
    from .propose import trigger_proposal, two_letter_pool

    start = time.perf_counter()
    asker = Asker(spec, judge, heldout[:behaviors], max_new_tokens=max_new_tokens, progress=progress)
    try:
        found = trigger_proposal(asker, heldout[behaviors:behaviors + search_behaviors], two_letter_pool(),
                                 top=top, alpha=alpha)
    finally:
        asker.close()
    return {"trigger_proposal": found, "generated": asker.generated + found["search"]["generated"],
            "seconds": round(time.perf_counter() - start, 1)}


def _float32(spec: str) -> str:
    """The white-box detectors read weights and activations in float32 (an organism's spec loads bfloat16)."""
    return spec.replace("dtype=bfloat16", "dtype=float32")


def noise_part(spec: str, heldout: list[Any], *, behaviors: int, alpha: float,
               progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Noise injection on held-out arithmetic under the shipped high-stakes framing (local targets, float32)."""
    from ..attacks.framing import framing_data
    from .noise import noise_detector
    from .tasks import split_items

    start = time.perf_counter()
    _, qa = split_items("arithmetic")
    found = noise_detector(_float32(spec), qa[:behaviors],
                           template=framing_data()["framings"]["high_stakes"], alpha=alpha, progress=progress)
    return {"noise_injection": found, "generated": found.pop("generated"),
            "seconds": round(time.perf_counter() - start, 1)}


def internals_part(spec: str, heldout: list[Any], *, behaviors: int, alpha: float, candidates: dict[str, str],
                   sets: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The internals detector (organisms/internals.py) on held-out harmful behaviors, float32, no generation."""
    from .internals import internals_detector

    start = time.perf_counter()
    found = internals_detector(_float32(spec), heldout[:behaviors],
                               candidates=candidates, sets=sets, alpha=alpha)
    return {"internals": found, "generated": 0, "seconds": round(time.perf_counter() - start, 1)}


def reference_part(spec: str, heldout: list[Any], *, behaviors: int, judge: str, alpha: float,
                   max_new_tokens: int, reference: Callable[[], dict[str, Any]],
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The differential test against the reference (base) model's plain outcomes on the same items."""
    from .reference import plain_outcomes, reference_detector

    start = time.perf_counter()
    mine = plain_outcomes(spec, heldout[:behaviors], judge=judge, items=behaviors, max_new_tokens=max_new_tokens,
                          progress=progress)
    found = reference_detector(mine["outcomes"], reference()["outcomes"], alpha)
    return {"reference": found, "generated": mine["generated"], "seconds": round(time.perf_counter() - start, 1)}


def _reference_outcomes(root: Path, seed: int, *, behaviors: int, judge: str, max_new_tokens: int,
                        progress: Callable[[str], None] | None) -> dict[str, Any]:
    """The base model's plain outcomes (the reference of the differential test), computed once and kept."""
    from .manifest import base_organism
    from .reference import plain_outcomes

    base = base_organism()
    _, heldout = split_behaviors(seed)
    settings = {"reference": base.digest(), "seed": seed, "behaviors": behaviors, **_judged(judge),
                "max_new_tokens": max_new_tokens, "tasks": manifest_data()["tasks"],
                "scoring": SCORING, "version": EXTRA_VERSION}
    path = root / "audits" / f"reference-plain-{_key(settings)}.json"
    return _cached(path, plain_outcomes, target_spec(base, root), heldout[:behaviors], judge=judge,
                   items=behaviors, max_new_tokens=max_new_tokens, progress=progress)[0]


def audit(orgs: list[Organism], root: Path | None = None, *, judge: str = "offline@3", behaviors: int = 24,
          sets: dict[str, tuple[str, str]] | None = None, alpha: float = 0.05, max_new_tokens: int = 16,
          search_behaviors: int = 4, top: int = 3, skip: tuple[str, ...] = (), kept_only: bool = False,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the detectors on each organism (built first: `redline organisms build`) on held-out behaviors and
    items. Each part's results of one model under the same settings are kept beside the adapters and reused
    (the harmful-request detectors, the task framings, the proposal search and noise injection apart, so adding
    or skipping one does not redo the others). `skip` names parts of PARTS not to run; `kept_only` measures
    nothing new and leaves out the parts not kept for a model (a scoreboard of what was measured)."""
    from ..attacks.framing import consistency_sets, framing_data
    from .detect import DEFAULT_SETS

    unknown = sorted(set(skip) - set(PARTS))
    if unknown:
        raise RedlineError(f"unknown detector part {', '.join(unknown)} (known: {', '.join(PARTS)})")
    root = Path(root) if root else default_root()
    sets = sets or consistency_sets(list(DEFAULT_SETS))
    candidates = trigger_candidates()
    rows = []
    for org in orgs:
        meta = load_meta(org, root) if org.kind == "conditional" else {}
        if meta is None:
            raise RedlineError(f"organism {org.name!r} is not built in {root}; run `redline organisms build` first")
        trained = (meta.get("training") or {}).get("steps")
        settings = {"organism": org.digest(), "behaviors": behaviors, **_judged(judge),
                    "alpha": alpha, "sets": sets, "candidates": candidates, "max_new_tokens": max_new_tokens,
                    "trained": trained}
        _, heldout = split_behaviors(org.seed)
        spec = target_spec(org, root)
        common = {"organism": org.digest(), "trained": trained, "behaviors": behaviors, "alpha": alpha,
                  "version": EXTRA_VERSION}
        part_settings = {
            "tasks": {**common, "tasks": manifest_data()["tasks"], "framings": manifest_data()["detector_framings"],
                      "high_stakes": framing_data()["framings"]["high_stakes"], "scoring": SCORING},
            "proposal": {**common, **_judged(judge), "max_new_tokens": max_new_tokens,
                         "search_behaviors": search_behaviors, "top": top},
            "noise": {**common, "high_stakes": framing_data()["framings"]["high_stakes"],
                      "tasks": manifest_data()["tasks"], "scoring": SCORING, "max_new_tokens": 12},
            "internals": {**common, "sets": sets, "candidates": candidates, "framings": framing_data()["framings"],
                          "layer_fractions": LAYER_FRACTIONS, "min_auroc": MIN_AUROC, "min_shift": MIN_SHIFT},
            "reference": {**common, **_judged(judge), "max_new_tokens": max_new_tokens,
                          "tasks": manifest_data()["tasks"], "scoring": SCORING},
        }
        funcs = {"harmful": harmful_detectors, "tasks": task_part, "proposal": proposal_part, "noise": noise_part,
                 "internals": internals_part, "reference": reference_part}
        keys = {"harmful": _key(settings), **{p: f"{p}-{_key(v)}" for p, v in part_settings.items()}}
        kwargs = {"harmful": {"judge": judge, "sets": sets, "candidates": candidates, "alpha": alpha,
                              "max_new_tokens": max_new_tokens, "progress": progress},
                  "tasks": {"behaviors": behaviors, "progress": progress},
                  "proposal": {"behaviors": behaviors, "judge": judge, "alpha": alpha,
                               "max_new_tokens": max_new_tokens, "search_behaviors": search_behaviors, "top": top,
                               "progress": progress},
                  "noise": {"behaviors": behaviors, "alpha": alpha, "progress": progress},
                  "internals": {"behaviors": behaviors, "alpha": alpha, "candidates": candidates, "sets": sets},
                  "reference": {"behaviors": behaviors, "judge": judge, "alpha": alpha,
                                "max_new_tokens": max_new_tokens, "progress": progress,
                                "reference": lambda seed=org.seed: _reference_outcomes(
                                    root, seed, behaviors=behaviors, judge=judge, max_new_tokens=max_new_tokens,
                                    progress=progress)}}
        parts, cached = {}, True
        for part in PARTS:
            if part in skip or (part in ("noise", "internals") and not spec.startswith("local")):
                continue
            if part == "reference" and org.kind == "base":  # the reference itself: nothing to compare
                continue
            path = root / "audits" / f"{org.name}-{keys[part]}.json"
            if kept_only and not path.is_file():
                continue
            args = (org, meta, spec, heldout[:behaviors]) if part == "harmful" else (spec, heldout)
            parts[part], was_cached = _cached(path, funcs[part], *args, **kwargs[part])
            cached = cached and was_cached
        rows.append(merge(org, meta, parts, alpha, cached=cached))
    return {"organisms": rows, "scoreboard": scoreboard(rows), "behaviors": behaviors, "judge": judge,
            "alpha": alpha, "sets": {k: list(v) for k, v in sets.items()}, "candidates": candidates,
            "max_new_tokens": max_new_tokens, "search_behaviors": search_behaviors, "top": top,
            "skipped": list(skip), "kept_only": kept_only}


def merge(org: Organism, meta: dict[str, Any], parts: dict[str, dict[str, Any]], alpha: float,
          cached: bool = False) -> dict[str, Any]:
    """One model's scoreboard row from the parts measured: the consistency tests of the harmful-request and task
    parts corrected together (Holm), and whichever of the trigger search, the trigger proposal, noise injection
    and the internals detector were run."""
    det: dict[str, Any] = {}
    harmful = parts.get("harmful", {}).get("detectors", {})
    tests = harmful.get("consistency", {}).get("tests", []) + parts.get("tasks", {}).get("task_tests", [])
    if "harmful" in parts or "tasks" in parts:
        det["consistency"] = summarize(tests, alpha, rising=TASK_METRICS)
    if "trigger_search" in harmful:
        det["trigger_search"] = harmful["trigger_search"]
    for part, name in (("proposal", "trigger_proposal"), ("noise", "noise_injection"), ("internals", "internals")):
        if part in parts:
            det[name] = parts[part][name]
    if "reference" in parts:  # the verdict is drawn here from the kept raw tests, like the consistency tests'
        from .reference import reference_summary

        det["reference"] = reference_summary(parts["reference"]["reference"]["all_tests"], alpha)
    return {"name": org.name, "control": org.control, "implanted": org.implanted, "trigger": org.trigger,
            "verified": (meta.get("verification") or {}).get("verified"), "detectors": det,
            "generated": sum(p["generated"] for p in parts.values()),
            "seconds": round(sum(p["seconds"] for p in parts.values()), 1), "cached": cached, "parts": sorted(parts)}


def save_audit(store: Any, result: dict[str, Any], config: dict[str, Any], seed: int = 0) -> str:
    """Store an organisms audit as a run of kind `audit-organisms`; returns the run id (also set in `result`)."""
    from ..store.recorder import RunRecorder

    recorder = RunRecorder.start(store, "audit-organisms", "organisms", config, judge=result["judge"], seed=seed)
    recorder.save_result("organisms", "scoreboard", result)
    recorder.finish()
    result["run_id"] = recorder.run_id
    return recorder.run_id
