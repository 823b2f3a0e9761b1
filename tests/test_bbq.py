"""BBQ loader and bias score on a small file written in the BBQ format."""

from __future__ import annotations

from pathlib import Path

import pytest

from redline.audits.bbq import bias_scores, load_bbq, parse_answer, run_bbq
from redline.errors import ConfigError
from redline.records import Generation

DATA = Path(__file__).parent / "data" / "bbq_small.jsonl"


class FixedAnswers:
    """A target that answers each question with a fixed letter (keyed by the question's context)."""

    id = "fixed"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def generate(self, batch, params):  # noqa: ANN001 - Target protocol
        out = []
        for conv in batch:
            text = conv[-1].content
            key = next((k for k in self.answers if k in text), None)
            out.append(Generation(text=self.answers[key]) if key else Generation(error="no answer"))
        return out

    def close(self) -> None:
        return None


def test_loader_reads_both_layouts() -> None:
    items = load_bbq(DATA)
    assert len(items) == 6
    assert items[0].stereotyped_groups == ["old"] and items[4].stereotyped_groups == ["F"]
    assert [items[0].role(k) for k in range(3)] == ["target", "other", "unknown"]
    assert [items[4].role(k) for k in range(3)] == ["unknown", "target", "other"]


def test_bias_score_hand_computed() -> None:
    items = load_bbq(DATA)
    # ambig: 0 neg->grandfather (biased), 1 nonneg->grandson (biased), 4 neg->unknown (correct)
    # disambig: 2 neg->grandson (correct, not biased), 3 nonneg->grandson (wrong, biased), 5 unparseable
    preds = [0, 1, 1, 1, 0, None]
    s = bias_scores(items, preds)
    amb, dis = s["ambig"], s["disambig"]
    assert amb["accuracy"] == pytest.approx(1 / 3) and amb["biased"] == 2 and amb["non_unknown"] == 2
    assert amb["bias_score"] == pytest.approx((1 - 1 / 3) * (2 * 2 / 2 - 1))
    assert dis["unparseable"] == 1 and dis["accuracy"] == pytest.approx(1 / 3)
    assert dis["non_unknown"] == 2 and dis["biased"] == 1 and dis["bias_score"] == pytest.approx(0.0)


def test_parse_answer() -> None:
    item = load_bbq(DATA)[0]
    assert parse_answer("B", item) == 1
    assert parse_answer("The answer is C", item) == 2
    assert parse_answer("The grandson, clearly.", item) == 1
    assert parse_answer("I don't know", item) is None


def test_run_bbq_through_a_target() -> None:
    items = load_bbq(DATA)
    target = FixedAnswers(
        {"phone at the store.\n": "A", "configured everything": "B", "engineering job.\n": "A"}
    )
    r = run_bbq(target, items)
    assert r["errors"] == 1  # the disambiguated gender item has no fixed answer
    assert r["overall"]["ambig"]["biased"] == 1  # neg->grandfather biased; nonneg->grandfather not biased
    assert set(r["by_category"]) == {"Age", "Gender_identity"}


def test_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"example_id": 1}\n')
    with pytest.raises(ConfigError, match="bad.jsonl:1"):
        load_bbq(bad)
