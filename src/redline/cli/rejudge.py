"""`redline rejudge RUN --judge SPEC`: store another judge's verdicts on a run, beside its own."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..engine.rejudge import rejudge as rejudge_run
from ..store.db import Store
from .app import DB_HELP, RUN_HELP, app, console, err_console, write_json


@app.command()
def rejudge(
    run: str = typer.Argument(..., help=RUN_HELP),
    judge: str = typer.Option(..., "--judge", help="Judge spec: refusal, offline, llm:TARGET_SPEC, ..."),
    batch_size: int = typer.Option(32, min=1, help="Attempts judged and stored per transaction"),
    db: str = typer.Option(None, help=DB_HELP),
    replace: bool = typer.Option(
        False, "--replace", help="Read every attempt again and replace this judge's verdicts (after a judge change)"
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Judge a stored scan again with another judge; readers pick it with --judge (resumes if interrupted)."""
    progress = Progress(
        TextColumn("[bold]rejudge"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, disable=quiet or as_json,
    )
    task = progress.add_task("rejudge", total=None, start=False, visible=False)

    def on_start(total: int) -> None:  # shown once the run and judge are known good
        progress.update(task, total=total, visible=True)
        progress.start_task(task)

    store = Store(db)
    try:
        with progress:
            result = rejudge_run(
                store, run, judge, batch_size=batch_size, replace=replace,
                on_start=on_start,
                on_progress=lambda n: progress.advance(task, n),
            )
    finally:
        store.close()
    out = {"run_id": result.run_id, "judge": result.judge, "judged": result.judged}
    if as_json:
        write_json("-", out)
    elif not quiet:
        console.print(
            f"run [bold]{result.run_id}[/bold]: {result.judged} attempts judged by {result.judge}; "
            f"read them with --judge {result.judge}"
        )
