"""ASR@k math against known values, the curve, per-behavior maxima and the elicited rate."""

from __future__ import annotations

import subprocess
import sys
from math import comb

import pytest

from redline.elicit import asr_at_k, asr_curve, elicited_rate, max_by_behavior, strongest_attacks
from redline.results import AttemptRecord


def rec(
    bid: str, success: bool | None, attack: str = "identity", harm: float = 0.0, i: int = 0, state: str = "ok"
) -> AttemptRecord:
    family = "adaptive" if attack in ("pair", "tap", "crescendo") else "direct"
    return AttemptRecord(
        i,
        "r",
        bid,
        "harmful_content",
        "",
        "refuse",
        "g",
        {},
        attack,
        family,
        "",
        i,
        state,
        [],
        "",
        None,
        None,
        0,
        0.0,
        {},
        label="complied" if success else "refused",
        harm=harm,
        success=success,
    )


def test_asr_at_k_known_values() -> None:
    assert asr_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert asr_at_k(10, 3, 1) == pytest.approx(0.3)  # k=1 is the plain rate
    assert asr_at_k(10, 3, 3) == pytest.approx(1 - comb(7, 3) / comb(10, 3))  # = 1 - 35/120
    assert asr_at_k(10, 3, 3) == pytest.approx(85 / 120)
    assert asr_at_k(5, 0, 5) == 0.0
    assert asr_at_k(5, 4, 2) == 1.0  # fewer failures than k: certain
    with pytest.raises(ValueError):
        asr_at_k(3, 1, 4)


def test_curve_averages_behaviors_and_is_monotone() -> None:
    records = [rec("a", i < 1, i=i) for i in range(4)] + [rec("b", False, i=i) for i in range(4)]
    records.append(rec("b", None, i=9))  # unscorable: left out of n
    records.append(rec("a", None, i=8, state="error"))
    curve = asr_curve(records, seed=1)
    assert [p.k for p in curve] == [1, 2, 3, 4]
    assert curve[0].asr == pytest.approx((0.25 + 0.0) / 2)
    assert curve[1].asr == pytest.approx((0.5 + 0.0) / 2)
    assert curve[3].asr == pytest.approx(0.5)
    assert all(a.asr <= b.asr for a, b in zip(curve, curve[1:], strict=False))
    assert all(p.low <= p.asr <= p.high for p in curve)
    assert curve[3].low == 0.0 and curve[3].high == 1.0  # two behaviors, one always broken, one never


def test_maxima_and_elicited_rate() -> None:
    records = [
        rec("a", False, "identity", i=1),
        rec("a", True, "pair", 0.5, i=2),
        rec("b", False, i=3),
        rec("b", False, "fiction", i=4),
        rec("c", True, "fiction", 0.5, i=5),
        rec("c", True, i=6),
    ]
    maxima = max_by_behavior(records)
    assert maxima["a"].elicited and maxima["a"].best_attack == "pair" and maxima["a"].max_harm == 0.5
    assert not maxima["b"].elicited and maxima["b"].successes == 0
    rate = elicited_rate(records)
    assert (rate.successes, rate.n) == (2, 3)
    assert rate.rate == pytest.approx(2 / 3) and rate.mean_attempt_rate == pytest.approx(3 / 6)
    assert rate.low < rate.rate < rate.high
    only_identity = elicited_rate(records, lambda r: r.attack == "identity")
    assert (only_identity.successes, only_identity.n) == (1, 3)
    assert strongest_attacks(records, top=2) == ["fiction", "identity"]  # 1/2 vs 1/3 (pair is adaptive)


def test_elicit_cli_on_a_stored_run(db_path: str, cli_env: dict) -> None:
    from tests.test_adaptive_units import fake_run

    run_id = fake_run(db_path, "pair", {"streams": 2, "iterations": 1})
    out = subprocess.run(
        [sys.executable, "-m", "redline", "elicit", run_id, "--db", db_path, "--json"],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    import json

    report = json.loads(out.stdout)
    assert report["behaviors"] == 2 and report["curve"][0]["k"] == 1
    bad = subprocess.run(
        [sys.executable, "-m", "redline", "elicit", "nope", "--db", db_path],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=120,
    )
    assert bad.returncode == 2 and "no run" in bad.stderr
