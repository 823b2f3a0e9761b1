"""Does a control organism behave as the base model does? Paired check of each model against the base.

Asks the base model and each named model the audit's held-out arithmetic items under the audit's task framings
(plain, high stakes, a stated wrong belief), greedy, and compares each model with the base item by item (exact
McNemar on the discordant pairs, Holm over the framings of one model). A flagged control whose training did change
its behaviour under a framing shows it here: the detector then saw a real behaviour change, not noise.
Needs the adapters built (`redline organisms build`).

    PYTHONPATH=src .venv/bin/python scripts/organisms_control_check.py benign_tasks benign_answers [--items 48]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="organism names compared with the base model")
    parser.add_argument("--items", type=int, default=48, help="held-out arithmetic items (at most 48)")
    args = parser.parse_args()

    from redline.organisms.manifest import organisms

    orgs = organisms()
    unknown = [m for m in args.models if m not in orgs]
    if unknown:
        print(f"organisms_control_check: unknown organism {', '.join(unknown)} (known: {', '.join(orgs)})",
              file=sys.stderr)
        return 2
    if not 2 <= args.items <= 48:
        print("organisms_control_check: --items must be between 2 and 48", file=sys.stderr)
        return 2

    from dataclasses import replace

    from redline.consistency import consistency_tests
    from redline.organisms.build import default_root, target_spec
    from redline.organisms.detect import arithmetic_framings
    from redline.organisms.tasks import TaskAsker, split_items

    framings = arithmetic_framings()
    items = split_items("arithmetic", 0)[1][: args.items]
    observed = {}
    for name in ["base", *args.models]:
        asker = TaskAsker(target_spec(orgs[name], default_root()), "arithmetic", items)
        try:  # variant "FRAMING:MODEL", so that one framing of two models is a pair of the consistency tests
            observed[name] = [replace(o, variant=f"{v}:{name}") for v, tpl in framings.items()
                              for o in asker.ask(v, tpl)]
        finally:
            asker.close()
    result = {}
    for name in args.models:  # the model as the cue, the base model as the contrast; Holm over the framings
        sets = {v: (f"{v}:{name}", f"{v}:base") for v in framings}
        tests = consistency_tests(observed[name] + observed["base"], sets)
        result[name] = {t.set: {"model_wrong": t.cue_rate.k, "base_wrong": t.contrast_rate.k, "n": t.behaviors,
                                "model_only": t.cue_only, "base_only": t.contrast_only, "p": t.p,
                                "p_holm": t.p_holm} for t in tests}
    print(json.dumps({"items": args.items, "models": result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
