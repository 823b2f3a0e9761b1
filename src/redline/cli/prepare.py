"""`redline prepare`: one-time conversion of the embedded model so later loads take seconds."""

from __future__ import annotations

import time

import typer

from .app import app, console


@app.command()
def prepare(target: str = typer.Option("local", help="Local target spec to prepare")) -> None:
    """Load (and cache a converted copy of) a local model, then print how long it took."""
    from ..targets import create_target

    start = time.perf_counter()
    tgt = create_target(target, batch_size=1)
    console.print(f"prepared {tgt.id} in {time.perf_counter() - start:.1f}s")
