"""Counterfactual bias audit of LLM decisions (`redline audit bias`): paired profiles, scoring and ranking."""

from __future__ import annotations

from .audit import PROTOCOLS, BiasConfig, build_items, run_bias_audit
from .metrics import block_permutation_test, paired_effects, ranking_metrics, score_metrics
from .parsing import parse_choice, parse_score

__all__ = [
    "PROTOCOLS",
    "BiasConfig",
    "build_items",
    "run_bias_audit",
    "block_permutation_test",
    "paired_effects",
    "ranking_metrics",
    "score_metrics",
    "parse_choice",
    "parse_score",
]
