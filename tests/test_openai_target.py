"""The openai backend against a real chat-completions server on 127.0.0.1 serving the embedded model,
with injected 429/500/slow faults to exercise retries, backoff and Retry-After."""

from __future__ import annotations

import random

import pytest

from redline.engine.scan import ScanConfig, run_scan
from redline.errors import TargetError
from redline.records import GenerationParams, user
from redline.results import load_attempts
from redline.serve import BackgroundServer, FaultPlan, create_app
from redline.store import Store
from redline.targets import create_target
from redline.targets.openai import retry_delay

pytestmark = pytest.mark.slow
PARAMS = GenerationParams(max_new_tokens=12)


def test_retry_delay_honours_the_server_delay_else_full_jitter():
    rng = random.Random(0)
    assert retry_delay(0, 0.5, 20, rng, 3.0) == 3.0
    assert retry_delay(5, 0.5, 20, rng, 120.0) == 120.0  # the Retry-After cap is the target's (max_retry_after)
    delays = [retry_delay(3, 0.5, 20, rng) for _ in range(200)]
    assert 0 <= min(delays) and max(delays) <= 4.0 and len(set(delays)) > 100  # full jitter


def test_generates_through_http_with_faults(embedded_target):
    faults = FaultPlan(["429", "500", "ok", "ok"], retry_after="0")
    with BackgroundServer(create_app(embedded_target, "smol", faults)) as server:
        opts = "backoff_base=0.01;max_retries=4;concurrency=2;timeout=600"
        target = create_target(f"openai:smol@{server.base_url};{opts}")
        gens = target.generate([[user("Say hello.")], [user("Name a colour.")]], PARAMS)
    assert all(g.ok and g.text for g in gens), [g.error for g in gens]
    assert faults.served.count("429") >= 1 and faults.served.count("500") >= 1
    assert sum(g.extra.get("retries", 0) for g in gens) >= 1


def test_persistent_errors_and_timeouts_become_error_attempts(embedded_target, db_path, tmp_path):
    data = tmp_path / "b.jsonl"
    data.write_text('{"goal": "Say hi."}\n{"goal": "Count to three."}\n')
    with BackgroundServer(create_app(embedded_target, "smol", FaultPlan(["500"]))) as server:
        spec = f"openai:smol@{server.base_url};backoff_base=0.01;max_retries=2"
        config = ScanConfig(target=spec, behaviors_file=str(data), judge="refusal", attacks=["identity"])
        result = run_scan(config, db=db_path)
    records = load_attempts(Store(db_path), result.run_id)
    assert len(records) == 2 and all(r.state == "error" and "HTTP 500" in r.error for r in records)
    with BackgroundServer(create_app(embedded_target, "smol", FaultPlan(["slow"], slow_s=3))) as server:
        target = create_target(f"openai:smol@{server.base_url};timeout=0.5;max_retries=1;backoff_base=0.01")
        gens = target.generate([[user("hi")]], PARAMS)
    assert not gens[0].ok and "Timeout" in gens[0].error


def test_scan_over_http_stores_results(embedded_target, db_path):
    from pathlib import Path

    data = Path(__file__).parent / "data" / "behaviors_small.jsonl"
    with BackgroundServer(create_app(embedded_target, "smol")) as server:
        spec = f"openai:smol@{server.base_url};timeout=600"  # the server runs one generation at a time
        result = run_scan(ScanConfig(target=spec, behaviors_file=str(data), judge="refusal", max_new_tokens=16,
                                      attacks=["identity"]),
                          db=db_path, concurrency=3)
    records = load_attempts(Store(db_path), result.run_id)
    assert len(records) == 6
    assert all(r.state == "ok" for r in records), [(r.behavior_id, r.state, r.error) for r in records]


def test_unreachable_endpoint_is_a_clear_error():
    with pytest.raises(TargetError, match="unreachable"):
        create_target("openai:m@http://127.0.0.1:9/v1")
