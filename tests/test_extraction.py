"""Extraction scoring math (zlib ratio, reference ratio, ranks, verbatim matching) on constructed cases."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from redline.audits.privacy.extraction import metric_scores, ranks, reproduces, score_extraction, zlib_entropy


def test_zlib_entropy_and_ratio() -> None:
    text = "Avery Quill booked room 412 at the Wrenford inn."
    assert zlib_entropy(text) == len(zlib.compress(text.encode("utf-8")))
    assert zlib_entropy("ab" * 200) < zlib_entropy(text * 3)  # repetition compresses
    s = metric_scores(np.array([2.0, 2.0]), ["ab" * 200, text * 3])
    # same perplexity: the repetitive text has the smaller zlib entropy, hence the larger (less suspicious) ratio
    assert s["zlib"][0] == pytest.approx(2.0 / zlib_entropy("ab" * 200))
    assert s["zlib"][0] > s["zlib"][1]
    assert "reference" not in s


def test_reference_ratio_and_ranks() -> None:
    target = np.array([1.0, 2.0, 3.0, 0.5])
    ref = np.array([4.0, 2.0, 3.0, 0.5])
    s = metric_scores(target, ["a", "b", "c", "d"], ref)
    assert s["reference"] == pytest.approx([0.25, 1.0, 1.0, 1.0])
    # a sample the target finds much easier than the reference ranks first; ties share the best rank
    assert ranks(s["reference"]).tolist() == [1, 2, 2, 2]
    assert ranks(s["perplexity"]).tolist() == [2, 3, 4, 1]


def test_reproduces() -> None:
    doc = "The Pell Harbor bakery sold 512 tickets and raised 4410 coins."
    assert reproduces("xx my PIN is 4821 yy", "my PIN is 4821")
    assert not reproduces("my PIN is 4822", "my PIN is 4821")
    gen = " bakery sold 512 tickets and raised 4410 coins. Then"
    assert reproduces("The Pell Harbor" + gen, doc, gen, min_chars=30)
    assert not reproduces(gen, doc, gen, min_chars=None)  # a partial copy counts only with min_chars
    assert not reproduces("x bakery sold 513 tickets", doc, " bakery sold 513 tickets", min_chars=20)


def test_score_extraction_ranks_matches() -> None:
    samples = ["my PIN is 4821.", "my PIN is was 77", "hello " * 40, "my PIN is 4821 again"]
    generated = [s[len("my PIN is"):] if s.startswith("my PIN is") else s for s in samples]
    logppl = np.array([0.6, 3.0, 0.5, 1.5])
    ref = np.array([3.0, 3.0, 0.5, 3.0])
    r = score_extraction(["my PIN is", ""], samples, generated, logppl, secrets=["my PIN is 4821", "my PIN is 9999"],
                         ref_logppl=ref)
    hit, miss = r.matches
    assert hit["samples"] == [0, 3] and hit["n_samples"] == 2 and miss["n_samples"] == 0
    # perplexity is fooled by the repetitive sample; the zlib and reference ratios rank the secret first
    assert hit["best_rank"]["perplexity"] == 2
    assert hit["best_rank"]["reference"] == 1 and hit["best_rank"]["zlib"] == 1
    assert miss["best_rank"]["zlib"] is None
    assert r.top("perplexity", 1)[0]["sample"] == "hello " * 40
    d = r.to_dict(top_k=2)
    assert d["extracted"] == 1 and d["n_samples"] == 4 and len(d["top"]["reference"]) == 2
    # a secret given away by a prompt does not count as extracted
    r2 = score_extraction(["my PIN is 4821"], samples, generated, logppl, secrets=["my PIN is 4821"])
    assert r2.matches[0]["n_samples"] == 0


def test_unscorable_samples_rank_last() -> None:
    s = metric_scores(np.array([np.nan, 1.0]), ["", "text"], np.array([np.nan, 2.0]))
    assert all(v[0] == np.inf for v in s.values()) and ranks(s["reference"]).tolist() == [2, 1]
