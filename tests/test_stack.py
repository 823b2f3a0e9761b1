"""`redline elicit --stack` as one scan: a run's strongest static attacks plus adaptive methods, planned in the
library and run (static and adaptive parts) by the scan engine."""

from __future__ import annotations

import json
import subprocess
import sys

from redline.engine.scan import make_plan
from redline.engine.stack import stack_config
from redline.probes.behavior import builtin_probe_sets
from redline.store import Store
from redline.store.queries import get_run, load_attempts
from test_metrics import TARGET, scanned  # noqa: F401 - the fixture

ROLE = "python:tests.test_metrics:coin_target"
PAIR = f"pair:streams=1,iterations=1,attacker={ROLE},judge={ROLE},attacker_tokens=8,judge_tokens=4"


def test_stack_plans_static_and_adaptive_attacks_in_one_scan(scanned) -> None:  # noqa: F811
    store, source = scanned
    config = stack_config(store, source, "starter", TARGET, [PAIR], top=1, max_queries=3)
    assert config.attacks[0] in ("identity", "roleplay") and config.attacks[1] == f"{PAIR},max_queries=3"
    assert [b.id for b in config.behaviors] == [b.id for b in builtin_probe_sets()["starter"].behaviors]
    plan = make_plan(config)
    assert [a.id for a in plan.adaptive] == ["pair"] and plan.items


def test_elicit_stack_cli_stores_both_parts(scanned, db_path, cli_env) -> None:  # noqa: F811
    _, source = scanned
    out = subprocess.run(
        [sys.executable, "-m", "redline", "elicit", source, "--stack", "--behaviors", "starter", "--target", TARGET,
         "--method", PAIR, "--top", "1", "--max-queries", "2", "--max-new-tokens", "8", "--db", db_path, "--json"],
        env=cli_env, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    store = Store(db_path)
    run = get_run(store, report["run_id"])
    families = {r.family for r in load_attempts(store, run.id)}
    assert run.kind == "scan" and run.status == "complete" and run.id != source
    assert "adaptive" in families and len(families) == 2


def test_behaviors_in_memory_are_stored_with_the_run_and_resume(db_path) -> None:
    from redline import scan
    from redline.engine.scan import run_scan
    from redline.probes.behavior import Behavior

    behaviors = [Behavior(id=f"m{i}", goal=f"Say something about topic {i}.", category="harmful_content")
                 for i in range(4)]
    result = scan(target=TARGET, db=db_path, behaviors=behaviors, attacks=["identity"], judge="refusal")
    assert result.summary["attempts"] == 4 and result.summary["suite"] == "inline"
    assert set(result.summary["metrics"]) == {"attack_success"} and "throughput" in result.summary
    again = run_scan(resume=result.run_id, db=db_path)
    assert again.stats.executed == 0 and again.stats.already_done == 4
    assert again.summary["metrics"] == result.summary["metrics"]
