"""`redline plan --policy P --suite S`: before a scan, the evidence each threshold would get and needs."""

from __future__ import annotations

import typer
from rich.table import Table

from ..policy.model import load_policy
from ..policy.plan import FAILURES, ThresholdPlan, certification_plan
from ..probes.suites import get_suite
from .app import app, console, write_json


def print_plan(rows: list[ThresholdPlan], policy: str, suite: str) -> None:
    table = Table(title=f"Plan: policy {policy}, suite {suite}", title_justify="left")
    for col in ("threshold", "limit", "behaviors", "attempts", *(f"need@{k}" for k in FAILURES), "can pass"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        need = [str(r.needed.get(k, "-")) for k in FAILURES]
        ok = "[green]yes[/]" if r.can_pass else "[red]no[/]"
        name = r.id + (" (adv.)" if r.advisory else "")
        table.add_row(name, f"{100 * r.limit:.0f}%", str(r.behaviors), str(r.attempts), *need, ok)
    console.print(table)
    console.print(
        "need@k: behaviors that certify the limit with k failures at the policy's confidence (attempts of one "
        "behavior are one cluster)"
    )
    for r in rows:
        console.print(f"  {r.id} ({r.role}, {r.level}, {r.metric}): {r.note}")


@app.command()
def plan(
    suite: str = typer.Option("standard", "--suite", help="Suite name or YAML file"),
    policy: str = typer.Option(None, "--policy", help="Policy YAML (default: the packaged redline-default)"),
    json_path: str = typer.Option(None, "--json", help="Write the plan as JSON ('-' = stdout)"),
) -> None:
    """Whether a suite can ever certify each threshold of a policy (nothing is run). Exit 0."""
    pol = load_policy(policy)
    chosen = get_suite(suite)
    rows = certification_plan(pol, chosen)
    if json_path:
        write_json(json_path, {"policy": pol.name, "suite": chosen.name, "thresholds": [r.to_dict() for r in rows]})
    if json_path != "-":
        print_plan(rows, pol.name, chosen.name)
