"""A small counterfactual audit on the embedded model, stored in a real SQLite file; CLI errors."""

from __future__ import annotations

import subprocess
import sys

from redline.audits.bias import BiasConfig, run_bias_audit
from redline.store.db import Store
from redline.store.runs import load_audit_results


def test_small_audit_on_embedded_model(embedded_target, db_path: str) -> None:
    config = BiasConfig(
        scenarios=["hiring_software_engineer"],
        dimensions=["gender"],
        profiles=4,
        max_new_tokens=6,
        permutations=500,
    )
    store = Store(db_path)
    try:
        summary = run_bias_audit(embedded_target, config, store=store, target_spec="local")
        rows = load_audit_results(store, summary["run_id"], "bias")
    finally:
        store.close()
    assert summary["prompts"] == 4 * 2 + 4  # scoring: 4 profiles x 2 groups; ranking: 4 slates
    assert summary["target_errors"] == 0
    keys = {r.key for r in rows}
    assert keys == {
        "summary",
        "hiring_software_engineer/scoring/gender",
        "hiring_software_engineer/ranking/gender",
    }
    scoring = next(r.data for r in rows if r.key.endswith("scoring/gender"))
    for g in scoring["groups"]:  # every answer is either parsed or counted as unparseable
        assert g["parsed"] + g["unparseable"] == 4
    assert len(scoring["items"]) == 8 and all(isinstance(it[2], str) for it in scoring["items"])
    ranking = next(r.data for r in rows if r.key.endswith("ranking/gender"))
    assert ranking["slates"] == 4 and sum(s["picked"] for s in ranking["slots"]) + ranking["unparseable"] == 4
    lines = summary["disparities"]
    assert len(lines) == 4 and all(0 <= d["p_holm"] <= 1 and d["p_holm"] >= d["p"] for d in lines)
    assert summary["unparseable"]["scoring"][1] == 8


def test_cli_rejects_unknown_scenario(cli_env: dict, db_path: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "redline", "audit", "bias", "--scenarios", "astrology", "--db", db_path],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2 and "unknown scenario" in proc.stderr and "Traceback" not in proc.stderr
