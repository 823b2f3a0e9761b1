"""`redline elicit RUN`: ASR@k curves and per-behavior maxima; `--stack` runs the elicit suite first."""

from __future__ import annotations

import typer
from rich.table import Table

from ..elicit import elicit_report, strongest_attacks
from ..errors import ConfigError
from ..results import get_run, load_attempts, resolve_run_id
from ..store.db import Store
from .app import DB_HELP, RUN_HELP, app, console, err_console, write_json


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def stack_run(
    db: str | None,
    source: str,
    behaviors: str,
    target: str,
    methods: list[str],
    top: int,
    samples: int | None,
    max_queries: int,
    max_new_tokens: int | None,
) -> str:
    """Scan behaviors with the elicit suite and RUN's strongest static attacks, then add adaptive ones."""
    from ..attacks.adaptive.runner import load_behaviors
    from ..attacks.adaptive_suite import run_adaptive_in_run
    from ..attacks.base import create_attack
    from ..engine.scan import ScanConfig, run_scan
    from ..probes.behavior import DATA_DIR, load_probe_set
    from ..store.recorder import RunRecorder
    from ..targets.base import create_target

    store = Store(db)
    try:
        attacks = strongest_attacks(load_attempts(store, resolve_run_id(store, source)), top) or ["identity"]
    finally:
        store.close()
    path = next(
        (str(p) for p in sorted(DATA_DIR.glob("*.yaml")) if load_probe_set(p).name == behaviors), behaviors
    )
    tgt = create_target(target)
    err_console.print(f"stacking static attacks {attacks} with adaptive {methods}")
    result = run_scan(
        ScanConfig(
            target=target,
            suite="elicit",
            behaviors_file=path,
            attacks=attacks,
            samples=samples,
            max_new_tokens=max_new_tokens,
        ),
        db=db,
        target=tgt,
    )
    store = Store(db)
    try:
        run = get_run(store, result.run_id)
        bs = load_behaviors(path)
        for spec in methods:
            run_adaptive_in_run(
                RunRecorder(store, result.run_id),
                bs,
                create_attack(spec),
                tgt,
                verdict_judge=run.judge,
                settings={"max_queries": max_queries, "target_tokens": max_new_tokens or 64},
            )
    finally:
        store.close()
    return result.run_id


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
    db: str = typer.Option(None, help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Print ASR@k (best-of-N) with bootstrap intervals and the maximum reached per behavior."""
    if not stack and (method or samples):
        raise ConfigError("--method and --samples need --stack")
    if stack:
        run = stack_run(
            db, run, behaviors, target, list(method or ["pair"]), top, samples, max_queries, max_new_tokens
        )
    store = Store(db)
    try:
        run_id = resolve_run_id(store, run)
        report = {"run_id": run_id, **elicit_report(load_attempts(store, run_id), list(k) if k else None)}
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
        f"elicited (any success per behavior): {e['successes']}/{e['n']} = {_pct(e['rate'])} "
        f"[{_pct(e['low'])}, {_pct(e['high'])}]   mean per attempt {_pct(e['mean_attempt_rate'])}"
    )
    table = Table(title="ASR@k (95% bootstrap over behaviors)", title_justify="left")
    table.add_column("k", justify="right")
    table.add_column("all attacks", justify="right")
    attacks = list(report["per_attack"])
    for a in attacks:
        table.add_column(a, justify="right")
    per = {a: {p["k"]: p for p in pts} for a, pts in report["per_attack"].items()}
    for p in report["curve"]:
        cells = [f"{_pct(p['asr'])} [{_pct(p['low'])}, {_pct(p['high'])}]"]
        cells += [_pct(per[a][p["k"]]["asr"]) if p["k"] in per[a] else "-" for a in attacks]
        table.add_row(str(p["k"]), *cells)
    console.print(table)
    mt = Table(title="Maximum per behavior", title_justify="left")
    for col in ("behavior", "attempts", "successes", "max harm", "best attack"):
        mt.add_column(col)
    for b, m in report["max_by_behavior"].items():
        mt.add_row(b, str(m["attempts"]), str(m["successes"]), f"{m['max_harm']:.2f}", str(m["best_attack"]))
    console.print(mt)
