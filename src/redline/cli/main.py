"""Entry point: registers the command modules and turns user errors into one line and exit code 2."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click
import typer

from ..errors import RedlineError
from ..redaction import install_log_redaction, redact
from .app import app

try:  # typer >= 0.20 vendors its own copy of click
    from typer._click import exceptions as _tclick
except ImportError:  # pragma: no cover
    _tclick = click.exceptions

EXIT = (click.exceptions.Exit, typer.Exit)
ABORT = (click.exceptions.Abort, typer.Abort)
CLICK_ERRORS = (click.ClickException, _tclick.ClickException)

NOT_COMMANDS = {"app", "main", "tables"}


def _register() -> None:
    """Import every command module of this package: adding a command is adding one module."""
    from .. import cli

    for info in pkgutil.iter_modules(cli.__path__):
        if info.name not in NOT_COMMANDS and not info.name.startswith("_"):
            importlib.import_module(f"redline.cli.{info.name}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; never shows a traceback for bad input."""
    _register()
    install_log_redaction()
    try:
        result = app(args=argv, standalone_mode=False)
    except EXIT as exc:
        return exc.exit_code
    except ABORT:
        sys.stderr.write("redline: aborted\n")
        return 130
    except CLICK_ERRORS as exc:
        message = exc.format_message()
        if message:  # no-args-is-help has printed the help already
            sys.stderr.write(f"redline: error: {message}\n")
        return 2
    except RedlineError as exc:
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"redline: error: {redact(line)}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("redline: interrupted\n")
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
