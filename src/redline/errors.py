"""User-facing errors: the CLI turns every RedlineError into one line on stderr and exit code 2."""

from __future__ import annotations

from typing import Any


class RedlineError(Exception):
    """An error caused by the user's input or environment, explained in one line."""

    exit_code = 2


class ConfigError(RedlineError):
    """A malformed spec, option, or data file."""


class TargetError(RedlineError):
    """A target could not be created or reached."""


class StoreError(RedlineError):
    """The results database cannot be opened, written, or migrated."""


def invalid(where: str, exc: Any, default_loc: str = "") -> ConfigError:
    """One line for the first problem a pydantic `ValidationError` reports: `where: field.path: message`."""
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"]) or default_loc
    return ConfigError(f"{where}: {loc}: {err['msg']}".splitlines()[0])
