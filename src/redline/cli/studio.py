"""`redline studio`: the web workspace (probe, label, agreement, runs) on a results database."""

from __future__ import annotations

import os
import secrets

import typer

from .app import DB_HELP, app, err_console


@app.command()
def studio(
    db: str = typer.Option(None, help=DB_HELP),
    port: int = typer.Option(8501, help="Port"),
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default; elsewhere needs a token)"),
    target: list[str] = typer.Option(None, "--target", help="Target spec testers may probe (repeatable)"),
    token: bool = typer.Option(False, "--token", help="Require the access token on loopback too"),
) -> None:
    """Serve the studio at http://HOST:PORT (a token is required on every request when bound beyond loopback,
    or with --token; it is read from $REDLINE_STUDIO_TOKEN or generated and printed once)."""
    from ..errors import ConfigError
    from ..store.db import Store
    from ..targets.base import parse_target_spec, registry

    try:
        import uvicorn

        from ..studio.access import TOKEN_ENV, needs_token
        from ..studio.app import create_app
    except ImportError as exc:
        raise ConfigError(f"the studio needs the [studio] extra (pip install 'redline[studio]'): {exc}") from None
    specs = list(target or [])
    for spec in specs:
        registry.get(parse_target_spec(spec).kind)  # malformed specs, unknown kinds, inline secrets: refused now
    secret = None
    if needs_token(host, token):
        secret = os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(24)
    store = Store(db)
    where = f"http://{host}:{port}/"
    if secret and not os.environ.get(TOKEN_ENV):
        err_console.print(f"studio at {where}?token={secret}  (printed once; needed on every request)")
    else:
        err_console.print(f"studio at {where}" + ("  (token from $" + TOKEN_ENV + ")" if secret else ""))
    try:
        uvicorn.run(create_app(store, specs, secret), host=host, port=port, log_level="warning")
    finally:
        store.close()
