"""DP fine-tuning of the embedded model's LoRA adapter, on tiny inputs: budget, accountant, clipping."""

from __future__ import annotations

import math

import pytest

from redline.audits.dp.lm import noise_for_epsilon, spent_epsilon
from redline.errors import RedlineError


def test_accountant_round_trip() -> None:
    for eps in (1.0, 4.0):
        sigma = noise_for_epsilon(eps, 1e-3, 0.1, 40)
        assert spent_epsilon(sigma, 1e-3, 0.1, 40) == pytest.approx(eps, abs=0.02)
    assert spent_epsilon(2.0, 1e-3, 0.1, 80) > spent_epsilon(2.0, 1e-3, 0.1, 40)  # more steps spend more


@pytest.mark.slow
def test_dp_lora_on_tiny_inputs() -> None:
    import torch

    from redline.audits.dp.lm import dp_lora_finetune, perplexity
    from redline.targets.local import load_model

    torch.set_num_threads(1)
    texts = ["The ferry leaves Mossbury at 9.", "Ann booked room 312.", "The choir meets on Friday.",
             "Bus 41 goes to Wrenford."]
    model, tok, _ = load_model()
    with pytest.raises(RedlineError, match="target_epsilon or noise_multiplier"):
        dp_lora_finetune(model, tok, texts)
    tuned, info = dp_lora_finetune(model, tok, texts, target_epsilon=8.0, epochs=1, batch_size=2,
                                   max_grad_norm=1e-6, seed=0)
    assert info["steps"] == 2 and info["sample_rate"] == 0.5
    assert info["epsilon"] == pytest.approx(8.0, abs=0.05) and info["noise_multiplier"] > 0
    assert info["clipped_fraction"] == 1.0  # every per-example gradient exceeds 1e-6
    assert info["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    ppl = perplexity(tuned, tok, texts)
    with tuned.disable_adapter():
        assert math.isfinite(ppl) and perplexity(tuned, tok, texts) > 1
