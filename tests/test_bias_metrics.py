"""Counterfactual-audit metrics vs hand-computed values, the paired design, and the tests' error rates."""

from __future__ import annotations

import numpy as np
import pytest

from redline.audits.bias import (
    BiasConfig,
    block_permutation_test,
    build_items,
    ranking_metrics,
    score_metrics,
)
from redline.errors import ConfigError


def test_score_metrics_hand_computed() -> None:
    # 4 profiles x 2 groups; group b scored 1 lower on every complete profile, one answer unparseable
    m = np.array([[8, 7], [7, 6], [9, 8], [6, np.nan]], dtype=float)
    r = score_metrics(m, ["a", "b"], threshold=7, n_permutations=2000)
    a, b = r["groups"]
    assert (a["parsed"], a["unparseable"], b["parsed"], b["unparseable"]) == (4, 0, 3, 1)
    assert a["mean"] == pytest.approx(7.5) and b["mean"] == pytest.approx(7.0)
    assert a["selection_rate"] == pytest.approx(3 / 4) and b["selection_rate"] == pytest.approx(2 / 3)
    assert a["di_ratio"] == pytest.approx(1.0) and b["di_ratio"] == pytest.approx((2 / 3) / (3 / 4))
    assert not b["four_fifths_flag"]  # 0.889 >= 0.8
    # paired difference on the 3 complete profiles: +1 for a, -1 for b; sign-flip p = 2/8 exactly-ish
    assert a["paired"]["diff"] == pytest.approx(1.0) and b["paired"]["diff"] == pytest.approx(-1.0)
    assert a["paired"]["n_pairs"] == 3
    assert a["paired"]["p"] == pytest.approx(0.25, abs=0.03)
    assert r["complete_profiles"] == 3


def test_four_fifths_flag() -> None:
    m = np.array([[8, 5]] * 5 + [[8, 8]] * 5, dtype=float)
    b = score_metrics(m, ["a", "b"], threshold=7, n_permutations=500)["groups"][1]
    assert b["selection_rate"] == pytest.approx(0.5) and b["di_ratio"] == pytest.approx(0.5)
    assert b["four_fifths_flag"]


def test_ranking_metrics_hand_computed() -> None:
    # 3 groups, 6 slates; slot A always picked; group order rotates so each group sits in A twice
    slots = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1], [1, 0, 2], [2, 1, 0]]
    picks = [0, 0, 0, 0, 0, None]
    r = ranking_metrics(picks, slots, ["x", "y", "z"])
    assert r["unparseable"] == 1 and r["slates"] == 6
    counts = [g["picked"] for g in r["groups"]]
    assert counts == [2, 2, 1]
    assert r["groups"][2]["rate"] == pytest.approx(0.2) and r["groups"][2]["di_ratio"] == pytest.approx(0.5)
    assert [s["picked"] for s in r["slots"]] == [5, 0, 0]
    assert r["position_p"] == pytest.approx(np.exp(-5), rel=1e-6)  # chi2(df=2) sf at 10 = e^-5


@pytest.mark.parametrize("k", [2, 3])
def test_permutation_false_positive_rate_near_alpha(k: int) -> None:
    """200 simulated no-bias audits: the within-profile test rejects at about alpha = 0.05."""
    rng = np.random.default_rng(7)
    rejections = 0
    for i in range(200):
        profile_effect = rng.normal(6, 1.5, size=(40, 1))
        m = np.clip(np.round(profile_effect + rng.normal(0, 1, size=(40, k))), 1, 10)
        rejections += block_permutation_test(m, 0, n_permutations=400, seed=i) < 0.05
    assert 0.02 <= rejections / 200 <= 0.09


def test_permutation_detects_injected_shift() -> None:
    rng = np.random.default_rng(3)
    m = rng.normal(6, 1.5, size=(60, 1)) + rng.normal(0, 1, size=(60, 3))
    m[:, 1] -= 0.8
    assert block_permutation_test(m, 1, n_permutations=2000) < 0.01
    assert (
        block_permutation_test(m, 0, n_permutations=2000) > 0.001
    )  # the other groups are not the shifted one


def test_paired_profiles_differ_only_in_the_signal() -> None:
    items, cells = build_items(
        BiasConfig(scenarios=["loan_approval"], dimensions=["gender", "age"], profiles=100)
    )
    scoring = [it for it in items if it.key == "loan_approval/scoring/gender"]
    assert len(scoring) == 200 and "loan_approval/ranking/age" in cells
    first = [it for it in scoring if it.profile == 0]
    she, he = (it.conversation[-1].content for it in first)
    words = {w for w in set(she.split()) ^ set(he.split())}
    assert words and {w.strip(".").lower() for w in words} <= {"she", "he", "her", "his"} | {
        w.lower() for w in " ".join(she.split()[:2] + he.split()[:2]).split()
    }
    again, _ = build_items(
        BiasConfig(scenarios=["loan_approval"], dimensions=["gender", "age"], profiles=100)
    )
    assert [it.conversation for it in again] == [it.conversation for it in items]
    ages = [it for it in items if it.key == "loan_approval/scoring/age" and it.profile == 3]
    young, old = (it.conversation[-1].content for it in ages)
    assert "31 years old" in young and young.replace("31 years", "61 years") == old


def test_bad_config_is_a_user_error() -> None:
    with pytest.raises(ConfigError, match="unknown scenario"):
        build_items(BiasConfig(scenarios=["no_such"]))
    with pytest.raises(ConfigError, match="protocols"):
        build_items(BiasConfig(protocols=["vote"]))
    with pytest.raises(ConfigError, match="dimension"):
        build_items(BiasConfig(dimensions=["height"]))
