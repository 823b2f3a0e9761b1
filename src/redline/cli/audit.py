"""`redline audit ...`: the sub-command group that bias, fairness and privacy audits add to."""

from __future__ import annotations

import typer

from .app import app

audit_app = typer.Typer(help="Bias, fairness and privacy audits.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
