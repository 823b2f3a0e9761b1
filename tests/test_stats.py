"""Interval and test math against known values."""

import math

import pytest

from redline import stats


def test_wilson_known_values():
    lo, hi = stats.wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = stats.wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)


def test_clopper_pearson_known_values():
    lo, hi = stats.clopper_pearson_interval(5, 10)
    assert lo == pytest.approx(0.1871, abs=1e-4) and hi == pytest.approx(0.8129, abs=1e-4)
    lo, hi = stats.clopper_pearson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.3085, abs=1e-4)
    assert stats.clopper_pearson_interval(10, 10)[1] == 1.0


def test_rule_of_three_and_attempts_to_certify():
    n = stats.attempts_to_certify(0.05)
    assert stats.clopper_pearson_interval(0, n)[1] < 0.05 <= stats.clopper_pearson_interval(0, n - 1)[1]
    nw = stats.attempts_to_certify(0.05, method="wilson")
    assert stats.wilson_interval(0, nw)[1] < 0.05 <= stats.wilson_interval(0, nw - 1)[1]
    # one-sided 95% exact bound with 0 successes is about 3/n
    assert 1 - 0.05 ** (1 / 300) == pytest.approx(3 / 300, rel=0.01)


def test_holm_and_kappa():
    assert stats.holm_correction([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.cohens_kappa([1, 1, 0, 0], [1, 1, 0, 0]) == 1.0
    assert stats.cohens_kappa([1, 0, 1, 0], [1, 1, 0, 0]) == pytest.approx(0.0)


def test_permutation_and_fisher():
    assert stats.permutation_test_paired([1.0] * 30, n_permutations=2000) < 0.01
    assert stats.permutation_test_paired([0.0] * 10) == 1.0
    assert stats.two_proportion_test(0, 50, 25, 50) < 1e-6
    lo, hi = stats.bootstrap_interval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], n_resamples=500)
    assert lo < 5.5 < hi and not math.isnan(lo)


def test_clustered_effective_counts():
    # one attempt per prompt: nothing to correct
    assert stats.clustered_effective_counts([1, 0, 1], [1, 1, 1]) == (2.0, 3.0, 1.0)
    # 10 prompts x 5 samples, outcomes identical within a prompt: deff = 5 (hand: robust/binomial = 5.56, clipped)
    k, n, deff = stats.clustered_effective_counts([5, 5, 5, 0, 0, 0, 0, 0, 0, 0], [5] * 10)
    assert deff == pytest.approx(5.0) and n == pytest.approx(10.0) and k == pytest.approx(3.0)
    # successes spread evenly over prompts: no extra variance, deff = 1
    assert stats.clustered_effective_counts([2] * 10, [4] * 10) == pytest.approx((20.0, 40.0, 1.0))
    # 0 successes: correlation not estimable, so the bound is taken on the prompts
    assert stats.clustered_effective_counts([0] * 8, [4] * 8) == pytest.approx((0.0, 8.0, 4.0))


def test_fleiss_kappa_matches_a_worked_example_and_cohen_for_two_raters() -> None:
    from redline.stats import cohens_kappa, fleiss_kappa, fleiss_kappa_interval

    assert fleiss_kappa([["a", "a", "a"], ["b", "b", "b"]]) == 1.0
    assert fleiss_kappa([["a"], ["b"]]) is None  # no item has two ratings
    # Fleiss (1971)-style check: 4 items, 3 raters
    ratings = [["y", "y", "n"], ["y", "y", "y"], ["n", "n", "n"], ["y", "n", "n"]]
    p_i = [(2**2 + 1 - 3) / 6, 1.0, 1.0, (1 + 2**2 - 3) / 6]
    p_y, p_n = 6 / 12, 6 / 12
    expected = (sum(p_i) / 4 - (p_y**2 + p_n**2)) / (1 - (p_y**2 + p_n**2))
    assert fleiss_kappa(ratings) == pytest.approx(expected)
    a = ["y", "y", "n", "n", "y", "n", "y", "y"]
    b = ["y", "n", "n", "n", "y", "y", "y", "y"]
    # with two raters Fleiss' kappa is Scott's pi: close to, not equal to, Cohen's kappa
    assert abs(fleiss_kappa(list(zip(a, b, strict=True))) - cohens_kappa(a, b)) < 0.05
    low, high = fleiss_kappa_interval(ratings * 5)
    assert low <= fleiss_kappa(ratings * 5) <= high
