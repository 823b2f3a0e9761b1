"""`redline elicit --stack`: one scan of the elicit suite with a run's strongest static attacks and adaptive
methods stacked on top (the scan engine runs both parts, so the stack resumes like any scan)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..attacks.base import create_attack
from ..elicit import strongest_attacks
from ..errors import ConfigError
from ..probes.behavior import builtin_probe_sets
from ..store.db import Store
from ..store.queries import load_attempts, resolve_run_id
from .scan import ScanConfig, ScanResult, run_scan


def _with_budget(spec: str, max_queries: int) -> str:
    """The adaptive attack spec with a per-behavior query budget, unless the spec sets its own."""
    attack = create_attack(spec)
    if not getattr(attack, "adaptive", False):
        raise ConfigError(f"--method {spec!r} is not an adaptive method (pair, tap, crescendo)")
    if attack.params.get("max_queries") is not None:
        return spec
    return f"{spec}{',' if ':' in spec else ':'}max_queries={max_queries}"


def stack_config(
    store: Store,
    source: str,
    behaviors: str,
    target: str,
    methods: list[str],
    *,
    top: int = 3,
    samples: int | None = None,
    max_queries: int = 12,
    max_new_tokens: int | None = None,
) -> ScanConfig:
    """The stacked scan: `behaviors` (a probe set name or file) under the strongest static attacks of
    `source` (`identity` if it has none) followed by the adaptive `methods`."""
    attacks = strongest_attacks(load_attempts(store, resolve_run_id(store, source)), top) or ["identity"]
    attacks += [_with_budget(spec, max_queries) for spec in methods]
    sets = builtin_probe_sets()
    if behaviors in sets:
        chosen: dict = {"behaviors": list(sets[behaviors].behaviors)}
    elif Path(behaviors).exists():
        chosen = {"behaviors_file": behaviors}
    else:
        raise ConfigError(f"--behaviors {behaviors!r} is neither a probe set ({', '.join(sorted(sets))}) nor a file")
    return ScanConfig(
        target=target, suite="elicit", attacks=attacks, samples=samples, max_new_tokens=max_new_tokens, **chosen
    )


def stack_run(
    db: str | None,
    source: str,
    behaviors: str,
    target: str,
    methods: list[str],
    *,
    on_plan: Callable[[list[str]], None] | None = None,
    **options: int | None,
) -> ScanResult:
    """Plan the stacked scan from `source` (see `stack_config`) and run it into a new scan run."""
    store = Store(db)
    try:
        config = stack_config(store, source, behaviors, target, methods, **options)
    finally:
        store.close()
    if on_plan:
        on_plan(config.attacks or [])
    return run_scan(config, db=db)
