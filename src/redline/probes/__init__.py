"""Behavior sets as data files, loaders for public dataset formats, and suites."""

from .behavior import CATEGORIES, Behavior, ProbeSet, builtin_probe_sets
from .suites import Suite, builtin_suites, get_suite

__all__ = ["CATEGORIES", "Behavior", "ProbeSet", "Suite", "builtin_probe_sets", "builtin_suites", "get_suite"]
