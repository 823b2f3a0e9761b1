"""`redline guard`: serve the runtime guard in front of any target (OpenAI-compatible)."""

from __future__ import annotations

import typer

from .app import app, err_console


@app.command()
def guard(
    upstream: str = typer.Option(..., "--upstream", help="Target spec to guard (local, openai:..., python:...)"),
    policy: str = typer.Option(None, "--policy", help="Guard policy YAML (default: the packaged one)"),
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)"),
    port: int = typer.Option(8080, help="Port"),
    log: str = typer.Option(None, "--log", help="Append every rail decision to this JSON-lines file"),
    db: str = typer.Option(None, "--db", help="Also record every decision in this store (a run of kind guard)"),
    model_name: str = typer.Option("redline-guard", help="Model name reported to clients"),
) -> None:
    """Serve http://HOST:PORT/v1/chat/completions with input, output and conversation rails around UPSTREAM."""
    from ..errors import ConfigError

    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise ConfigError("redline guard needs starlette and uvicorn: pip install 'redline[serve]'") from None
    from ..guard.engine import Guard
    from ..guard.policy import load_guard_policy
    from ..guard.server import create_guard_app
    from ..targets import create_target, parse_target_spec

    pol = load_guard_policy(policy)
    if parse_target_spec(upstream).kind == "guard":
        raise ConfigError("--upstream is the model to guard; a guard: spec there would guard twice")
    tgt = create_target(upstream, batch_size=1)
    store = None
    if db:
        from ..guard.record import DecisionStore

        store = DecisionStore(db, upstream, pol)
    g = Guard(pol, log=log, store=store)
    where = f"; decisions in run {store.run_id}" if store else ""
    err_console.print(f"guarding {tgt.id} with policy {pol.name} ({pol.digest()}) at http://{host}:{port}/v1{where}")
    try:
        uvicorn.run(create_guard_app(g, tgt, model_name), host=host, port=port, log_level="warning")
    finally:
        g.close()
        tgt.close()
