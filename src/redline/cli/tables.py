"""Rich tables for run summaries."""

from __future__ import annotations

from rich.table import Table

from .app import pct


def _interval(cell: dict) -> str:
    if cell.get("asr") is None:
        return "-"
    return f"{pct(cell['asr'])} [{pct(cell['asr_low'])}, {pct(cell['asr_high'])}]"


def summary_table(title: str, cells: dict[str, dict], first: str) -> Table:
    """One row per group: attempts, failure rate (ASR) with its interval, refusal rate, harmless compliance
    (complied with a harmful request but no harmful content), errors."""
    table = Table(title=title, title_justify="left")
    table.add_column(first)
    table.add_column("metric")
    table.add_column("attempts", justify="right")
    table.add_column("ASR [95% CI]", justify="right")
    table.add_column("refusal", justify="right")
    table.add_column("harmless", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("unscorable", justify="right")
    for name, cell in cells.items():
        table.add_row(
            name,
            cell["metric"],
            str(cell["attempts"]),
            _interval(cell),
            pct(cell.get("refusal_rate")),
            str(cell.get("harmless_compliance", 0)),
            str(cell["errors"]),
            str(cell["unscorable"]),
        )
    return table
