"""`redline harden RUN`: findings -> constitutional revision -> dataset -> LoRA adapter -> re-measure."""

from __future__ import annotations

import typer
from rich.table import Table

from .app import DB_HELP, JUDGE_HELP, app, console, err_console, fail, rate_cell, write_json


@app.command()
def harden(
    run: str = typer.Argument(
        ..., help="Scan run to harden against (id, prefix, 'last'); with --resume, the harden run"
    ),
    db: str = typer.Option(None, help=DB_HELP),
    reviser: str = typer.Option(
        None, "--reviser", help="Target spec that writes critiques and revisions (default: local)"
    ),
    judge: str = typer.Option(None, "--judge", help=JUDGE_HELP + "; revisions and re-measure use the run's judge spec"),
    out: str = typer.Option(None, "--out", help="Folder for the dataset and the adapter (default: ./harden-RUN)"),
    method: str = typer.Option(None, "--method", help="Training: sft (chosen replies) or dpo (chosen vs rejected)"),
    beta: float = typer.Option(None, "--beta", help="DPO strength beta (default 0.1)"),
    steps: int = typer.Option(None, "--steps", help="LoRA training steps (default: from --epochs)"),
    epochs: float = typer.Option(None, "--epochs", help="Passes over the training pairs (default 4)"),
    lr: float = typer.Option(None, "--lr", help="Learning rate (default 5e-4)"),
    seed: int = typer.Option(None, "--seed", help="Seed of the split, the sampling and the training (default 0)"),
    heldout_fraction: float = typer.Option(None, "--heldout-fraction", help="Share of behaviors held out (0.3)"),
    heldout_attack: list[str] = typer.Option(
        None, "--heldout-attack", help="Attack family to re-measure on that training never saw (repeatable)"
    ),
    max_new_tokens: int = typer.Option(None, "--max-new-tokens", help="Reply budget of the re-measure scans (64)"),
    revise_tokens: int = typer.Option(None, "--revise-tokens", help="Budget of each critique and revision (64)"),
    include_unconfirmed: bool = typer.Option(
        False, "--include-unconfirmed", help="Also train on attack successes no second reading confirmed"
    ),
    reuse: str = typer.Option(
        None, "--reuse", help="Take collect, revision and dataset from this earlier harden run (e.g. to train DPO)"
    ),
    attack: list[str] = typer.Option(
        None, "--attack", help="Only this attack's attempts of the run are collected (repeatable)"
    ),
    suite: str = typer.Option(
        None, "--suite", help="Only this suite's attacks and behaviors (e.g. standard, from a full run)"
    ),
    max_failures: int = typer.Option(
        None, "--max-failures", help="Keep this many failures, spread over categories and attack families"
    ),
    benign_ratio: float = typer.Option(
        None, "--benign-ratio", help="Benign look-alikes per failure, at least 1 (default 1)"
    ),
    max_heldout: int = typer.Option(
        None, "--max-heldout", help="Re-measure this many held-out behaviors (and hallucination probes)"
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the interrupted harden run RUN ('last' = newest)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Train a LoRA adapter against a run's attack successes and measure it again on held-out behaviors."""
    from ..harden.pipeline import harden as run_harden

    given = {"reviser": reviser, "judge": judge, "out": out, "method": method, "beta": beta,
             "steps": steps, "epochs": epochs, "lr": lr, "seed": seed,
             "heldout_fraction": heldout_fraction, "heldout_attacks": heldout_attack or None,
             "max_new_tokens": max_new_tokens, "revise_tokens": revise_tokens, "reuse": reuse,
             "attacks": attack or None, "suite": suite, "max_failures": max_failures, "max_heldout": max_heldout,
             "benign_ratio": benign_ratio}
    if include_unconfirmed:
        given["confirmed_only"] = False
    if resume and any(v is not None for v in given.values()):
        fail("--resume continues a harden run with its stored options; give only RUN, --db and --resume")
    if steps is not None and epochs is not None:
        fail("give --steps or --epochs, not both")

    def progress(stage: str, message: str) -> None:
        if not (quiet or as_json):
            err_console.print(f"[bold]{stage}[/bold] {message}")

    result = run_harden(db, run, resume=resume, progress=progress, **({} if resume else given))
    if as_json:
        write_json("-", result)
        return
    if quiet:
        return
    table = Table(title=f"harden run {result['run_id']}: before {result['before_run']} -> after {result['after_run']}",
                  title_justify="left")
    for col in ("measure", "before", "after"):
        table.add_column(col)
    for row in result["rows"]:
        table.add_row(row["row"], rate_cell(row["before"]), rate_cell(row["after"]))
    ppl = result["perplexity"]
    table.add_row(
        f"perplexity, {ppl['texts']} benign texts",
        *(f"{ppl[k]['perplexity']:.2f} [{ppl[k]['low']:.2f}, {ppl[k]['high']:.2f}]" for k in ("before", "after")),
    )
    console.print(table)
    revs = result["revisions"]
    console.print("revisions: " + ", ".join(f"{k} {v}" for k, v in revs.items()))
    tr = result["train"]
    console.print(f"training: {tr.get('method', 'sft')}, {tr['steps']} steps, loss {tr['first_loss']:.3f} -> "
                  f"{tr['last_loss']:.3f}, seed {tr['seed']}")
    console.print(f"dataset and adapter in {result['train']['adapter'].rsplit('/', 1)[0]}; "
                  f"compare with `redline diff {result['before_run']} {result['after_run']}`")
