"""`redline report RUN`: one self-contained HTML report with the decision, charts and transcripts."""

from __future__ import annotations

import typer

from ..policy.model import load_policy, parse_safeguards
from ..report.data import build_data
from ..report.html import write_report
from ..store.db import Store
from .app import DB_HELP, JUDGE_HELP, RUN_HELP, app, console


@app.command()
def report(
    run: str = typer.Argument(..., help=RUN_HELP),
    output: str = typer.Option("report.html", "--output", "-o", help="HTML file to write"),
    policy: str = typer.Option(
        None, "--policy", help="Policy YAML for the decision (default: redline-default)"
    ),
    safeguards: str = typer.Option(
        None, "--safeguards", help="Safeguards in place: a,b,c or a YAML/JSON file"
    ),
    mitigated_run: str = typer.Option(None, "--mitigated-run", help="Run measured under the safeguards"),
    compare: list[str] = typer.Option(None, "--compare", help="Other run(s) for the trade-off chart"),
    no_gate: bool = typer.Option(False, "--no-gate", help="Do not apply a policy"),
    judge: str = typer.Option(None, "--judge", help=JUDGE_HELP),
    db: str = typer.Option(None, help=DB_HELP),
) -> None:
    """Write the HTML report (opens offline; all model output escaped)."""
    pol = None if no_gate else load_policy(policy)
    declared = parse_safeguards(safeguards, pol) if pol else []
    store = Store(db)
    try:
        data = build_data(
            store,
            run,
            pol,
            safeguards=declared,
            mitigated_run=mitigated_run,
            compare=list(compare) if compare else None,
            judge=judge,
        )
    finally:
        store.close()
    path = write_report(data, output)
    decision = data["gate"]["decision"] if data["gate"] else "no policy"
    console.print(f"wrote {path} ({len(data['attempts'])} attempts; decision: {decision})")
