"""Harmful and harmless instruction sets: the interp data file, optionally plus the probe library."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from ..errors import ConfigError

DATA_FILE = Path(__file__).parent / "data" / "instructions.yaml"


def read_lines(path: str | Path) -> list[str]:
    """Prompts from a text file (one per line), a YAML list, or a YAML mapping's `prompts`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if p.suffix in (".yaml", ".yml"):
        data = yaml.safe_load(text)
        items = data.get("prompts", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ConfigError(f"{path}: expected a list of prompts")
        return [str(x).strip() for x in items if str(x).strip()]
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def instruction_sets(with_library: bool = False) -> tuple[list[str], list[str]]:
    """(harmful, harmless) instructions; the library adds refuse/comply behaviors of the built-in sets."""
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    harmful, harmless = list(data["harmful"]), list(data["harmless"])
    if with_library:
        from ..probes import builtin_probe_sets

        for probe_set in builtin_probe_sets().values():
            for b in probe_set.behaviors:
                if b.turns or b.options or b.references or b.context:
                    continue
                if b.expected == "comply":
                    harmless.append(b.goal)
                elif b.category in ("harmful_content", "dangerous_capability"):
                    harmful.append(b.goal)
    return list(dict.fromkeys(harmful)), list(dict.fromkeys(harmless))


def split(items: list[str], fraction: float, seed: int = 0) -> tuple[list[str], list[str]]:
    """A seeded (train, held-out) split; `fraction` goes to the held-out part."""
    order = list(items)
    random.Random(seed).shuffle(order)
    cut = max(1, int(round(len(order) * fraction)))
    return order[cut:], order[:cut]
