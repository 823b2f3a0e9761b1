"""Membership-inference metrics on constructed cases with known separability; the empirical-epsilon bound."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from redline.audits.privacy import mia


def test_roc_perfect_random_and_inverted() -> None:
    assert mia.roc_auc(np.array([3.0, 4, 5]), np.array([0.0, 1, 2])) == 1.0
    assert mia.roc_auc(np.array([0.0, 1]), np.array([2.0, 3])) == 0.0
    assert mia.roc_auc(np.ones(5), np.ones(7)) == pytest.approx(0.5)  # all ties
    # hand-counted: pairs (m > n) among m=[1,3], n=[0,2]: (1>0),(3>0),(3>2) -> 3/4
    assert mia.roc_auc(np.array([1.0, 3]), np.array([0.0, 2])) == pytest.approx(0.75)


def test_known_gaussian_separability() -> None:
    rng = np.random.default_rng(0)
    d = 1.5  # members ~ N(d, 1), non-members ~ N(0, 1): AUC = Phi(d / sqrt(2))
    mem, non = rng.normal(d, 1, 20000), rng.normal(0, 1, 20000)
    m = mia.metrics(mem, non)
    assert m["auc"] == pytest.approx(sps.norm.cdf(d / math.sqrt(2)), abs=0.01)
    # TPR at FPR alpha = 1 - Phi(z_{1-alpha} - d)
    assert m["tpr_at_1pct_fpr"] == pytest.approx(1 - sps.norm.cdf(sps.norm.ppf(0.99) - d), abs=0.02)
    assert m["tpr_at_0.1pct_fpr"] == pytest.approx(1 - sps.norm.cdf(sps.norm.ppf(0.999) - d), abs=0.02)


def test_tpr_at_fpr_small_case() -> None:
    mem, non = np.array([10.0, 9, 8, 1]), np.array([9.5, 2, 1.5, 0, -1, -2, -3, -4, -5, -6])
    assert mia.tpr_at_fpr(mem, non, 0.0) == 0.25  # only 10 is above every non-member
    assert mia.tpr_at_fpr(mem, non, 0.1) == 0.75  # threshold 8 admits one false positive (9.5)


def test_reference_attacks_beat_loss_on_heterogeneous_difficulty() -> None:
    """Per-example difficulty varies; members lose a fixed amount of loss. Calibrating by reference
    models (LiRA, RMIA) removes the difficulty and must separate better than the raw loss."""
    rng = np.random.default_rng(1)
    n, refs = 2000, 8
    difficulty = rng.gamma(2.0, 1.0, n)
    member = rng.random(n) < 0.5
    ref_losses = difficulty[None, :] * np.exp(rng.normal(0, 0.05, (refs, n)))
    target = difficulty * np.exp(rng.normal(0, 0.05, n)) * np.where(member, 0.6, 1.0)
    loss_auc = mia.roc_auc(*(lambda s: (s[member], s[~member]))(mia.loss_attack(target)))
    lira = mia.lira_offline(target, ref_losses)
    lira_auc = mia.roc_auc(lira[member], lira[~member])
    pop = rng.choice(np.nonzero(~member)[0], 300, replace=False)
    r = mia.rmia(target, ref_losses, target[pop], ref_losses[:, pop])
    rmia_auc = mia.roc_auc(r[member], r[~member])
    assert 0.5 < loss_auc < 0.85
    assert lira_auc > 0.97 and rmia_auc > 0.97


def test_epsilon_bound_hand_computed() -> None:
    from redline.stats import clopper_pearson_interval

    b = mia.epsilon_lower_bound(90, 100, 10, 100, delta=0.0, confidence=0.95)
    lo = clopper_pearson_interval(90, 100, 0.95)[0]
    hi = clopper_pearson_interval(10, 100, 0.95)[1]
    assert b["tpr_lower"] == pytest.approx(lo) and b["fpr_upper"] == pytest.approx(hi)
    assert b["epsilon_lower"] == pytest.approx(math.log(lo / hi))
    assert b["epsilon_point"] == pytest.approx(math.log(0.9 / 0.1))
    assert b["epsilon_lower"] < b["epsilon_point"]
    # a useless attack gives no evidence; delta lowers the bound
    assert mia.epsilon_lower_bound(50, 100, 50, 100)["epsilon_lower"] == 0.0
    assert mia.epsilon_lower_bound(90, 100, 10, 100, delta=0.1)["epsilon_lower"] < b["epsilon_lower"]


def test_epsilon_bound_on_simulated_dp_mechanism() -> None:
    """Randomized response with eps=1 is exactly eps-DP: the bound must stay below 1 in repeated trials
    (at 95% confidence) yet approach it with many samples."""
    rng = np.random.default_rng(2)
    p = math.e / (1 + math.e)
    bounds = []
    for _ in range(40):
        tp = int((rng.random(5000) < p).sum())
        fp = int((rng.random(5000) < 1 - p).sum())
        bounds.append(mia.epsilon_lower_bound(tp, 5000, fp, 5000)["epsilon_lower"])
    assert max(bounds) <= 1.0 and np.mean(bounds) > 0.85


def test_threshold_on_calibration_split() -> None:
    rng = np.random.default_rng(3)
    mem, non = rng.normal(-2, 1, 400), rng.normal(-5, 1, 400)  # negative scores on purpose
    t, direction = mia.choose_threshold(mem[:200], non[:200])
    assert direction == 1 and t < 0
    tp, fp = mia.apply_threshold(mem[200:], non[200:], t, direction)
    assert tp > 100 and fp <= 10
    assert mia.epsilon_lower_bound(tp, 200, fp, 200)["epsilon_lower"] > 1.0


def test_save_roc(tmp_path) -> None:  # noqa: ANN001
    curves = {"loss": (np.array([2.0, 3]), np.array([0.0, 2.5]))}
    written = mia.save_roc(tmp_path / "roc.json", curves, png=True)
    data = json.loads((tmp_path / "roc.json").read_text())
    assert data["loss"]["auc"] == pytest.approx(0.75) and data["loss"]["fpr"][0] == 0.0
    assert len(written) == 2 and (tmp_path / "roc.png").stat().st_size > 1000
