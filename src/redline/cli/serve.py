"""`redline serve`: expose a target over the OpenAI chat-completions protocol on this machine."""

from __future__ import annotations

import typer

from .app import app, err_console


@app.command()
def serve(
    target: str = typer.Option("local", help="Target spec to serve"),
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)"),
    port: int = typer.Option(8000, help="Port"),
    model_name: str = typer.Option("redline-local", help="Model name reported to clients"),
    faults: str = typer.Option("ok", help="Comma-separated fault cycle for testing clients: ok,429,500,slow"),
) -> None:
    """Serve a target at http://HOST:PORT/v1/chat/completions (for testing remote backends)."""
    import uvicorn

    from ..serve import FaultPlan, create_app
    from ..targets import create_target

    allowed = {"ok", "429", "500", "slow"}
    plan = [f.strip() for f in faults.split(",") if f.strip()]
    bad = [f for f in plan if f not in allowed]
    if bad:
        raise typer.BadParameter(f"unknown fault {bad[0]!r} (ok, 429, 500, slow)")
    tgt = create_target(target, batch_size=1)
    err_console.print(f"serving {tgt.id} at http://{host}:{port}/v1")
    uvicorn.run(create_app(tgt, model_name, FaultPlan(plan)), host=host, port=port, log_level="warning")
