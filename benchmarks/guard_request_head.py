"""The guard's input rails on the measured sample's prompts, before and after the look-alike request head.

Before: the `offline@2` judge's request head, request_harm 0.9 / jailbreak 0.8 (the previous default policy).
After: the guard's own head (scripts/build_guard.py, the sample held out) at the packaged policy's thresholds.
Reads each of the sample's 168 prompts (84 behaviors x identity / developer-mode role-play) through
`Guard.check_input` only (no upstream, no judge) and prints the share blocked at the input for harmful
behaviors and for benign look-alikes. One run; the sample was never used to build the head or choose its
thresholds, so this is a held-out reading of the input rails alone (the scan in docs/guard.md is end to end).
Usage: python benchmarks/guard_request_head.py [--suite /work/runs/std_sample.yaml]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from redline.attacks.base import create_attack
from redline.guard.classify import Readings
from redline.guard.engine import Guard
from redline.guard.policy import GuardPolicy, load_guard_policy
from redline.judges.features import EMB
from redline.judges.offline import H
from redline.probes.suites import get_suite
from redline.records import conversation_to_dicts


class JudgeHeadReadings(Readings):
    """The previous guard's request reading: the offline@2 judge's request head."""

    def request_harm(self, texts: list[str]) -> list[float]:
        from redline.judges.embed import goal_vectors

        if not texts:
            return []
        vecs = goal_vectors(list(texts)).astype(np.float64)
        w, b = self.model.w["request"], self.model.b["request"]
        return [float(x) for x in 1 / (1 + np.exp(-(vecs[:, :EMB] @ w[H : H + EMB] + b)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="/work/runs/std_sample.yaml")
    args = ap.parse_args()
    suite = get_suite(args.suite)
    old_policy = GuardPolicy.model_validate({"rails": {"request_harm": {"threshold": 0.9},
                                                       "jailbreak": {"threshold": 0.8}}})
    guards = {"before (offline@2 head, 0.9/0.8)": Guard(old_policy, JudgeHeadReadings()),
              "after (look-alike head)": Guard(load_guard_policy(), Readings())}
    prompts = []
    for spec in suite.attacks:
        attack = create_attack(spec)
        for b in suite.behaviors():
            for v in attack.variants(b):
                prompts.append((b, spec, conversation_to_dicts(v.conversation)))
    out = {}
    for name, guard in guards.items():
        rows: dict[str, list[int]] = {}
        for b, spec, msgs in prompts:
            blocked = guard.check_input(msgs, f"{b.id}|{spec}").blocked  # one conversation per prompt
            group = "benign look-alike" if b.category == "over_refusal" else (
                "hallucination" if b.category == "hallucination" else "harmful")
            for key in (group, f"{group} | {spec}"):
                rows.setdefault(key, []).append(int(blocked))
        out[name] = {k: f"{100 * sum(v) / len(v):.1f} % ({sum(v)}/{len(v)})" for k, v in sorted(rows.items())}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
