"""`redline dp train | audit`: differential-privacy training with Opacus and its empirical audit."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .app import app, console, write_json

dp_app = typer.Typer(help="Differentially private training (Opacus) and empirical epsilon audits.",
                     no_args_is_help=True)
app.add_typer(dp_app, name="dp")


def _threads() -> None:
    import torch

    torch.set_num_threads(1)  # tiny models: threads only add contention


@dp_app.command("train")
def dp_train(
    config: Path = typer.Option(None, "--config", help="YAML config (data, model, epochs, lr, ...)"),
    epsilon: float = typer.Option(None, "--epsilon", help="Target epsilon (overrides the config)"),
    noise_multiplier: float = typer.Option(None, help="Noise multiplier instead of a target epsilon"),
    epochs: int = typer.Option(None, help="Epochs (overrides the config)"),
    accountant: str = typer.Option(None, help="prv or rdp"),
    out: str = typer.Option(None, "--out", help="Write the result as JSON to this path ('-' for stdout)"),
) -> None:
    """Train with DP-SGD and without DP; report (epsilon, delta), accuracy and the accuracy cost."""
    from ..audits.dp.train import load_config, train_and_compare

    cfg = load_config(config, target_epsilon=epsilon, noise_multiplier=noise_multiplier, epochs=epochs,
                      accountant=accountant)
    _threads()
    r = train_and_compare(cfg)
    if out:
        write_json(out, r)
        if out == "-":
            return
    console.print(f"DP-SGD: epsilon {r['epsilon']:.3f} at delta {r['delta']:.2e} "
                  f"({r['accountant']} accountant, noise multiplier {r['noise_multiplier']:.3f}, "
                  f"{r['steps']} steps)")
    console.print(f"test accuracy: DP {r['accuracy_dp']:.3f}  non-DP {r['accuracy_non_dp']:.3f}  "
                  f"cost {r['accuracy_cost']:+.3f}  (n_test {r['n_test']})")


@dp_app.command("audit")
def dp_audit(
    config: Path = typer.Option(None, "--config", help="YAML config as for `dp train` (demo or CSV data)"),
    epsilon: float = typer.Option(None, "--epsilon", help="Target epsilon of the DP model"),
    epochs: int = typer.Option(None, help="Epochs"),
    canaries: int = typer.Option(200, min=8, help="Canaries, each inserted with probability 1/2"),
    claim: float = typer.Option(None, "--claim", help="Claimed epsilon to check (default: accountant's)"),
    confidence: float = typer.Option(0.95, min=0.5, max=0.9999, help="Confidence of the lower bound"),
    out: str = typer.Option(None, "--out", help="Write the result as JSON ('-' for stdout)"),
) -> None:
    """Bound epsilon empirically with a canary membership attack and compare it with the claim."""
    from ..audits.dp.audit import run_audit
    from ..audits.dp.train import load_config

    cfg = load_config(config, target_epsilon=epsilon, epochs=epochs)
    _threads()
    r = run_audit(cfg, canaries=canaries, confidence=confidence, claim_epsilon=claim, seed=cfg.seed)
    if out:
        write_json(out, r)
        if out == "-":
            return
    title = f"DP audit: {r['canaries']} canaries, {r['canaries_in']} inserted"
    table = Table("model", "claimed eps", "empirical eps (lower bound)", "point", "AUC", "TPR@1%FPR",
                  "test acc", "verdict", title=title)
    for name, m in r["models"].items():
        claimed = "-" if m["claimed_epsilon"] is None else f"{m['claimed_epsilon']:.2f}"
        emp = m["empirical"]
        table.add_row(name, claimed, f"{emp['epsilon_lower']:.3f}", f"{emp['epsilon_point']:.3f}",
                      f"{m['attack']['auc']:.3f}", f"{m['attack']['tpr_at_1pct_fpr']:.3f}",
                      f"{m['test_accuracy']:.3f}", m["verdict"])
    console.print(table)
