"""Adaptive attack methods: an attacker LLM proposes, the target answers, a judge scores, the loop iterates.

Methods (registered in `methods`): `pair` (iterative refinement), `tap` (tree with pruning),
`crescendo` (multi-turn escalation), with their prompts and one settings model. No storage here: the
engine (`engine/adaptive.py`) runs them and hands each trace the run's recorder.
"""

from .common import Budget, Context, Trace, Usage, extract_prompt, methods, parse_rating
from .settings import BUDGET_FIELDS, AdaptiveSettings, method_params

__all__ = [
    "BUDGET_FIELDS",
    "AdaptiveSettings",
    "Budget",
    "Context",
    "Trace",
    "Usage",
    "extract_prompt",
    "method_params",
    "methods",
    "parse_rating",
]
