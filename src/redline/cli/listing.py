"""`redline list probes|attacks|suites|judges|targets|consistency`, with counts."""

from __future__ import annotations

from collections import Counter

import typer
from rich.table import Table

from ..errors import RedlineError
from .app import app, console, fail, write_json

KINDS = ("probes", "attacks", "suites", "judges", "targets", "consistency")


def _probes() -> list[dict]:
    from ..probes.behavior import builtin_probe_sets

    out = []
    for name, ps in builtin_probe_sets().items():
        expected = Counter(b.expected for b in ps.behaviors)
        out.append({
            "name": name,
            "behaviors": len(ps.behaviors),
            "categories": dict(Counter(b.category for b in ps.behaviors)),
            "subcategories": len({(b.category, b.subcategory) for b in ps.behaviors}),
            "expected": dict(sorted(expected.items())),
            "description": ps.description,
        })
    return out


def _variant_count(cls: type) -> str:
    """Conversations the attack makes per behavior with its defaults ('adaptive' if it needs a loop)."""
    from ..probes.behavior import Behavior

    probe = Behavior(id="probe", goal="Describe the request.", category="harmful_content")
    try:
        return str(len(cls().variants(probe)))
    except RedlineError:
        return "adaptive"


def _attacks() -> list[dict]:
    from ..attacks.base import registry

    return [
        {"name": name, "family": cls.family, "variants": _variant_count(cls),
         "parameters": dict(cls.defaults), "description": cls.description}
        for name, cls in registry.items()
    ]


def _suites() -> list[dict]:
    from ..engine.agentic import AgenticConfig, plan_episodes
    from ..engine.scan import ScanConfig, make_plan
    from ..probes.suites import builtin_suites

    out = []
    for name, suite in builtin_suites().items():
        if suite.runner == "agentic":
            episodes = plan_episodes(AgenticConfig(suite=name))
            out.append({"name": name, "behaviors": 0, "attacks": 0, "attempts": len(episodes),
                        "samples": suite.samples, "max_new_tokens": suite.max_new_tokens,
                        "categories": {"agentic (episodes)": len(episodes)}, "description": suite.description})
            continue
        behaviors = suite.behaviors()
        out.append({"name": name, "behaviors": len(behaviors), "attacks": len(suite.attacks),
                    "attempts": make_plan(ScanConfig(suite=name)).planned, "samples": suite.samples,
                    "max_new_tokens": suite.max_new_tokens,
                    "categories": dict(Counter(b.category for b in behaviors)),
                    "description": suite.description})
    return out


def _consistency() -> list[dict]:
    from ..attacks.framing import framing_data

    data = framing_data()
    return [{"name": name, "cue": cue, "contrast": contrast, "cue framing": " ".join(data["framings"][cue].split())}
            for name, (cue, contrast) in data["sets"].items()]


def _registry_names(module: str) -> list[dict]:
    import importlib

    reg = importlib.import_module(module).registry
    return [{"name": n} for n in reg.names()]


def _footer(kind: str, items: list[dict]) -> str:
    if kind == "probes":
        total = Counter()
        for it in items:
            total.update(it["categories"])
        by_cat = ", ".join(f"{k}={v}" for k, v in sorted(total.items()))
        return f"{sum(it['behaviors'] for it in items)} behaviors in {len(items)} sets; by category: {by_cat}"
    if kind == "attacks":
        families = Counter(it["family"] for it in items)
        return (f"{len(items)} attacks in {len(families)} families; "
                "stack single-turn ones with '+' (fiction+base64)")
    return f"{len(items)} {kind}"


def _cell(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


@app.command("list")
def list_(
    kind: str = typer.Argument(..., help="probes, attacks, suites, judges, targets or consistency (sets)"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Show what redline knows: probe sets, attacks, suites, judges, target kinds, consistency sets."""
    if kind not in KINDS:
        fail(f"unknown kind {kind!r} (one of: {', '.join(KINDS)})")
    items = {
        "probes": _probes,
        "attacks": _attacks,
        "suites": _suites,
        "judges": lambda: _registry_names("redline.judges.base"),
        "targets": lambda: _registry_names("redline.targets.base"),
        "consistency": _consistency,
    }[kind]()
    if as_json:
        write_json("-", items)
        return
    table = Table(title=kind, title_justify="left", caption=_footer(kind, items), caption_justify="left")
    columns = list(items[0]) if items else ["name"]
    for col in columns:
        table.add_column(col, overflow="fold")
    for it in items:
        table.add_row(*(_cell(it[c]) for c in columns))
    console.print(table)
