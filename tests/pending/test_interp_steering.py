"""Interp on the embedded SmolLM2-135M-Instruct: hooks, ablation, probes, steering, target options, judge.

Floors below were measured on this model (see docs/interp.md) and asserted with a margin.
"""

from __future__ import annotations

import numpy as np
import pytest

from redline.interp.activations import collect_activations
from redline.interp.data import instruction_sets, split
from redline.interp.interventions import Direction, intervene
from redline.judges.refusal import RefusalJudge
from redline.records import GenerationParams, user

STEER_LAYER = 10  # measured: the refusal direction chosen by `redline interp direction` on this model
STEER_ALPHA = 2.0


def _hook_count(model) -> int:  # noqa: ANN001
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


@pytest.fixture(scope="module")
def sets():  # noqa: ANN201
    harmful, harmless = instruction_sets()
    h_train, h_test = split(harmful, 0.25, 0)
    b_train, b_test = split(harmless, 0.25, 0)
    return h_train, h_test, b_train, b_test


@pytest.fixture(scope="module")
def train_acts(embedded_target, sets):  # noqa: ANN001, ANN201
    """Last-token activations of 48 harmful + 48 harmless training prompts at every layer."""
    h_train, _, b_train, _ = sets
    m, tok = embedded_target.model, embedded_target.tokenizer
    acts = collect_activations(m, tok, h_train[:48] + b_train[:48], "last", 16)
    return acts[:, :, 0, :], np.array([1] * 48 + [0] * 48)


@pytest.fixture(scope="module")
def direction(train_acts) -> Direction:  # noqa: ANN001
    acts, y = train_acts
    vec = (acts[y == 1, STEER_LAYER].mean(0) - acts[y == 0, STEER_LAYER].mean(0)).double().numpy()
    return Direction(vec, STEER_LAYER, "-1", "refusal", "SmolLM2-135M-Instruct")


def test_steering_with_positive_alpha_raises_refusal(embedded_target, direction, sets) -> None:  # noqa: ANN001
    _, h_test, _, _ = sets
    m = embedded_target.model
    convs = [[user(p)] for p in h_test[:12]]
    params = GenerationParams(max_new_tokens=24)
    judge = RefusalJudge()

    def refusals() -> int:
        return sum(judge._one(g.text).label == "refused" for g in embedded_target.generate(convs, params))

    plain = refusals()
    with intervene(m, "steer", direction, alpha=STEER_ALPHA):
        steered = refusals()
    # measured on these 12 held-out prompts: see docs/interp.md; asserted with a margin
    assert steered >= plain + 3, (plain, steered)

