"""WEAT effect size and permutation p-value: hand-computed cases and the packaged sentence model."""

from __future__ import annotations

import numpy as np
import pytest

from redline.audits.weat import association, load_tests, run_weat, sentence_embedder, weat


def test_effect_size_hand_computed() -> None:
    a, b = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    x = np.array([[1.0, 0.0], [2.0, 0.0]])  # s = 1 each
    y = np.array([[0.0, 1.0], [1.0, 1.0]])  # s = -1, 0
    s = association(np.vstack([x, y]), a, b)
    assert s == pytest.approx([1, 1, -1, 0])
    r = weat(x, y, a, b)
    assert r["effect_size"] == pytest.approx((1 - (-0.5)) / np.std([1, 1, -1, 0], ddof=1))
    # exact: 6 partitions of 4 into 2+2; only {x1,x2} reaches the observed statistic -> p = 1/6
    assert r["p_value"] == pytest.approx(1 / 6)


def test_null_false_positive_rate_near_alpha() -> None:
    """Random word vectors carry no association: p < 0.05 in about 5% of 200 simulated tests."""
    rng = np.random.default_rng(0)
    hits = 0
    for i in range(200):
        x, y, a, b = (rng.normal(size=(6, 8)) for _ in range(4))
        hits += weat(x, y, a, b, n_permutations=500, seed=i)["p_value"] < 0.05
    assert 0.02 <= hits / 200 <= 0.09


def test_packaged_sets_on_sentence_model() -> None:
    tests = load_tests()
    assert {"career_family_gender", "flowers_insects_pleasant"} <= set(tests)
    rows = run_weat(sentence_embedder(), tests, n_permutations=5000)
    by = {r["test"]: r for r in rows}
    sanity = by["flowers_insects_pleasant"]
    assert sanity["effect_size"] > 0.8 and sanity["p_holm"] < 0.01
    assert all(-2.0 <= r["effect_size"] <= 2.0 for r in rows)
