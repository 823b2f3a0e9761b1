"""User-facing errors: the CLI turns every RedlineError into one line on stderr and exit code 2."""

from __future__ import annotations


class RedlineError(Exception):
    """An error caused by the user's input or environment, explained in one line."""

    exit_code = 2


class ConfigError(RedlineError):
    """A malformed spec, option, or data file."""


class TargetError(RedlineError):
    """A target could not be created or reached."""


class StoreError(RedlineError):
    """The results database cannot be opened, written, or migrated."""
