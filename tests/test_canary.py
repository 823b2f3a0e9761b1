"""Exposure math against hand-computed ranks; extrapolation against exact enumeration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from redline.audits.privacy.canary import candidates, exposure, extrapolated_exposure, make_canaries, rank_of
from redline.errors import RedlineError


def test_candidates_and_canaries() -> None:
    c = candidates("my PIN is ###")
    assert len(c) == 1000 and c[0] == "my PIN is 000" and c[-1] == "my PIN is 999" and "my PIN is 042" in c
    drawn = make_canaries("code #-#", 5, seed=1)
    assert len(set(drawn)) == 5 and all(d in candidates("code #-#") for d in drawn)
    with pytest.raises(RedlineError):
        candidates("no digits")
    with pytest.raises(RedlineError):
        make_canaries("#", 11)


def test_exposure_hand_computed() -> None:
    scores = np.array([5.0, 3.0, 9.0, 1.0, 7.0, 2.0, 8.0, 4.0])  # |R| = 8
    assert rank_of(1.0, scores) == 1 and exposure(1.0, scores) == pytest.approx(3.0)  # log2 8 - log2 1
    assert rank_of(4.0, scores) == 4 and exposure(4.0, scores) == pytest.approx(1.0)  # log2 8 - log2 4
    assert exposure(9.0, scores) == pytest.approx(0.0)
    tied = np.array([1.0, 1.0, 2.0, 3.0])
    assert rank_of(1.0, tied) == 2 and exposure(1.0, tied) == pytest.approx(1.0)  # ties count against


def test_extrapolation_matches_enumeration() -> None:
    rng = np.random.default_rng(0)
    full = rng.normal(50.0, 5.0, 100_000)  # a large candidate space with normal log-perplexities
    secret = 50.0 - 3.0 * 5.0
    exact = exposure(secret, np.append(full, secret))
    sample = rng.choice(full, 2000, replace=False)
    for dist in ("normal", "skewnorm"):
        assert extrapolated_exposure(secret, sample, dist) == pytest.approx(exact, abs=0.5)
    assert exact == pytest.approx(-math.log2(0.00135), abs=0.3)
