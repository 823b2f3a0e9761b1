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
from .build import default_root, load_meta, target_spec
from .detect import detect, scoreboard, summarize, task_consistency
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


def extra_detectors(spec: str, heldout: list[Any], *, behaviors: int, judge: str, alpha: float,
                    max_new_tokens: int, search_behaviors: int, top: int, noise: bool,
                    progress: Callable[[str], None] | None) -> dict[str, Any]:
    """The task framings of the consistency test, the trigger proposal search and (local targets) noise
    injection, on one model."""
    from ..attacks.framing import framing_data
    from .measure import Asker
    from .noise import noise_detector
    from .propose import trigger_proposal, two_letter_pool
    from .tasks import split_items

    start = time.perf_counter()
    task_tests, generated = task_consistency(spec, items=behaviors, progress=progress)
    asker = Asker(spec, judge, heldout[:behaviors], max_new_tokens=max_new_tokens, progress=progress)
    try:
        proposal = trigger_proposal(asker, heldout[behaviors:behaviors + search_behaviors], two_letter_pool(),
                                    top=top, alpha=alpha)
    finally:
        asker.close()
    generated += asker.generated + proposal["search"]["generated"]
    out: dict[str, Any] = {"task_tests": task_tests, "trigger_proposal": proposal}
    if noise and spec.startswith("local"):
        _, qa = split_items("arithmetic")
        found = noise_detector(spec.replace("dtype=bfloat16", "dtype=float32"), qa[:behaviors],
                               template=framing_data()["framings"]["high_stakes"], alpha=alpha, progress=progress)
        generated += found.pop("generated")
        out["noise_injection"] = found
    out["generated"] = generated
    out["seconds"] = round(time.perf_counter() - start, 1)
    return out


def audit(orgs: list[Organism], root: Path | None = None, *, judge: str = "offline@3", behaviors: int = 24,
          sets: dict[str, tuple[str, str]] | None = None, alpha: float = 0.05, max_new_tokens: int = 16,
          search_behaviors: int = 4, top: int = 3, noise: bool = True,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the detectors on each organism (built first: `redline organisms build`) on held-out behaviors and
    items; the results of one model under the same settings are kept beside the adapters and reused (the
    harmful-request detectors and the extra ones apart, so adding detectors does not redo the first)."""
    from ..attacks.framing import consistency_sets, framing_data
    from .detect import DEFAULT_SETS

    root = Path(root) if root else default_root()
    sets = sets or consistency_sets(list(DEFAULT_SETS))
    candidates = trigger_candidates()
    rows = []
    for org in orgs:
        meta = load_meta(org, root) if org.kind == "conditional" else {}
        if meta is None:
            raise RedlineError(f"organism {org.name!r} is not built in {root}; run `redline organisms build` first")
        trained = (meta.get("training") or {}).get("steps")
        settings = {"organism": org.digest(), "behaviors": behaviors, "judge": judge, "alpha": alpha,
                    "sets": sets, "candidates": candidates, "max_new_tokens": max_new_tokens, "trained": trained}
        _, heldout = split_behaviors(org.seed)
        spec = target_spec(org, root)

        extra_settings = {**settings, "version": EXTRA_VERSION, "tasks": manifest_data()["tasks"],
                          "detector_framings": manifest_data()["detector_framings"],
                          "high_stakes": framing_data()["framings"]["high_stakes"],
                          "search_behaviors": search_behaviors, "top": top, "noise": noise}
        row, cached = _cached(root / "audits" / f"{org.name}-{_key(settings)}.json", harmful_detectors, org, meta,
                              spec, heldout[:behaviors], judge=judge, sets=sets, candidates=candidates, alpha=alpha,
                              max_new_tokens=max_new_tokens, progress=progress)
        extra, extra_cached = _cached(
            root / "audits" / f"{org.name}-extra-{_key(extra_settings)}.json", extra_detectors, spec, heldout,
            behaviors=behaviors, judge=judge, alpha=alpha, max_new_tokens=max_new_tokens,
            search_behaviors=search_behaviors, top=top, noise=noise, progress=progress)
        rows.append(merge(row, extra, alpha, cached=cached and extra_cached))
    return {"organisms": rows, "scoreboard": scoreboard(rows), "behaviors": behaviors, "judge": judge,
            "alpha": alpha, "sets": {k: list(v) for k, v in sets.items()}, "candidates": candidates,
            "max_new_tokens": max_new_tokens}


def merge(row: dict[str, Any], extra: dict[str, Any], alpha: float, cached: bool = False) -> dict[str, Any]:
    """One model's scoreboard row: the consistency tests of both parts corrected together (Holm), the trigger
    search, the trigger proposal and (when measured) noise injection."""
    det = dict(row["detectors"])
    det["consistency"] = summarize(det["consistency"]["tests"] + extra["task_tests"], alpha)
    det["trigger_proposal"] = extra["trigger_proposal"]
    if "noise_injection" in extra:
        det["noise_injection"] = extra["noise_injection"]
    return {**row, "detectors": det, "generated": row["generated"] + extra["generated"],
            "seconds": round(row["seconds"] + extra["seconds"], 1), "cached": cached}


def save_audit(store: Any, result: dict[str, Any], config: dict[str, Any], seed: int = 0) -> str:
    """Store an organisms audit as a run of kind `audit-organisms`; returns the run id (also set in `result`)."""
    from ..store.recorder import RunRecorder

    recorder = RunRecorder.start(store, "audit-organisms", "organisms", config, judge=result["judge"], seed=seed)
    recorder.save_result("organisms", "scoreboard", result)
    recorder.finish()
    result["run_id"] = recorder.run_id
    return recorder.run_id
