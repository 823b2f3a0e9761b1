"""Planning: behaviors x attacks x variants x samples -> a deterministic list of keyed work items."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ..attacks.base import Attack, AttackVariant
from ..errors import ConfigError
from ..probes.behavior import Behavior
from ..records import GenerationParams

AttemptKey = tuple[str, str, str, int]  # (behavior, attack, variant, sample); the run id completes it


@dataclass
class WorkItem:
    """One planned attempt."""

    behavior: Behavior
    attack: Attack
    variant: AttackVariant
    sample: int
    params: GenerationParams

    @property
    def key(self) -> AttemptKey:
        return (self.behavior.id, self.attack.spec, self.variant.variant, self.sample)


def derive_seed(run_seed: int, key: AttemptKey) -> int:
    """A per-attempt seed that depends only on the run seed and the attempt key."""
    digest = hashlib.sha256(json.dumps([run_seed, *key]).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def sample_params(
    sample: int, base_temperature: float, temperatures: list[float], max_new_tokens: int, seed: int
) -> GenerationParams:
    """Sample 0 uses the base temperature; later samples cycle through `temperatures` (best-of-N)."""
    temperature = base_temperature
    if sample > 0 and temperatures:
        temperature = temperatures[(sample - 1) % len(temperatures)]
    elif sample > 0 and base_temperature == 0:
        temperature = 0.7
    return GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)


def build_plan(
    behaviors: list[Behavior],
    attacks: list[Attack],
    samples: int = 1,
    *,
    seed: int = 0,
    temperature: float = 0.0,
    temperatures: list[float] | None = None,
    max_new_tokens: int = 128,
) -> list[WorkItem]:
    """Expand into work items in a stable order; the same inputs always give the same plan."""
    plan: list[WorkItem] = []
    seen: set[AttemptKey] = set()
    for behavior in behaviors:
        for attack in attacks:
            for variant in attack.variants(behavior):
                for sample in range(samples):
                    key = (behavior.id, attack.spec, variant.variant, sample)
                    if key in seen:
                        continue
                    seen.add(key)
                    params = sample_params(
                        sample, temperature, temperatures or [], max_new_tokens, derive_seed(seed, key)
                    )
                    plan.append(WorkItem(behavior, attack, variant, sample, params))
    return plan


def split_adaptive(attacks: list[Attack]) -> tuple[list[Attack], list[Attack]]:
    """Static attacks (planned as conversations) and adaptive ones (run with the target in the loop)."""
    adaptive = [a for a in attacks if getattr(a, "adaptive", False)]
    methods = [a.id for a in adaptive]
    twice = sorted({m for m in methods if methods.count(m) > 1})
    if twice:
        raise ConfigError(f"adaptive method {twice[0]!r} appears twice; a scan runs each method once")
    return [a for a in attacks if not getattr(a, "adaptive", False)], adaptive


def plan_hash(plan: list[WorkItem]) -> str:
    blob = json.dumps([list(item.key) for item in plan]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
