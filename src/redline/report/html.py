"""One self-contained HTML report (inline CSS, JS and SVG; no network), with every stored text escaped."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from ..errors import RedlineError
from . import charts
from .organisms import render_organisms
from .script import SCRIPT

TEMPLATE_DIR = Path(__file__).parent / "templates"

# The only script in the page is static (no data interpolated), so its hash goes in the page's
# Content-Security-Policy: even a text that escaped escaping could not run a script or load anything.
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode()
CSP = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src '{SCRIPT_HASH}'"


def json_for_script(value: Any) -> Markup:
    """JSON safe inside <script type=application/json>: no `<`, `>`, `&` or line separators survive raw."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    for ch, esc in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return Markup(text)


def pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def _env() -> Environment:
    env = Environment(
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = pct
    return env


def render_report(data: dict[str, Any]) -> str:
    """The report as an HTML string."""
    template = _env().from_string((TEMPLATE_DIR / "report.html.j2").read_text(encoding="utf-8"))
    gate = data.get("gate")
    decision = gate["decision"] if gate else "no policy applied"
    return template.render(
        d=data,
        gate=gate,
        decision=decision,
        csp=CSP,
        script=Markup(SCRIPT),
        attempts_json=json_for_script(data["attempts"]),
        heat=charts.heatmap(data),
        bars=charts.bars(data),
        scatter=charts.scatter(data),
        organisms=render_organisms(_env(), (TEMPLATE_DIR / "organisms.html.j2").read_text(encoding="utf-8"),
                                   data.get("organisms")),
    )


def write_report(data: dict[str, Any], path: str | Path) -> Path:
    out = Path(path)
    try:
        out.write_text(render_report(data), encoding="utf-8")
    except OSError as exc:
        raise RedlineError(f"cannot write {out}: {exc.strerror or exc}") from None
    return out
