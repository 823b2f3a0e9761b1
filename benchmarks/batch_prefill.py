"""Prompt tokens a `local` target computes for a suite, with plain length batching vs turn-aware batching.

Usage: python benchmarks/batch_prefill.py [--suite full] [--batch-size 32] [--attack SPEC ...]
The `local` target runs a prefix that every row of a batch shares (the chat template, a many-shot attack's
fabricated turns) once per batch and reuses its KV cache; a batch that mixes items with different earlier turns
shares almost nothing. For each batching this prints the prompt tokens the target feeds the model (shared
prefix once per batch + every row's own tokens), counted exactly with the embedded model's tokenizer, and the
ratio. Prefill time on CPU is close to proportional to these tokens at these lengths (a count, so the ratio
does not depend on the machine's load).
"""

from __future__ import annotations

import argparse

from redline.engine.execute import group_by_decoding
from redline.engine.plan import WorkItem
from redline.engine.scan import ScanConfig, make_plan, plan_batches
from redline.targets import create_target
from redline.targets.local import MIN_SHARED_PREFIX, shared_prefix


def length_batches(items: list[WorkItem], size: int) -> list[list[WorkItem]]:
    """The batching before turn-aware batching: shortest conversations first, cut every `size` items."""
    out: list[list[WorkItem]] = []
    for group in group_by_decoding(items):
        group = sorted(group, key=lambda it: sum(len(m.content) for m in it.variant.conversation))
        out += [group[i : i + size] for i in range(0, len(group), size)]
    return out


def computed_tokens(target, batches: list[list[WorkItem]]) -> tuple[int, int]:
    """(prompt tokens computed with prefix reuse, prompt tokens in all rows)."""
    computed = total = 0
    for batch in batches:
        ids = [target.encode(it.variant.conversation) for it in batch]
        prefix = shared_prefix(ids) if len(ids) > 1 else []
        shared = len(prefix) if len(prefix) >= MIN_SHARED_PREFIX else 0
        computed += shared + sum(len(p) - shared for p in ids)
        total += sum(len(p) for p in ids)
    return computed, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="full")
    parser.add_argument("--attack", action="append", help="attack spec(s), default: the suite's")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    plan = make_plan(ScanConfig(target="local", suite=args.suite, attacks=args.attack, max_new_tokens=1))
    target = create_target("local")
    rows = {}
    for name, batches in (
        ("length", length_batches(plan.items, args.batch_size)),
        ("turn-aware", plan_batches(plan.items, args.batch_size)),
    ):
        computed, total = computed_tokens(target, batches)
        rows[name] = computed
        print(f"{name:11s} batches={len(batches):5d} prompt tokens in rows={total:10,d} computed={computed:10,d}")
    print(f"turn-aware / length computed prompt tokens: {rows['turn-aware'] / rows['length']:.3f}")


if __name__ == "__main__":
    main()
