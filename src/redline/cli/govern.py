"""`redline govern`: EU AI Act tier, training-compute thresholds and the NIST AI RMF mapping."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import RedlineError
from ..policy.govern import assess, load_questionnaire, to_markdown
from ..policy.model import load_policy
from ..report.data import build_data
from ..store.db import Store
from .app import DB_HELP, app, console, write_json


@app.command()
def govern(
    questionnaire: str = typer.Option(None, "--questionnaire", "-f", help="Questionnaire YAML"),
    system_name: str = typer.Option(None, help="Name of the system"),
    use_case: str = typer.Option(None, help="One-line description of the use case"),
    prohibited: list[str] = typer.Option(None, "--prohibited", help="Article 5 practice(s) the use involves"),
    annex_iii: list[str] = typer.Option(
        None, "--annex-iii", help="Annex III area(s): employment, education, ..."
    ),
    gpai: bool = typer.Option(None, "--gpai/--no-gpai", help="A general-purpose AI model"),
    compute: float = typer.Option(None, "--training-flop", help="Training compute in FLOP"),
    parameters: float = typer.Option(None, help="Parameter count (with --training-tokens: 6ND estimate)"),
    training_tokens: float = typer.Option(None, help="Training tokens"),
    run: str = typer.Option(
        None, "--run", help="Map a measured run (id, prefix, or 'last': the newest scan) to the NIST RMF"
    ),
    json_path: str = typer.Option(None, "--json", help="Write the assessment as JSON ('-' = stdout)"),
    markdown: str = typer.Option(None, "--markdown", help="Write the assessment as Markdown ('-' = stdout)"),
    db: str = typer.Option(None, help=DB_HELP),
) -> None:
    """Classify a use case under the EU AI Act, check compute thresholds, map NIST AI RMF functions."""
    q = load_questionnaire(
        questionnaire,
        {
            "system_name": system_name,
            "use_case": use_case,
            "prohibited_practices": prohibited,
            "annex_iii_areas": annex_iii,
            "general_purpose_model": gpai,
            "training_compute_flop": compute,
            "parameters": parameters,
            "training_tokens": training_tokens,
        },
    )
    measured = None
    if run:
        store = Store(db)
        try:
            measured = build_data(store, run, load_policy(), with_attempts=False)
        finally:
            store.close()
    result = assess(q, measured)
    md = to_markdown(result)
    if json_path:
        write_json(json_path, result)
    if markdown:
        if markdown == "-":
            typer.echo(md)
        else:
            try:
                Path(markdown).write_text(md + "\n", encoding="utf-8")
            except OSError as exc:
                raise RedlineError(f"cannot write {markdown}: {exc.strerror or exc}") from None
    if not json_path and not markdown:
        console.print(md, markup=False, highlight=False)
    elif json_path != "-" and markdown != "-":
        console.print(f"EU AI Act tier: {result['eu_ai_act']['tier']}")
