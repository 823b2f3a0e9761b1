"""`redline campaign FILE`: one suite over several targets, each its own run, and the comparison."""

from __future__ import annotations

import typer
from rich.table import Table

from ..engine.campaign import TargetResult, load_campaign, result_dict, run_campaign
from .app import DB_HELP, app, console, err_console, write_json


def _rate(r) -> str:  # noqa: ANN001 - a metrics.Rate
    if r.rate is None:
        return "-"
    return f"{100 * r.rate:.1f}% [{100 * r.low:.1f}%, {100 * r.high:.1f}%] ({r.k}/{r.n})"


def comparison_table(results: list[TargetResult]) -> Table:
    table = Table(title="Campaign: attack success and over-refusal per target (95% CI, clustered by behavior)")
    for col in ("target", "run", "status", "attempts", "attack success", "over-refusal"):
        table.add_column(col)
    for r in results:
        table.add_row(r.target, r.run_id, r.status, str(r.attempts), _rate(r.attack_success), _rate(r.over_refusal))
    return table


@app.command()
def campaign(
    file: str = typer.Argument(..., help="Campaign YAML: targets, suite and scan options, executor"),
    db: str = typer.Option(None, help=DB_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines or table"),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON"),
) -> None:
    """Scan every target of a campaign (resuming an earlier, interrupted call) and compare them."""
    config = load_campaign(file)

    def on_target(target: str, what: str) -> None:
        if not quiet and not as_json:
            err_console.print(f"{target}: {what}")

    results = run_campaign(config, db=db, on_target=on_target)
    if as_json:
        write_json("-", [result_dict(r) for r in results])
    elif not quiet:
        console.print(comparison_table(results))
    if len(results) < len(config.targets) or any(r.status != "complete" for r in results):
        err_console.print(f"campaign interrupted: run `redline campaign {file}` again to resume")
        raise typer.Exit(130)
