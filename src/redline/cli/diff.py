"""`redline diff RUN_A RUN_B`: which failure rates changed significantly between two runs."""

from __future__ import annotations

import typer
from rich.table import Table

from ..report.diff import diff_runs
from ..store.db import Store
from .app import DB_HELP, JUDGE_HELP, app, console, fail, pct, write_json


def _secs(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f} s"


def latency_line(latency: dict) -> str:
    """Seconds per request in A and B (p50 / p95), and the guard's share when B ran through one."""
    a, b = latency["a"], latency["b"]
    line = (f"latency per request p50 / p95: A {_secs(a['p50_s'])} / {_secs(a['p95_s'])}, "
            f"B {_secs(b['p50_s'])} / {_secs(b['p95_s'])}")
    guard = b.get("guard")
    if guard:
        share = guard["over_upstream_p50"]
        line += (f"; guard in B {_secs(guard['p50_s'])} / {_secs(guard['p95_s'])}"
                 + (f" ({100 * share:.1f} % of the upstream's time, p50)" if share is not None else "")
                 + f", {guard['blocked_before_upstream']} blocked before the upstream")
    return line



@app.command()
def diff(
    run_a: str = typer.Argument(..., help="Baseline run (id, prefix, or 'last': the newest scan)"),
    run_b: str = typer.Argument(..., help="Run to compare with the baseline"),
    alpha: float = typer.Option(0.05, help="Significance level after Holm correction"),
    fail_on_regression: bool = typer.Option(
        False, "--fail-on-regression", help="Exit 1 if anything regressed"
    ),
    json_path: str = typer.Option(None, "--json", help="Write the comparison as JSON ('-' = stdout)"),
    judge: str = typer.Option(None, "--judge", help=JUDGE_HELP),
    judge_b: str = typer.Option(
        None, "--judge-b", help="Read run B with this judge's verdicts (default: --judge); RUN RUN compares judges"
    ),
    db: str = typer.Option(None, help=DB_HELP),
) -> None:
    """Compare failure rates per metric, category and attack (Fisher exact test, Holm-corrected)."""
    if not 0 < alpha < 1:
        fail("--alpha must be between 0 and 1")
    store = Store(db)
    try:
        result = diff_runs(store, run_a, run_b, alpha, judge, judge_b)
    finally:
        store.close()
    if json_path:
        write_json(json_path, result)
    if json_path != "-":
        table = Table(
            title=f"{result['run_a']} -> {result['run_b']} ({result['test']})"
            + (f", judges {result['judge_a'] or 'own'} -> {result['judge_b']}" if result["judge_b"] else ""),
            title_justify="left",
        )
        for col in ("group", "metric", "A", "B", "change", "p", "p (Holm)", ""):
            table.add_column(col)
        for r in result["rows"]:
            style = {"regression": "bold red", "improvement": "green"}.get(r["change"], "")
            table.add_row(
                r["group"],
                r["metric"],
                f"{pct(r['rate_a'])} ({r['k_a']}/{r['n_a']})",
                f"{pct(r['rate_b'])} ({r['k_b']}/{r['n_b']})",
                f"{100 * r['delta']:+.1f} pts",
                f"{r['p']:.3g}",
                f"{r['p_holm']:.3g}",
                f"[{style}]{r['change']}[/]" if style else r["change"],
            )
        console.print(table)
        console.print(f"regressions: {', '.join(result['regressions']) or 'none'}")
        console.print(latency_line(result["latency"]))
    if fail_on_regression and result["regressions"]:
        raise typer.Exit(1)
