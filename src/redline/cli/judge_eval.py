"""`redline judge-eval`: measure a judge against human labels (agreement, FPR, FNR, kappa, 95% CIs)."""

from __future__ import annotations

import typer
from rich.table import Table

from .app import app, console, write_json


@app.command("judge-eval")
def judge_eval(
    data: str = typer.Option(..., "--data", help="Labelled file (CSV, or JSONL/JSON for generic)."),
    fmt: str = typer.Option("generic", "--format", help="jbb-judge | xstest-completions | generic"),
    judge: str = typer.Option(None, "--judge", help="Judge spec: offline, refusal, llm:SPEC, cascade:SPEC."),
    json_path: str = typer.Option(None, "--json", help="Write the metrics as JSON to this path ('-' = stdout)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No table."),
) -> None:
    """Measure a judge against human-labelled responses (positive class = complied / jailbroken)."""
    from ..judges import create_judge
    from ..judges.metaeval import evaluate, load_examples

    examples = load_examples(data, fmt)
    result = {"data": data, "format": fmt, **evaluate(create_judge(judge), examples)}
    if json_path:
        write_json(json_path, result)
    if quiet or json_path == "-":
        return
    table = Table(
        title=f"judge {result['judge']} vs human labels, {result['compared_with']} "
        f"({result['scored']} scored, {result['unscorable']} unscorable)"
    )
    for col in ("metric", "value", "95% CI", "count"):
        table.add_column(col)
    for prefix, block in (("", result), ("harm ", result.get("harm") or {})):
        for key in ("agreement", "fpr", "fnr"):
            m = block.get(key)
            if m:
                ci = f"[{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]"
                table.add_row(prefix + key, f"{m['value']:.3f}", ci, f"{m['k']}/{m['n']}")
        if "kappa" in block:
            k = block["kappa"]
            ci = f"[{k['ci95'][0]:.3f}, {k['ci95'][1]:.3f}]"
            table.add_row(prefix + "kappa", f"{k['value']:.3f}", ci, "bootstrap")
    console.print(table)
