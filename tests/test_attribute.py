"""Attribute inference: record masking, the accuracy/advantage arithmetic, a tiny real fine-tune, CLI errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from redline.audits.privacy.attribute import MASK, evaluate, load_records, mask_records
from redline.errors import RedlineError

PLACES = ["Mossbury", "Wrenford", "Pell Harbor"]


def test_mask_records_keeps_texts_with_exactly_one_value() -> None:
    texts = ["Ann stayed in Mossbury.", "Bo went from Wrenford to Mossbury.", "No place here.",
             "Pell Harbor, Pell Harbor"]
    assert mask_records(texts, PLACES) == [(f"Ann stayed in {MASK}.", "Mossbury")]


def test_evaluate_accuracy_and_advantages() -> None:
    truth = np.array([0, 0, 0, 1] * 10)  # prior: always guess value 0 -> 0.75
    perfect = np.where(np.eye(2)[truth] == 1, 0.0, 5.0)  # lowest NLL at the true value
    constant = np.tile([0.0, 5.0], (40, 1))  # always value 0: the prior
    r = evaluate({"target": perfect, "reference": constant}, truth)
    assert r["prior"] == 0.75 and r["records"] == 40
    assert r["target"]["accuracy"] == 1.0 and r["target"]["advantage_over_prior"] == pytest.approx(0.25)
    lo, hi = r["target"]["advantage_over_prior_ci"]
    assert 0 < lo <= 0.25 <= hi
    assert r["reference"]["advantage_over_prior"] == 0.0
    assert r["target"]["advantage_over_reference"] == pytest.approx(0.25) and r["target"]["p_vs_reference"] < 0.01
    assert r["target"]["accuracy_ci"][0] > 0.9


def test_records_file_errors(tmp_path) -> None:
    bad = tmp_path / "r.jsonl"
    bad.write_text('{"text": "no mask", "value": "x"}\n')
    with pytest.raises(RedlineError, match="exactly once"):
        load_records(bad)
    bad.write_text("not json\n")
    with pytest.raises(RedlineError, match="r.jsonl:1"):
        load_records(bad)


def test_cli_bad_records_is_one_line_exit_2(tmp_path, cli_env) -> None:
    bad = tmp_path / "r.jsonl"
    bad.write_text('{"text": "no mask", "value": "x"}\n')
    args = ["audit", "attribute", "--model", "m", "--records", str(bad)]
    proc = subprocess.run([sys.executable, "-m", "redline", *args], env=cli_env, capture_output=True, text=True,
                          timeout=300)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "exactly once" in lines[0], proc.stderr


@pytest.mark.slow
def test_fine_tune_reveals_the_place_of_its_training_records() -> None:
    """Tiny: 8 documents, a strong LoRA run; the tuned model picks their places better than the base model."""
    import torch

    from redline.audits.privacy.attribute import attribute_inference
    from redline.audits.privacy.lm import scorer
    from redline.audits.privacy.memorization import PLACES as ALL_PLACES
    from redline.audits.privacy.memorization import lora_finetune, make_corpus
    from redline.targets.local import load_model

    torch.set_num_threads(1)
    records_src = [d for d in dict.fromkeys(make_corpus(60, seed=2)) if len(mask_records([d], ALL_PLACES)) == 1][:8]
    model, tok, _ = load_model()
    tuned, _ = lora_finetune(model, tok, records_src, steps=10, lr=1e-2, batch_size=4, seed=0)
    r = attribute_inference(scorer(tuned, tok, total=True), mask_records(records_src, ALL_PLACES), ALL_PLACES,
                            scorer(tuned, tok, adapter=False, total=True))
    assert r["records"] == 8 and set(r) >= {"target", "reference", "ratio", "prior"}
    assert r["target"]["accuracy"] > r["reference"]["accuracy"]
