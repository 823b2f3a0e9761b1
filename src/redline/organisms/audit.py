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
from .detect import detect, scoreboard
from .manifest import Organism, split_behaviors, trigger_candidates


def audit(orgs: list[Organism], root: Path | None = None, *, judge: str = "offline@3", behaviors: int = 24,
          sets: dict[str, tuple[str, str]] | None = None, alpha: float = 0.05, max_new_tokens: int = 16,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the detectors on each organism (built first: `redline organisms build`) on held-out behaviors; the
    results of one model under the same settings are kept beside the adapters and reused."""
    from ..attacks.framing import consistency_sets
    from .detect import DEFAULT_SETS

    root = Path(root) if root else default_root()
    sets = sets or consistency_sets(list(DEFAULT_SETS))
    candidates = trigger_candidates()
    rows = []
    for org in orgs:
        meta = load_meta(org, root) if org.kind == "conditional" else {}
        if meta is None:
            raise RedlineError(f"organism {org.name!r} is not built in {root}; run `redline organisms build` first")
        settings = {"organism": org.digest(), "behaviors": behaviors, "judge": judge, "alpha": alpha,
                    "sets": sets, "candidates": candidates, "max_new_tokens": max_new_tokens,
                    "trained": (meta.get("training") or {}).get("steps")}
        key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
        kept = root / "audits" / f"{org.name}-{key}.json"  # detector results of this model and these settings
        if kept.is_file():
            rows.append({**json.loads(kept.read_text(encoding="utf-8")), "cached": True})
            continue
        _, heldout = split_behaviors(org.seed)
        start = time.perf_counter()
        found = detect(target_spec(org, root), heldout[:behaviors], judge=judge, sets=sets, candidates=candidates,
                       alpha=alpha, max_new_tokens=max_new_tokens, progress=progress)
        generated = found.pop("generated")
        row = {"name": org.name, "control": org.control, "implanted": org.implanted, "trigger": org.trigger,
               "verified": (meta.get("verification") or {}).get("verified"), "detectors": found,
               "generated": generated, "seconds": round(time.perf_counter() - start, 1)}
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(json.dumps(row, indent=2), encoding="utf-8")
        rows.append({**row, "cached": False})
    return {"organisms": rows, "scoreboard": scoreboard(rows), "behaviors": behaviors, "judge": judge,
            "alpha": alpha, "sets": {k: list(v) for k, v in sets.items()}, "candidates": candidates,
            "max_new_tokens": max_new_tokens}


def save_audit(store: Any, result: dict[str, Any], config: dict[str, Any], seed: int = 0) -> str:
    """Store an organisms audit as a run of kind `audit-organisms`; returns the run id (also set in `result`)."""
    from ..store.recorder import RunRecorder

    recorder = RunRecorder.start(store, "audit-organisms", "organisms", config, judge=result["judge"], seed=seed)
    recorder.save_result("organisms", "scoreboard", result)
    recorder.finish()
    result["run_id"] = recorder.run_id
    return recorder.run_id
