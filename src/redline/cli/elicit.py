"""`redline elicit RUN`: ASR@k curves and per-behavior maxima; `--stack` runs the elicit suite first."""

from __future__ import annotations

import typer
from rich.table import Table

from ..elicit import elicit_report
from ..engine.stack import stack_run
from ..errors import ConfigError
from ..results import load_attempts, resolve_run_id
from ..store.db import Store
from .app import DB_HELP, JUDGE_HELP, RUN_HELP, app, console, err_console, pct, write_json


@app.command()
def elicit(
    run: str = typer.Argument(..., help=RUN_HELP),
    k: list[int] = typer.Option(None, "--k", help="k values of the ASR@k curve (default 1..min attempts)"),
    stack: bool = typer.Option(False, help="First run the elicit suite with RUN's strongest static attacks"),
    behaviors: str = typer.Option("starter", help="With --stack: probe set name or behaviors file"),
    target: str = typer.Option("local", help="With --stack: target spec"),
    method: list[str] = typer.Option(
        None, "--method", help="With --stack: adaptive method spec(s), e.g. pair"
    ),
    top: int = typer.Option(3, min=1, help="With --stack: how many static attacks to keep"),
    samples: int = typer.Option(None, min=1, help="With --stack: samples per (behavior, attack)"),
    max_queries: int = typer.Option(
        12, min=1, help="With --stack: per-behavior query budget of adaptive methods"
    ),
    max_new_tokens: int = typer.Option(None, min=1, help="With --stack: token budget per reply"),
    judge: str = typer.Option(None, "--judge", help=JUDGE_HELP),
    db: str = typer.Option(None, help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Print ASR@k (best-of-N) with bootstrap intervals and the maximum reached per behavior."""
    if not stack and (method or samples):
        raise ConfigError("--method and --samples need --stack")
    if stack:
        run = stack_run(
            db, run, behaviors, target, list(method or ["pair"]), top=top, samples=samples,
            max_queries=max_queries, max_new_tokens=max_new_tokens,
            on_plan=lambda attacks: err_console.print(f"stacking attacks {attacks}"),
        ).run_id
    store = Store(db)
    try:
        run_id = resolve_run_id(store, run)
        report = {"run_id": run_id, **elicit_report(load_attempts(store, run_id, judge), list(k) if k else None)}
    finally:
        store.close()
    if as_json:
        write_json("-", report)
        return
    e = report["elicited"]
    console.print(
        f"run [bold]{run_id}[/bold]  behaviors {report['behaviors']}  attempts per behavior "
        f"{report['attempts_per_behavior']['min']}-{report['attempts_per_behavior']['max']}"
    )
    console.print(
        f"elicited (any success per behavior): {e['successes']}/{e['n']} = {pct(e['rate'])} "
        f"[{pct(e['low'])}, {pct(e['high'])}]   mean per attempt {pct(e['mean_attempt_rate'])}"
    )
    table = Table(title="ASR@k (95% bootstrap over behaviors)", title_justify="left")
    table.add_column("k", justify="right")
    table.add_column("all attacks", justify="right")
    attacks = list(report["per_attack"])
    for a in attacks:
        table.add_column(a, justify="right")
    per = {a: {p["k"]: p for p in pts} for a, pts in report["per_attack"].items()}
    for p in report["curve"]:
        cells = [f"{pct(p['asr'])} [{pct(p['low'])}, {pct(p['high'])}]"]
        cells += [pct(per[a][p["k"]]["asr"]) if p["k"] in per[a] else "-" for a in attacks]
        table.add_row(str(p["k"]), *cells)
    console.print(table)
    mt = Table(title="Maximum per behavior", title_justify="left")
    for col in ("behavior", "attempts", "successes", "max harm", "best attack"):
        mt.add_column(col)
    for b, m in report["max_by_behavior"].items():
        mt.add_row(b, str(m["attempts"]), str(m["successes"]), f"{m['max_harm']:.2f}", str(m["best_attack"]))
    console.print(mt)
