"""Secrets never leave the environment: one rule for what counts as a secret in a spec, one redaction rule
for anything that looks like a key in stored configs, errors and logs."""

from __future__ import annotations

import logging
import re
from typing import Any

SECRET_OPTIONS = frozenset({"api_key", "apikey", "key", "token", "access_token", "password", "secret", "auth"})
KEY_PATTERN = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-]{16,}"  # OpenAI-style keys
    r"|hf_[A-Za-z0-9]{20,}"  # Hugging Face tokens
    r"|gh[pousr]_[A-Za-z0-9]{20,}"  # GitHub tokens
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}"  # Slack tokens
    r"|AKIA[0-9A-Z]{16}"  # AWS access key ids
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"  # JWTs
    r"|(?<=Bearer )[A-Za-z0-9._\-]{12,}"
)
REDACTED = "[redacted]"
_LITERALS: set[str] = set()  # secrets known by value (a cluster token read from its file), not by shape


def add_secret(value: str) -> None:
    """Redact this exact value everywhere from now on (values shorter than 12 characters are ignored)."""
    if len(value) >= 12:
        _LITERALS.add(value)


def looks_like_secret(text: str) -> bool:
    """Whether `text` contains something shaped like an API key or token, or a known secret."""
    return bool(KEY_PATTERN.search(text)) or any(v in text for v in _LITERALS)


def redact(text: str) -> str:
    """`text` with every key-shaped substring and every known secret replaced by `[redacted]`."""
    for value in _LITERALS:
        text = text.replace(value, REDACTED)
    return KEY_PATTERN.sub(REDACTED, text)


def redact_data(value: Any) -> Any:
    """A JSON-like value with every string redacted (dict keys kept)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


def secret_option_error(spec: str, options: dict[str, str]) -> str | None:
    """Why a spec must be refused (a secret given inline), or None. The message never repeats the secret."""
    named = sorted(SECRET_OPTIONS & {k.lower() for k in options})
    if named:
        return (
            f"option {named[0]!r} would put a secret in a spec (command lines, stored configs and logs keep "
            "specs); set it in an environment variable and name it with ;key_env=VAR"
        )
    if looks_like_secret(spec):
        return "the spec contains something that looks like an API key; keys come from the environment (;key_env=VAR)"
    return None


class RedactingFilter(logging.Filter):
    """A logging filter that redacts key-shaped text from every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_redaction() -> None:
    """Redact key-shaped text in every record that reaches the root logger's handlers."""
    for handler in logging.getLogger().handlers or []:
        handler.addFilter(RedactingFilter())
    logging.getLogger("redline").addFilter(RedactingFilter())
