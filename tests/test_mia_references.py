"""Membership inference with several reference models: LiRA online/offline per example, on the embedded model."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest

from redline.audits.privacy import mia
from redline.errors import RedlineError


def _halves(n_refs: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Each example in exactly half of the references (LiRA's balanced random halves)."""
    return np.stack([rng.permutation(n_refs) < n_refs // 2 for _ in range(n)], axis=1)


def test_online_lira_uses_in_and_out_references() -> None:
    """References trained on random halves: examples differ in difficulty, training lowers the loss by a
    factor that also varies per example. The in/out likelihood ratio separates members better than the raw loss."""
    rng = np.random.default_rng(3)
    n, refs = 1000, 8
    difficulty = rng.gamma(2.0, 1.0, n)
    drop = rng.uniform(0.5, 0.9, n)
    ref_in = _halves(refs, n, rng)
    ref_losses = difficulty * np.where(ref_in, drop, 1.0) * np.exp(rng.normal(0, 0.05, (refs, n)))
    member = rng.random(n) < 0.5
    target = difficulty * np.where(member, drop, 1.0) * np.exp(rng.normal(0, 0.05, n))
    online = mia.lira(target, ref_losses, ref_in)
    loss_auc = mia.roc_auc(-target[member], -target[~member])
    assert mia.roc_auc(online[member], online[~member]) > max(0.95, loss_auc + 0.2)
    rows = mia.per_example_lira(online, member, ref_in, refs, target)
    assert len(rows) == n and rows[0]["lira"] >= rows[-1]["lira"]
    assert {r["mode"] for r in rows} == {"online"} and all(r["refs_in"] + r["refs_out"] == refs for r in rows)


def test_examples_without_in_references_fall_back_to_offline() -> None:
    rng = np.random.default_rng(0)
    ref_losses = rng.gamma(2.0, 1.0, (5, 6))
    target = ref_losses.mean(0) * 0.9
    ref_in = np.zeros((5, 6), bool)
    ref_in[0, :3] = True
    scores = mia.lira(target, ref_losses, ref_in)
    offline = mia.lira(target, ref_losses)
    assert np.allclose(scores[3:], offline[3:])  # all five references are out for these: the offline tail
    assert not np.allclose(scores[:3], offline[:3])
    with pytest.raises(RedlineError, match="not trained on it"):
        mia.lira(target, ref_losses, np.ones((5, 6), bool))


def test_mismatched_reference_training_sets_are_one_line_exit_2(tmp_path, cli_env) -> None:
    texts = tmp_path / "t.txt"
    texts.write_text("one\ntwo\n")
    args = ["audit", "mia", "--model", "m", "--members", str(texts), "--non-members", str(texts),
            "--reference", "a", "--reference", "b", "--reference-train", str(texts)]
    proc = subprocess.run([sys.executable, "-m", "redline", *args], env=cli_env, capture_output=True, text=True,
                          timeout=300)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "--reference-train" in lines[0], proc.stderr


@pytest.mark.slow
def test_lm_membership_with_adapters_on_random_halves() -> None:
    """Target: LoRA on 8 members. References: the base model (out for all) and two adapters on random halves
    of members + non-members; each example is scored online where some reference trained on it."""
    import torch

    from redline.audits.privacy.lm import scorer
    from redline.audits.privacy.lm_mia import lm_membership
    from redline.audits.privacy.memorization import lora_finetune, make_corpus
    from redline.targets.local import load_model

    torch.set_num_threads(1)
    pool = list(dict.fromkeys(make_corpus(40, seed=5)))
    members, non_members = pool[:8], pool[8:16]
    model, tok, _ = load_model()
    train = dict(steps=10, lr=1e-2, batch_size=4)
    target, _ = lora_finetune(model, tok, members, seed=0, **train)
    rng = random.Random(1)
    halves = [rng.sample(members + non_members, 8) for _ in range(2)]
    refs = [scorer(lora_finetune(model, tok, h, seed=k + 1, **train)[0], tok) for k, h in enumerate(halves)]
    result, _ = lm_membership(scorer(target, tok), members, non_members,
                                   [scorer(model, tok), *refs], [None, *halves])
    assert set(result["attacks"]) == {"loss", "lira_online"}
    rows = result["per_example"]
    assert len(rows) == 16
    in_some = set(halves[0]) | set(halves[1])
    texts = members + non_members
    by_text = {(r["set"], r["index"]): r for r in rows}
    for i, text in enumerate(texts):
        row = by_text[("member", i) if i < 8 else ("non-member", i - 8)]
        assert row["mode"] == ("online" if text in in_some else "offline") and row["refs_out"] >= 1
    assert result["attacks"]["loss"]["auc"] > 0.75  # the target did train on the members
    assert all(np.isfinite(r["lira"]) for r in rows)  # LiRA's power is tested on simulated losses above
