"""`redline guard`: serve the runtime guard in front of any target (OpenAI-compatible); `redline guard replay RUN`:
a stored scan's transcripts through the guard's rails, without calling the model."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .app import DB_HELP, JUDGE_HELP, app, console, err_console, rate_cell, write_json

guard_app = typer.Typer(help="The runtime guard: `redline guard --upstream SPEC` serves it; `replay` measures it on "
                        "a stored scan.")
app.add_typer(guard_app, name="guard")


@guard_app.callback(invoke_without_command=True)
def guard(
    ctx: typer.Context,
    upstream: str = typer.Option(None, "--upstream", help="Target spec to guard (local, openai:..., python:...)"),
    policy: str = typer.Option(None, "--policy", help="Guard policy YAML (default: the packaged one)"),
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)"),
    port: int = typer.Option(8080, help="Port"),
    log: str = typer.Option(None, "--log", help="Append every rail decision to this JSON-lines file"),
    db: str = typer.Option(None, "--db", help="Also record every decision in this store (a run of kind guard)"),
    model_name: str = typer.Option("redline-guard", help="Model name reported to clients"),
) -> None:
    """Serve http://HOST:PORT/v1/chat/completions with input, output and conversation rails around UPSTREAM."""
    if ctx.invoked_subcommand is not None:
        return
    from ..errors import ConfigError

    if not upstream:
        raise ConfigError("redline guard needs --upstream TARGET_SPEC (or a subcommand: redline guard replay RUN)")
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise ConfigError("redline guard needs starlette and uvicorn: pip install 'redline[serve]'") from None
    from ..guard.engine import Guard
    from ..guard.policy import load_guard_policy
    from ..guard.server import create_guard_app
    from ..targets import create_target, parse_target_spec

    pol = load_guard_policy(policy)
    if parse_target_spec(upstream).kind == "guard":
        raise ConfigError("--upstream is the model to guard; a guard: spec there would guard twice")
    tgt = create_target(upstream, batch_size=1)
    store = None
    if db:
        from ..guard.record import DecisionStore

        store = DecisionStore(db, upstream, pol)
    g = Guard(pol, log=log, store=store)
    where = f"; decisions in run {store.run_id}" if store else ""
    err_console.print(f"guarding {tgt.id} with policy {pol.name} ({pol.digest()}) at http://{host}:{port}/v1{where}")
    try:
        uvicorn.run(create_guard_app(g, tgt, model_name), host=host, port=port, log_level="warning")
    finally:
        g.close()
        tgt.close()


@guard_app.command("replay")
def replay(
    run: str = typer.Argument(..., help="Scan run id, unique prefix, or 'last' (the newest scan)"),
    policy: str = typer.Option(None, "--policy", help="Guard policy YAML (default: the packaged one)"),
    judge: str = typer.Option(None, "--judge", help=JUDGE_HELP),
    attack: list[str] = typer.Option(None, "--attack", help="Only attempts of this attack spec (repeatable; "
                                     "`roleplay:template=developer_mode` finds that template's attempts)"),
    suite: str = typer.Option(None, "--suite", help="Only the attacks and behaviors of this suite (e.g. standard)"),
    db: str = typer.Option(None, help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar"),
) -> None:
    """ASR and over-refusal of a stored scan bare vs behind the guard, replaying its transcripts through the rails
    (no model call); stored as a run of kind guard-replay."""
    from ..guard.policy import load_guard_policy
    from ..guard.replay import replay_run
    from ..store.db import Store

    pol = load_guard_policy(policy)
    progress = Progress(TextColumn("[bold]replay"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("eta"), TimeRemainingColumn(), console=err_console, disable=quiet or as_json)
    task = progress.add_task("replay", total=None, visible=False)
    store = Store(db)
    try:
        with progress:
            result = replay_run(store, run, pol, judge=judge, attacks=attack or [], suite=suite,
                                on_start=lambda n: progress.update(task, total=n, visible=True),
                                on_progress=lambda n: progress.advance(task, n))
    finally:
        store.close()
    if as_json:
        write_json("-", result)
    else:
        print_replay(result)


def print_replay(result: dict) -> None:
    """Bare vs guarded rates (overall, by category, by attack), the rails that blocked, the footnote."""
    console.print(f"guard replay {result['run_id']} of scan {result['source_run']} ({result['target']}): policy "
                  f"{result['policy']} ({result['policy_hash']}), verdicts of {result['judge']}, "
                  f"{result['attempts']} attempts, {result['blocked']} blocked")
    table = Table("group", "metric", "bare", "guarded", title="Bare vs guarded (95% CI clustered by behavior)",
                  title_justify="left")
    for metric, rates in result["metrics"].items():
        if rates["bare"]["n"] or rates["guarded"]["n"]:
            table.add_row("[bold]all", metric, rate_cell(rates["bare"]), rate_cell(rates["guarded"]))
    for cat, metrics in result["by_category"].items():
        for metric, rates in metrics.items():
            table.add_row(cat, metric, rate_cell(rates["bare"]), rate_cell(rates["guarded"]))
    for attack, metrics in result["by_attack"].items():
        for metric, rates in metrics.items():
            table.add_row(attack, metric, rate_cell(rates["bare"]), rate_cell(rates["guarded"]))
    console.print(table)
    rails = Table("blocking rail", "harmful", "look-alikes", "other", "bare successes stopped", "after turn 1",
                  title="What blocked", title_justify="left")
    for rail, c in result["rails"].items():
        other = sum(n for k, n in c.items() if k not in ("attack_success", "over_refusal", "bare successes stopped",
                                                         "after turn 1"))
        rails.add_row(rail, str(c.get("attack_success", 0)), str(c.get("over_refusal", 0)), str(other),
                      str(c.get("bare successes stopped", 0)), str(c.get("after turn 1", 0)))
    console.print(rails)
    sp, mt = result["speed"], result["multi_turn"]
    console.print(f"{sp['attempts_per_s']} attempts/s ({sp['calls']} calls, {sp['seconds_per_call']} s per call); "
                  f"multi-turn attempts {mt['attempts']}, blocked after turn 1: {mt['blocked_after_turn_1']}; "
                  f"classifier failures: {result['classifier_failures']}")
    console.print(f"[dim]{result['footnote']}[/dim]")
