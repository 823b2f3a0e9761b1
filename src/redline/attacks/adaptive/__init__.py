"""Adaptive attacks: an attacker LLM proposes, the target answers, a judge scores, and the loop iterates.

Methods (registered in `methods`): `pair` (iterative refinement), `tap` (tree with pruning),
`crescendo` (multi-turn escalation). `run_attack` runs one over behaviors and stores every step.
"""

from .common import Budget, Context, LoopSettings, Trace, Usage, extract_prompt, methods, parse_rating
from .runner import AttackConfig, AttackRunResult, BehaviorOutcome, load_behaviors, run_attack

__all__ = [
    "AttackConfig",
    "AttackRunResult",
    "BehaviorOutcome",
    "Budget",
    "Context",
    "LoopSettings",
    "Trace",
    "Usage",
    "extract_prompt",
    "load_behaviors",
    "methods",
    "parse_rating",
    "run_attack",
]
