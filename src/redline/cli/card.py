"""`redline card RUN`: a Markdown system card with model-index front matter and safety disclosures."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..errors import RedlineError
from ..policy.govern import to_markdown
from ..policy.model import load_policy, parse_safeguards
from ..report.card import judge_agreement, load_card_config, render_card
from ..report.data import build_data
from ..store.db import Store
from .app import DB_HELP, JUDGE_HELP, RUN_HELP, app, console, fail


def _governance(path: str | None) -> str | None:
    """`--govern FILE`: the JSON written by `redline govern --json` or Markdown from `--markdown`."""
    if not path:
        return None
    p = Path(path)
    if not p.is_file():
        fail(f"governance file {path!r} not found")
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".json":
        try:
            return to_markdown(json.loads(text))
        except (json.JSONDecodeError, KeyError, TypeError):
            fail(f"governance file {p.name} is not the JSON written by `redline govern --json`")
    return text.strip()


@app.command()
def card(
    run: str = typer.Argument(..., help=RUN_HELP),
    card_config: str = typer.Option(None, "--card-config", help="YAML with what only people can say"),
    output: str = typer.Option(
        "SYSTEM_CARD.md", "--output", "-o", help="Markdown file to write ('-' = stdout)"
    ),
    policy: str = typer.Option(
        None, "--policy", help="Policy YAML for the decision (default: redline-default)"
    ),
    safeguards: str = typer.Option(
        None, "--safeguards", help="Safeguards in place: a,b,c or a YAML/JSON file"
    ),
    mitigated_run: str = typer.Option(None, "--mitigated-run", help="Run measured under the safeguards"),
    govern: str = typer.Option(
        None, "--govern", help="Output of `redline govern` (JSON or Markdown) to include"
    ),
    judge: str = typer.Option(None, "--judge", help=JUDGE_HELP),
    db: str = typer.Option(None, help=DB_HELP),
) -> None:
    """Write the system card (Hugging Face model card format + safety disclosures)."""
    cfg = load_card_config(card_config)
    pol = load_policy(policy)
    declared = parse_safeguards(safeguards, pol)
    governance = _governance(govern)
    store = Store(db)
    try:
        data = build_data(
            store, run, pol, safeguards=declared, mitigated_run=mitigated_run, with_attempts=False, judge=judge
        )
        agreement = judge_agreement(store, data["run"]["judge"], cfg)
    finally:
        store.close()
    text = render_card(data, cfg, agreement, governance)
    if output == "-":
        typer.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise RedlineError(f"cannot write {output}: {exc.strerror or exc}") from None
    console.print(f"wrote {output} (decision: {data['gate']['decision']})")
