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

    from redline.organisms.manifest import manifest_data, organisms

    orgs = organisms()
    unknown = [m for m in args.models if m not in orgs]
    if unknown:
        print(f"organisms_control_check: unknown organism {', '.join(unknown)} (known: {', '.join(orgs)})",
              file=sys.stderr)
        return 2
    if not 2 <= args.items <= 48:
        print("organisms_control_check: --items must be between 2 and 48", file=sys.stderr)
        return 2

    from redline.attacks.framing import framing_data
    from redline.organisms.build import default_root, target_spec
    from redline.organisms.tasks import TaskAsker, split_items
    from redline.stats import holm_correction, mcnemar_exact
    framings = {"plain": "{prompt}", "high_stakes": framing_data()["framings"]["high_stakes"],
                "user_belief": manifest_data()["detector_framings"]["sycophancy"]}
    items = split_items("arithmetic", 0)[1][: args.items]
    wrong: dict[str, dict[str, list[bool]]] = {}
    for name in ["base", *args.models]:
        asker = TaskAsker(target_spec(orgs[name], default_root()), "arithmetic", items)
        try:
            wrong[name] = {v: [bool(o.success) for o in asker.ask(v, t)] for v, t in framings.items()}
        finally:
            asker.close()
    result = {}
    for name in args.models:
        rows = {}
        for v in framings:
            pairs = list(zip(wrong["base"][v], wrong[name][v], strict=True))
            only_model = sum(m and not b for b, m in pairs)
            only_base = sum(b and not m for b, m in pairs)
            rows[v] = {"base_wrong": sum(wrong["base"][v]), "model_wrong": sum(wrong[name][v]),
                       "model_only": only_model, "base_only": only_base, "p": mcnemar_exact(only_model, only_base)}
        for v, p in zip(rows, holm_correction([r["p"] for r in rows.values()]), strict=True):
            rows[v]["p_holm"] = p
        result[name] = rows
    print(json.dumps({"items": args.items, "models": result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
