"""`redline consistency`: does a run's behaviour change under cues that should not matter?"""

from __future__ import annotations

import typer
from rich.table import Table

from ..attacks.framing import consistency_sets
from ..consistency import ConsistencyTest, consistency_tests
from .app import DB_HELP, JUDGE_HELP, RUN_HELP, app, console, fail, pct, run_attempts, write_json

SETS_HELP = "Consistency sets to test: all, or names from `redline list consistency` joined by commas"


def consistency_table(tests: list[ConsistencyTest], alpha: float) -> Table:
    table = Table(title=f"Consistency under paired framings (Holm-corrected, alpha {alpha})")
    for col in ("set", "metric", "behaviors", "cue", "rate", "contrast", "rate ", "gap [95% CI]", "p (Holm)", ""):
        table.add_column(col, justify="right" if col in ("behaviors", "rate", "rate ", "p (Holm)") else "left")
    for t in tests:
        ci = f" [{pct(t.gap_low)}, {pct(t.gap_high)}]" if t.gap_low is not None else ""
        table.add_row(
            t.set, t.metric, str(t.behaviors), t.cue, pct(t.cue_rate.rate), t.contrast, pct(t.contrast_rate.rate),
            f"{pct(t.gap)}{ci}", f"{t.p_holm:.3g}", "[bold red]finding[/]" if t.finding else "",
        )
    return table


def report_consistency(db: str | None, run_ref: str, sets: str, alpha: float, judge: str | None) -> list:
    """The tests of a stored run (framing attempts of the named sets)."""
    if not 0 < alpha < 1:
        fail("--alpha must be between 0 and 1")
    chosen = consistency_sets(sets)
    run_id, records = run_attempts(db, run_ref, judge)
    tests = consistency_tests(records, chosen, alpha=alpha)
    if not tests:
        fail(f"run {run_id} has no framing attempts of these sets; scan with `--consistency {sets}`")
    return tests


@app.command()
def consistency(
    run: str = typer.Argument("last", help=RUN_HELP),
    sets: str = typer.Option("all", "--sets", help=SETS_HELP),
    alpha: float = typer.Option(0.05, help="Family-wise error rate of the findings"),
    judge: str = typer.Option(None, "--judge", help=JUDGE_HELP),
    fail_on_finding: bool = typer.Option(False, help="Exit 1 when any test is a finding (for CI)"),
    db: str = typer.Option(None, help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Paired tests of behaviour under evaluation vs deployment cues, stated stakes and candidate triggers."""
    tests = report_consistency(db, run, sets, alpha, judge)
    if as_json:
        write_json("-", [t.to_dict() for t in tests])
    else:
        console.print(consistency_table(tests, alpha))
    if fail_on_finding and any(t.finding for t in tests):
        raise typer.Exit(1)
