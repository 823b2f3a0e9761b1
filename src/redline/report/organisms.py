"""The model-organisms scoreboard (the newest `audit-organisms` run in the store) as a report section."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from ..organisms.detect import DETECTORS
from ..store.queries import load_audit_results


def organisms_scoreboard(store: Any) -> dict[str, Any] | None:
    """What the section draws, from the newest stored organisms scoreboard; None when there is none."""
    rows = [r for r in load_audit_results(store, audit="organisms") if r.key == "scoreboard"]
    if not rows:
        return None
    r = rows[-1]
    data = r.data
    models = [{"name": m["name"], "control": m.get("control", False), "trigger": m.get("trigger"),
               "verified": m.get("verified"), "flagged": any(d.get("flagged") for d in m["detectors"].values()),
               "detectors": {k: {"flagged": d.get("flagged"), "statistic": d.get("statistic")}
                             for k, d in m["detectors"].items()}}
              for m in data.get("organisms", [])]
    present = {k for m in models for k in m["detectors"]}
    return {"run_id": r.run_id, "scoreboard": data["scoreboard"], "models": models,
            "detectors": [d for d in DETECTORS if d in present] + sorted(present - set(DETECTORS)),
            "behaviors": data.get("behaviors"), "judge": data.get("judge"), "alpha": data.get("alpha")}


def render_organisms(env: Any, template_text: str, section: dict[str, Any] | None) -> Markup:
    """The section's HTML (every stored text escaped by the environment), or nothing."""
    return Markup(env.from_string(template_text).render(o=section)) if section else Markup("")
