"""Targets: the models under test, chosen by a spec string (`local`, `openai:...`, `python:...`, `guard:UPSTREAM`)."""

from .base import AsyncTarget, BaseAsyncTarget, Target, TargetSpec, create_target, parse_target_spec, registry

__all__ = [
    "AsyncTarget",
    "BaseAsyncTarget",
    "Target",
    "TargetSpec",
    "create_target",
    "parse_target_spec",
    "registry",
]
