"""The system card's YAML front matter has no anchors or aliases (some card parsers reject them)."""

from __future__ import annotations

from redline.policy.model import load_policy
from redline.report.card import CardConfig, parse_front_matter, render_card
from redline.report.data import build_data
from redline.store.db import Store
from test_card import build


def test_front_matter_is_written_without_aliases(db_path: str) -> None:
    build(db_path)
    store = Store(db_path)
    try:
        data = build_data(store, "run-card", load_policy(None), with_attempts=False)
    finally:
        store.close()
    text = render_card(data, CardConfig(model_name="tiny-chat-test"), "not measured")
    front_text = text.split("---")[1]
    assert "&id" not in front_text and "*id" not in front_text
    results = parse_front_matter(text)["model-index"][0]["results"]
    assert len(results) >= 2  # the dataset block is repeated per result, in full
    assert all(r["dataset"] == results[0]["dataset"] and r["dataset"]["name"] for r in results)
