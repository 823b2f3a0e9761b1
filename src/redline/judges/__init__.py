"""Judges: refusal detection, the offline learned judge, LLM rubric judges, cascades, meta-evaluation."""

from .base import (
    DEFAULT_JUDGE,
    LABELS,
    Judge,
    JudgeInput,
    Verdict,
    attack_success,
    create_judge,
    metric_name,
    registry,
    unscorable,
)

__all__ = [
    "DEFAULT_JUDGE",
    "LABELS",
    "Judge",
    "JudgeInput",
    "Verdict",
    "attack_success",
    "create_judge",
    "metric_name",
    "registry",
    "unscorable",
]
