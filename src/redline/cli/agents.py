"""`redline agents`: indirect prompt injection against a tool-using target, AgentDojo-style."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .app import DB_HELP, app, console, err_console, fail, write_json

NUMBERS = ("benign_utility", "utility_under_attack", "targeted_asr")


def _cell(rate: dict) -> str:
    if rate["rate"] is None:
        return "-"
    return f"{rate['rate']:.2f} [{rate['low']:.2f}, {rate['high']:.2f}] n={rate['n']}"


def _print(run_id: str, metrics: dict) -> None:
    for key, title in (("defence", "per defence"), ("defence_environment", "per defence and environment"),
                       ("defence_family", "per defence and injection family")):
        table = Table(key.replace("_", " / "), *NUMBERS, title=f"agentic run {run_id}: {title}")
        for group, nums in metrics[key].items():
            table.add_row(group, *(_cell(nums[n]) for n in NUMBERS))
        console.print(table)


def _listing() -> dict:
    from ..agents.defences import DEFENCES
    from ..agents.injections import FAMILIES
    from ..agents.tasks import environments, injection_tasks, user_tasks

    return {
        "environments": {n: {"apps": list(e.apps), "description": e.description} for n, e in environments().items()},
        "user_tasks": {k: t.prompt for k, t in user_tasks().items()},
        "injection_tasks": {k: {"goal": t.goal, "requires": t.requires} for k, t in injection_tasks().items()},
        "families": list(FAMILIES),
        "defences": list(DEFENCES),
    }


@app.command()
def agents(
    target: str = typer.Option("local", help="Target spec (python:redline.agents.scripted:vulnerable: scripted)"),
    env: list[str] = typer.Option(None, "--env", help="Environment (repeatable; default: all)"),
    task: list[str] = typer.Option(None, "--task", help="User task ENV/ID (repeatable; default: all)"),
    injection: list[str] = typer.Option(None, "--injection", help="Injection task (repeatable; default: all)"),
    family: list[str] = typer.Option(None, "--family", help="Injection family (repeatable; default: all five)"),
    encoding: list[str] = typer.Option(None, "--encoding", help="Also run each family encoded (base64, rot13, ...)"),
    defence: list[str] = typer.Option(None, "--defence",
                                      help="none, spotlight, patterns, classifier, confirm (default: none)"),
    limit: int = typer.Option(None, help="User tasks per environment"),
    samples: int = typer.Option(1, help="Samples per episode"),
    max_steps: int = typer.Option(6, help="Model turns per episode"),
    prefill: int = typer.Option(0, help="Make the user task's first N reference tool calls for the model first"),
    max_new_tokens: int = typer.Option(None, help="Tokens per model turn (default: the agentic suite's)"),
    seed: int = typer.Option(0, help="Seed"),
    batch_size: int = typer.Option(16, help="Episodes stepped together"),
    run: str = typer.Option(None, "--run", help="Print the numbers of a stored agentic run ('last') instead"),
    resume: str = typer.Option(None, help="Finish an interrupted agentic run (id or 'last') with its stored plan"),
    list_only: bool = typer.Option(False, "--list", help="List environments, tasks, families and defences"),
    db: str = typer.Option(None, help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar"),
) -> None:
    """Run user tasks in tool environments with injections in tool outputs; print benign utility, utility
    under attack and targeted attack success rate (95% intervals) per defence, environment and family."""
    if list_only:
        data = _listing()
        if as_json:
            write_json("-", data)
            return
        for section in ("environments", "user_tasks", "injection_tasks"):
            console.print(f"[bold]{section}[/bold]")
            for name, value in data[section].items():
                console.print(f"  {name}: {value}", markup=False, highlight=False)
        console.print(f"families: {', '.join(data['families'])}\ndefences: {', '.join(data['defences'])}")
        return
    from ..engine.agentic import AgenticConfig, load_metrics

    if run:
        run_id, metrics = load_metrics(run, db)
    else:
        cfg = None if resume else AgenticConfig(
            target=target, environments=env or None, user_tasks=task or None, injections=injection or None,
            families=family or None, encodings=encoding or None, defences=defence or None, limit=limit,
            samples=samples, max_steps=max_steps, prefill=prefill, max_new_tokens=max_new_tokens, seed=seed,
        )
        run_id, metrics = run_with_progress(cfg, db, resume, batch_size, quiet or as_json)
    if as_json:
        write_json("-", {"run_id": run_id, **metrics})
        return
    _print(run_id, metrics)


def run_with_progress(cfg, db: str | None, resume: str | None, batch_size: int, quiet: bool) -> tuple[str, dict]:  # noqa: ANN001
    """Run (or resume) an agentic run behind a progress bar; its id and numbers."""
    from ..engine.agentic import run_agentic

    progress = Progress(TextColumn("agents"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        disable=quiet)
    bar = progress.add_task("agents", total=None)
    with progress:
        result = run_agentic(cfg, db=db, resume=resume, batch_size=batch_size,
                             on_start=lambda n: progress.update(bar, total=n),
                             on_progress=lambda n: progress.advance(bar, n))
    return result.run_id, result.metrics


def scan_agentic(suite: str, target: str, *, limit: int | None, samples: int | None, seed: int,
                 max_new_tokens: int | None, batch_size: int, db: str | None, quiet: bool, as_json: bool,
                 summary_json: str | None, unsupported: dict[str, object]) -> None:
    """`redline scan --suite agentic`: the agentic episodes with `redline agents`' defaults (every environment,
    user task, injection task and family; defence none), printed as `redline agents` prints them."""
    from ..engine.agentic import AgenticConfig

    given = [name for name, value in unsupported.items() if value]
    if given:
        fail(f"the agentic suite takes no {', '.join(given)} (`redline agents` has its options)")
    cfg = AgenticConfig(target=target, suite=suite, limit=limit, samples=samples or 1, seed=seed,
                        max_new_tokens=max_new_tokens)
    if not quiet and not as_json:
        err_console.print("suite agentic: agentic episodes (as `redline agents`), not chat probes")
    run_id, metrics = run_with_progress(cfg, db, None, batch_size, quiet or as_json)
    if summary_json:
        write_json(summary_json, {"run_id": run_id, **metrics})
    if as_json:
        write_json("-", {"run_id": run_id, **metrics})
    elif not quiet:
        _print(run_id, metrics)
