"""`redline gate RUN`: the deployment decision from stored results (exit 0 deploy, 3 mitigate, 4 stop)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from ..policy.gate import DEPLOY, MITIGATE, GateResult, gate_run
from ..policy.model import load_policy, parse_safeguards
from ..store.db import Store
from .app import DB_HELP, JUDGE_HELP, RUN_HELP, app, console, pct, write_json

STYLE = {"pass": "green", "crossed": "red", "insufficient": "yellow", "not_applicable": "dim"}


def print_gate(result: GateResult) -> None:
    table = Table(title=f"Gate: run {result.run_id}, policy {result.policy}", title_justify="left")
    for col in (
        "threshold",
        "domain",
        "level",
        "metric",
        "k/n",
        "estimate [95% CI]",
        "limit",
        "need n",
        "status",
    ):
        table.add_column(col)
    for r in result.thresholds:
        ci = "-" if r.estimate is None else f"{pct(r.estimate)} [{pct(r.low)}, {pct(r.high)}]"
        status = r.status + (" (advisory)" if r.advisory else "")
        table.add_row(
            r.id,
            r.domain,
            r.level,
            r.metric,
            f"{r.successes}/{r.n}" if r.unit != "disparities" else str(r.n),
            ci,
            pct(r.limit),
            str(r.needed or "-"),
            f"[{STYLE.get(r.status, '')}]{status}[/]",
        )
    console.print(table)
    colour = {DEPLOY: "green", MITIGATE: "yellow"}.get(result.decision, "red")
    console.print(f"decision: [bold {colour}]{result.decision.upper()}[/]  level: [bold]{result.level}[/]")
    for reason in result.reasons:
        console.print(f"  - {escape(reason)}")
    for r in result.thresholds:
        crossed = [g for g in r.groups if g["status"] == "crossed"]
        for g in crossed:
            console.print(
                f"  {r.id} crossed under {escape(g['group'])}: {g['successes']}/{g['n']} "
                f"[{pct(g['low'])}, {pct(g['high'])}]"
            )
    for w in result.warnings:
        console.print(f"  [yellow]warning[/]: {escape(w)}")


@app.command()
def gate(
    run: str = typer.Argument(..., help=RUN_HELP),
    policy: str = typer.Option(None, "--policy", help="Policy YAML (default: the packaged redline-default)"),
    safeguards: str = typer.Option(
        None, "--safeguards", help="Safeguards in place: a,b,c or a YAML/JSON file"
    ),
    mitigated_run: str = typer.Option(
        None, "--mitigated-run", help="Run measured under the safeguards, for thresholds marked remeasure"
    ),
    safeguards_from: str = typer.Option(
        None, "--safeguards-from", help="Run scanned through `redline guard`: credits runtime_classifier_guard "
        "only if the thresholds pass under it (and re-measures under it)"
    ),
    audit_run: list[str] = typer.Option(None, "--audit-run", help="Bias audit run(s) to read gaps from"),
    json_path: str = typer.Option(
        None, "--json", help="Write the decision and evidence as JSON ('-' = stdout)"
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the decision line"),
    judge: str = typer.Option(None, "--judge", help=JUDGE_HELP),
    db: str = typer.Option(None, help=DB_HELP),
) -> None:
    """Decide deploy / deploy with mitigations / do not deploy. Exit 0, 3 or 4 (2 on bad input)."""
    pol = load_policy(policy)
    declared = parse_safeguards(safeguards, pol)
    store = Store(db)
    try:
        result = gate_run(
            store,
            run,
            pol,
            safeguards=declared,
            mitigated_run=mitigated_run,
            audit_runs=list(audit_run) if audit_run else None,
            judge=judge,
            safeguards_from=safeguards_from,
        )
    finally:
        store.close()
    if json_path:
        write_json(json_path, result.to_dict())
    if quiet:
        console.print(f"{result.decision} ({result.level})")
    elif json_path != "-":
        print_gate(result)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
