"""`redline attack`: adaptive red teaming (PAIR, TAP, Crescendo) with budgets, stored steps and resume."""

from __future__ import annotations

import json

import typer

from ..engine.adaptive import AttackConfig, AttackRunResult, BehaviorOutcome, run_attack
from ..errors import ConfigError
from ..metrics import plain_rate
from .app import DB_HELP, app, console, err_console, write_json


def attack_summary(result: AttackRunResult, outcomes: list[dict]) -> dict:
    """ASR over finished behaviors with a Wilson interval, queries per success, budget hits."""
    scored = [o for o in outcomes if o["success"] is not None]
    wins = [o for o in scored if o["success"]]
    rate = plain_rate(len(wins), len(scored))
    queries = sum(o["queries"] for o in outcomes)
    return {
        "run_id": result.run_id,
        "method": result.method,
        "status": result.status,
        "resumed": result.resumed,
        "behaviors": len(outcomes),
        "scored": len(scored),
        "successes": len(wins),
        "asr": rate.rate,
        "asr_low": rate.low,
        "asr_high": rate.high,
        "queries": queries,
        "queries_per_success": queries / len(wins) if wins else None,
        "mean_queries_to_success": (sum(o["queries_to_success"] for o in wins) / len(wins)) if wins else None,
        "budget_hits": {o["behavior_id"]: o["budget_hit"] for o in outcomes if o["budget_hit"]},
        "run_budget_hit": result.run_budget_hit,
        "usage": result.usage,
        "per_behavior": outcomes,
    }


def _stored_outcomes(db: str | None, run_id: str, method: str) -> list[dict]:
    from ..store.db import Store
    from ..store.runs import load_audit_results

    store = Store(db)
    try:
        rows = load_audit_results(store, run_id, "attack")
    finally:
        store.close()
    return [r.data for r in rows if r.key.startswith(f"{method}:") and not r.key.endswith(":_run")]


@app.command()
def attack(
    method: str = typer.Option("pair", help="Adaptive method: pair, tap or crescendo"),
    target: str = typer.Option("local", help="Target spec under test"),
    attacker: str = typer.Option("local", help="Target spec of the attacker model"),
    judge: str = typer.Option("local", help="Target spec of the 1-10 rubric judge (guides the search)"),
    verdict_judge: str = typer.Option(
        None, help="Verdict judge spec deciding success (default: the default judge)"
    ),
    behaviors: str = typer.Option("starter", help="Probe set name, 'all', or a behaviors file"),
    limit: int = typer.Option(None, help="Only the first N behaviors"),
    param: list[str] = typer.Option(None, "--param", help="Method parameter key=value (e.g. streams=3)"),
    max_queries: int = typer.Option(20, min=0, help="Per behavior: max target queries"),
    max_attacker_tokens: int = typer.Option(None, min=0, help="Per behavior: max attacker tokens"),
    max_seconds: float = typer.Option(None, min=0, help="Per behavior: max model seconds"),
    run_max_queries: int = typer.Option(None, min=0, help="Per run: max target queries"),
    run_max_attacker_tokens: int = typer.Option(None, min=0, help="Per run: max attacker tokens"),
    run_max_seconds: float = typer.Option(None, min=0, help="Per run: max model seconds"),
    max_new_tokens: int = typer.Option(64, min=1, help="Token budget of each target reply"),
    success_threshold: int = typer.Option(
        None, min=1, max=10, help="Also require this rubric score for success"
    ),
    seed: int = typer.Option(0, help="Seed for the attacker's sampling"),
    resume: str = typer.Option(
        None, help="Resume RUN_ID or 'last' (the newest attack run; budget options may be raised)"
    ),
    db: str = typer.Option(None, help=DB_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-behavior lines"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
) -> None:
    """Attack behaviors with an attacker LLM and a judge; print ASR, queries per success and budget hits."""
    params = {}
    for item in param or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"--param {item!r}: expected key=value")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value.strip()
    budgets = {
        "max_queries": max_queries,
        "max_attacker_tokens": max_attacker_tokens,
        "max_seconds": max_seconds,
        "run_max_queries": run_max_queries,
        "run_max_attacker_tokens": run_max_attacker_tokens,
        "run_max_seconds": run_max_seconds,
    }
    config = (
        None
        if resume
        else AttackConfig(
            method=method,
            target=target,
            attacker=attacker,
            judge=judge,
            verdict_judge=verdict_judge,
            behaviors=behaviors,
            limit=limit,
            params=params,
            target_tokens=max_new_tokens,
            success_threshold=success_threshold,
            seed=seed,
            **budgets,
        )
    )
    talk = not quiet and not as_json

    def on_behavior(o: BehaviorOutcome) -> None:
        if talk:
            hit = f"  budget hit: {o.budget_hit}" if o.budget_hit else ""
            score = "-" if o.score is None else f"{o.score:.1f}"
            err_console.print(
                f"  {o.behavior_id}: {'SUCCESS' if o.success else 'no success'}  score {score}  "
                f"queries {o.queries}{hit}"
            )

    result = run_attack(
        config,
        db=db,
        resume=resume,
        budget_overrides=budgets if resume else None,
        on_behavior=on_behavior,
        on_run=lambda rid: talk and err_console.print(f"run id: {rid}"),
    )
    summary = attack_summary(result, _stored_outcomes(db, result.run_id, result.method))
    if as_json:
        write_json("-", summary)
    elif not quiet:
        asr = (
            "-"
            if summary["asr"] is None
            else (
                f"{100 * summary['asr']:.1f}% "
                f"[{100 * summary['asr_low']:.1f}%, {100 * summary['asr_high']:.1f}%]"
            )
        )
        qps = summary["queries_per_success"]
        console.print(f"run [bold]{result.run_id}[/bold]  method {result.method}  status {result.status}")
        console.print(
            f"ASR {asr}  ({summary['successes']}/{summary['scored']} behaviors)  "
            f"queries {summary['queries']}  queries/success {qps if qps is None else round(qps, 1)}"
        )
        u = result.usage
        console.print(
            f"time: target {u['target_s']:.1f}s  attacker {u['attacker_s']:.1f}s  judge {u['judge_s']:.1f}s"
        )
        for b, hit in summary["budget_hits"].items():
            console.print(f"budget hit: {b}: {hit}")
        if result.run_budget_hit:
            console.print(f"run budget hit: {result.run_budget_hit}")
    if result.status == "interrupted":
        err_console.print(
            f"stopped: resume with `redline attack --resume {result.run_id}` (raise the run budget)"
        )
        if not result.run_budget_hit:
            raise typer.Exit(130)
