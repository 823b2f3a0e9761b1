"""`redline audit pii`: PII in a run's stored responses or in a text file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..store.db import Store
from .app import DB_HELP, console, fail, write_json
from .audit import audit_app


def _pii_file(path: Path, redacted: bool) -> dict:
    from ..audits.privacy.pii import detect, redact

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    found = detect(text)
    by_kind: dict[str, int] = {}
    for f in found:
        by_kind[f.kind] = by_kind.get(f.kind, 0) + 1
    out = {"file": str(path), "findings": [f.to_dict() for f in found], "by_kind": by_kind,
           "names": "unavailable (no local NER model)"}
    if redacted:
        out["redacted_text"] = redact(text)
    return out


@audit_app.command("pii")
def audit_pii(
    run: str = typer.Argument(None, help="Run id (or prefix, or 'last') whose responses to scan"),
    file: Path = typer.Option(None, "--file", help="Scan a text file instead of a run"),
    show_redacted: bool = typer.Option(False, "--redacted", help="With --file: print the redacted text"),
    db: str = typer.Option(None, help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Detect PII (emails, phones, SSNs, cards, IBANs, IPs, addresses) in a run's responses or a file."""
    if (run is None) == (file is None):
        fail("give either a RUN to scan or --file TEXT_FILE")
    if file is not None:
        result = _pii_file(file, show_redacted)
        if as_json:
            write_json("-", result)
            return
        table = Table("kind", "start", "end", "redacted", title=f"PII in {file}")
        for f in result["findings"]:
            table.add_row(f["kind"], str(f["start"]), str(f["end"]), f["redacted"])
        console.print(table)
        console.print(f"{len(result['findings'])} findings; person names: {result['names']}")
        if show_redacted:
            console.print(result["redacted_text"], markup=False, highlight=False)
        return
    from ..audits.privacy.pii import scan_run
    from ..results import resolve_run_id

    store = Store(db)
    try:
        result = scan_run(store, resolve_run_id(store, run))
    finally:
        store.close()
    if as_json:
        write_json("-", result)
        return
    console.print(
        f"run {result['run_id']}: {result['with_pii']}/{result['attempts']} responses contain PII, "
        f"{result['findings']} findings stored (detector 'pii'); person names: {result['names']}"
    )
    kinds = sorted(result["by_kind"])
    table = Table("category", *kinds, "total", title="PII findings by category and kind")
    for cat, counts in sorted(result["by_category"].items()):
        table.add_row(cat, *(str(counts.get(k, 0)) for k in kinds), str(sum(counts.values())))
    table.add_row("all", *(str(result["by_kind"][k]) for k in kinds), str(result["findings"]), style="bold")
    console.print(table)
