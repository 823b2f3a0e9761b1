"""`redline scan`, `runs`, `show`, `export`."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ..attacks.framing import consistency_sets, framing_spec
from ..consistency import consistency_tests
from ..engine.scan import ScanConfig, run_scan
from ..probes.suites import get_suite
from ..store.db import Store
from ..store.queries import list_runs
from ..summary import stored_summary
from .agents import scan_agentic
from .app import DB_HELP, JUDGE_HELP, RUN_HELP, app, console, err_console, fail, run_attempts, write_json
from .consistency import consistency_table
from .tables import summary_table


def print_summary(summary: dict) -> None:
    console.print(
        f"run [bold]{summary['run_id']}[/bold]  target {summary['target']}  suite {summary['suite']}  "
        f"judge {summary['judge']}  status {summary['status']}"
    )
    console.print(
        f"attempts {summary['attempts']}/{summary['planned']}  errors {summary['errors']}  "
        f"unscorable {summary['unscorable']}"
    )
    console.print(summary_table("By category", summary["categories"], "category"))
    console.print(summary_table("By attack", summary["attacks"], "attack"))
    if summary.get("guard"):
        g = summary["guard"]
        fired = ", ".join(f"{k} {n}" for k, n in g["fired"].items()) or "none"
        console.print(f"guard: {g['requests']} requests, {g['blocked']} blocked; rails fired: {fired}")


def with_framings(attacks: list[str] | None, suite: str, sets: str | None) -> list[str] | None:
    """The scan's attacks plus the framing attack of the consistency sets (the suite's when none are given)."""
    if not sets:
        return attacks
    spec = framing_spec(consistency_sets(sets))
    base = attacks if attacks is not None else list(get_suite(suite).attacks)
    return base if spec in base else [*base, spec]


def load_summary(db: str | None, run_ref: str, judge: str | None = None) -> dict:
    store = Store(db)
    try:
        return stored_summary(store, run_ref, judge)
    finally:
        store.close()


@app.command()
def scan(
    target: str = typer.Option("local", help="Target spec: local, local:PATH, openai:MODEL@URL, python:mod:fn"),
    suite: str = typer.Option("quick", help="Suite name or suite YAML file"),
    behaviors: str = typer.Option(None, "--behaviors", help="Behaviors file (YAML, CSV, JSONL; public formats)"),
    fmt: str = typer.Option(None, "--format", help="Format of --behaviors (auto-detected by columns)"),
    attack: list[str] = typer.Option(None, "--attack", help="Attack spec(s), overriding the suite's"),
    samples: int = typer.Option(None, help="Samples per (behavior, attack, variant)"),
    judge: str = typer.Option(None, help="Judge spec (default: the suite's, else the default judge)"),
    db: str = typer.Option(None, help=DB_HELP),
    limit: int = typer.Option(None, help="Only the first N behaviors"),
    batch_size: int = typer.Option(32, min=1, help="Batch size for local targets"),
    concurrency: int = typer.Option(None, min=1, help="Requests in flight for remote targets"),
    max_new_tokens: int = typer.Option(None, min=1, help="Token budget per reply"),
    executor: str = typer.Option("inprocess", help="inprocess, or ray: batches run on target replicas (Ray actors)"),
    replicas: int = typer.Option(1, min=1, help="With --executor ray: target replicas (one model load each)"),
    ray_address: str = typer.Option(None, help="With --executor ray: join this cluster (auto, HOST:PORT); "
                                    "default: start a local one"),
    seed: int = typer.Option(0, help="Seed for sampling and planning"),
    steer: str = typer.Option(None, help="Local targets: add a saved direction, FILE:alpha[:layer]"),
    ablate: str = typer.Option(None, help="Local targets: ablate a saved direction FILE at every layer"),
    consistency: str = typer.Option(
        None, help="Also ask every behavior under the paired framings of these sets (all, or names from "
        "`redline list consistency`) and test whether behaviour changes; the suite's attacks still run"
    ),
    resume: str = typer.Option(None, help="Resume RUN_ID (or 'last': the newest scan): complete its plan"),
    retry_errors: bool = typer.Option(False, help="With --resume: run errored attempts again"),
    summary_json: str = typer.Option(None, help="Write the summary as JSON to this path"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or tables"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout"),
) -> None:
    """Run a red-team scan (or resume one) and print attack success by category and attack. The `agentic`
    suite runs agentic episodes instead (as `redline agents`)."""
    if not resume and get_suite(suite).runner == "agentic":
        return scan_agentic(suite, target, limit=limit, samples=samples, seed=seed, max_new_tokens=max_new_tokens,
                            batch_size=batch_size, db=db, quiet=quiet, as_json=as_json, summary_json=summary_json,
                            unsupported={"--behaviors": behaviors, "--attack": attack, "--judge": judge,
                                         "--consistency": consistency, "--steer": steer, "--ablate": ablate,
                                         "--executor ray": executor != "inprocess"})
    config = None
    attacks = with_framings(list(attack) if attack else None, suite, consistency)
    for name, value in (("steer", steer), ("ablate", ablate)):
        if value:
            if not target.startswith("local"):
                fail(f"--{name} needs a local target")
            target = f"{target};{name}={value}"
    if not resume:
        config = ScanConfig(
            target=target,
            suite=suite,
            behaviors_file=behaviors,
            behaviors_format=fmt,
            attacks=attacks,
            samples=samples,
            limit=limit,
            seed=seed,
            judge=judge,
            max_new_tokens=max_new_tokens,
        )
    resume_options = None
    if resume:  # the original command line with --resume added is accepted when its options match the plan
        resume_options = {
            "target": target if target != "local" else None,
            "suite": suite if suite != "quick" else None,
            "behaviors_file": behaviors,
            "behaviors_format": fmt,
            "attacks": attacks,
            "samples": samples,
            "limit": limit,
            "seed": seed or None,
            "judge": judge,
            "max_new_tokens": max_new_tokens,
        }
    show_progress = not quiet and not as_json
    progress = Progress(
        TextColumn("[bold]scan"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
        disable=not show_progress,
    )
    task = progress.add_task("scan", total=None, start=False, visible=False)

    def on_run(run_id: str) -> None:
        if not quiet and not as_json:
            err_console.print(f"run id: {run_id}")

    def on_start(total: int, done: int) -> None:
        progress.update(task, total=total, completed=done, visible=True)
        progress.start_task(task)

    with progress:
        result = run_scan(
            config,
            db=db,
            resume=resume,
            retry_errors=retry_errors,
            batch_size=batch_size,
            concurrency=concurrency,
            on_run=on_run,
            on_start=on_start,
            on_progress=lambda n: progress.advance(task, n),
            resume_options=resume_options,
            executor=executor,
            replicas=replicas,
            ray_address=ray_address,
        )
    summary = result.summary
    adaptive = summary.get("adaptive", {})
    tests = None
    if consistency:
        tests = consistency_tests(run_attempts(db, result.run_id)[1], consistency_sets(consistency))
        summary["consistency"] = [t.to_dict() for t in tests]
    if summary_json:
        write_json(summary_json, summary)
    if as_json:
        write_json("-", summary)
    elif not quiet:
        print_summary(summary)
        if tests:
            console.print(consistency_table(tests, 0.05))
    for method, info in adaptive.items():
        if info["run_budget_hit"] and not quiet:
            err_console.print(f"{method}: run budget {info['run_budget_hit']} reached; later behaviors not attacked")
    if result.stats.interrupted:
        err_console.print(f"interrupted: resume with `redline scan --resume {result.run_id}`")
        raise typer.Exit(130)


@app.command()
def runs(
    kind: str = typer.Option(None, "--kind", help="Only runs of this kind: scan, attack, audit (any audit), ..."),
    db: str = typer.Option(None, help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """List runs, newest first."""
    store = Store(db)
    try:
        items = list_runs(store, kind)
    finally:
        store.close()
    if as_json:
        write_json("-", items)
        return
    table = Table(title="Runs", title_justify="left")
    for col in ("run_id", "kind", "created_at", "status", "target", "suite", "attempts"):
        table.add_column(col)
    for it in items:
        table.add_row(*(str(it[c]) if c != "attempts" else f"{it['attempts']}/{it['planned']}" for c in
                        ("run_id", "kind", "created_at", "status", "target", "suite", "attempts")))
    console.print(table)


@app.command()
def show(
    run: str = typer.Argument(..., help=RUN_HELP),
    judge: str = typer.Option(None, "--judge", help=JUDGE_HELP),
    db: str = typer.Option(None, help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Print a run's summary again."""
    summary = load_summary(db, run, judge)
    if as_json:
        write_json("-", summary)
    else:
        print_summary(summary)


EXPORT_FIELDS = [
    "attempt_id", "run_id", "behavior_id", "category", "subcategory", "expected", "attack", "family", "variant",
    "sample", "state", "label", "success", "harm", "confidence", "judge", "correct", "goal", "response",
    "decoded_response", "error", "tokens", "latency_s", "rationale",
]


@app.command()
def export(
    run: str = typer.Argument(..., help=RUN_HELP),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv"),
    output: str = typer.Option("-", "--output", "-o", help="File to write (default stdout)"),
    judge: str = typer.Option(None, "--judge", help=JUDGE_HELP),
    db: str = typer.Option(None, help=DB_HELP),
) -> None:
    """Export every attempt of a run with its verdict."""
    if fmt not in ("jsonl", "csv"):
        fail(f"unknown export format {fmt!r} (jsonl or csv)")
    _, records = run_attempts(db, run, judge)
    try:
        fh = sys.stdout if output == "-" else Path(output).open("w", newline="", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    try:
        if fmt == "jsonl":
            for r in records:
                fh.write(json.dumps(r.to_dict(), default=str) + "\n")
        else:
            writer = csv.DictWriter(fh, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for r in records:
                writer.writerow(r.to_dict())
    finally:
        if fh is not sys.stdout:
            fh.close()
