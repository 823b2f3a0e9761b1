"""The user's YAML data files (policies, guard policies, campaigns, questionnaires): read into a mapping or a
validated model, with one line for every way such a file can be wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import ConfigError, invalid

M = TypeVar("M", bound=BaseModel)


def read_mapping(path: str | Path, what: str, *, empty_ok: bool = False) -> dict[str, Any]:
    """The top-level mapping of a YAML file (`what` names the file in errors, e.g. "guard policy")."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {p.name}: invalid YAML ({str(exc).splitlines()[0]})") from None
    if data is None and empty_ok:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {p.name}: expected a mapping at the top level")
    return data


def validated(model: type[M], data: dict[str, Any], where: str) -> M:
    """`model` validated from `data`; the first problem as one line (`where: field.path: message`)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(where, exc, "file") from None


def load_model(path: str | Path, model: type[M], what: str, *, empty_ok: bool = False) -> M:
    """A YAML file validated as `model`."""
    return validated(model, read_mapping(path, what, empty_ok=empty_ok), f"{what} {Path(path).name}")
