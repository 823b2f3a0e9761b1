"""`redline list probes|attacks|suites|judges|targets`."""

from __future__ import annotations

from collections import Counter

import typer
from rich.table import Table

from .app import app, console, fail, write_json

KINDS = ("probes", "attacks", "suites", "judges", "targets")


def _probes() -> list[dict]:
    from ..probes.behavior import builtin_probe_sets

    out = []
    for name, ps in builtin_probe_sets().items():
        cats = Counter(b.category for b in ps.behaviors)
        out.append({"name": name, "behaviors": len(ps.behaviors), "categories": dict(cats),
                    "description": ps.description})
    return out


def _attacks() -> list[dict]:
    from ..attacks.base import registry

    return [
        {"name": name, "family": cls.family, "parameters": cls.defaults, "description": cls.description}
        for name, cls in registry.items()
    ]


def _suites() -> list[dict]:
    from ..probes.suites import builtin_suites

    out = []
    for name, suite in builtin_suites().items():
        behaviors = suite.behaviors()
        out.append({"name": name, "behaviors": len(behaviors), "attacks": len(suite.attacks),
                    "samples": suite.samples, "categories": dict(Counter(b.category for b in behaviors)),
                    "description": suite.description})
    return out


def _registry_names(module: str) -> list[dict]:
    import importlib

    reg = importlib.import_module(module).registry
    return [{"name": n} for n in reg.names()]


@app.command("list")
def list_(
    kind: str = typer.Argument(..., help="probes, attacks, suites, judges or targets"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Show what redline knows: probe sets, attacks, suites, judges, target kinds, with counts."""
    if kind not in KINDS:
        fail(f"unknown kind {kind!r} (one of: {', '.join(KINDS)})")
    items = {
        "probes": _probes,
        "attacks": _attacks,
        "suites": _suites,
        "judges": lambda: _registry_names("redline.judges.base"),
        "targets": lambda: _registry_names("redline.targets.base"),
    }[kind]()
    if as_json:
        write_json("-", items)
        return
    table = Table(title=kind, title_justify="left")
    columns = list(items[0]) if items else ["name"]
    for col in columns:
        table.add_column(col)
    for it in items:
        table.add_row(*(", ".join(f"{k}={v}" for k, v in it[c].items()) if isinstance(it[c], dict) else str(it[c])
                        for c in columns))
    console.print(table)
