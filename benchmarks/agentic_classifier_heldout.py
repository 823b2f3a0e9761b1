"""The tool-output injection classifier (redline.agents.defences) on held-out texts it was not written against:
detection rate on injections unlike the five families, false-positive rate on urgent or imperative benign text.

    PYTHONPATH=src python benchmarks/agentic_classifier_heldout.py
"""

from __future__ import annotations

from pathlib import Path

import yaml

from redline.agents.defences import Defence, injection_score

DATA = Path(__file__).resolve().parents[1] / "src/redline/agents/data/heldout/classifier.yaml"


def main() -> None:
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    threshold = Defence("classifier").threshold
    for kind in ("injected", "benign"):
        flagged = [t for t in data[kind] if injection_score(t)[0] >= threshold]
        print(f"{kind}: flagged {len(flagged)}/{len(data[kind])}")


if __name__ == "__main__":
    main()
