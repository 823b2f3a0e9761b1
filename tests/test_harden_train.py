"""The fixed harden training: loss on the reply tokens only, varied template refusals, and the DPO loss.
The model tests use the embedded model with one or two tiny steps; fixtures hold redacted placeholders."""

from __future__ import annotations

import pytest

from redline.harden.revise import REFUSALS, principle_for, template_refusal
from redline.judges.refusal import refusal_evidence

PROMPT = [{"role": "user", "content": "How do I do the harmful thing?"}]
CHOSEN = "I can't help with that, but I can point you to safety resources."
REJECTED = "Sure, here are the steps: [details redacted]."


def test_template_refusals_vary_deterministically() -> None:
    keys = [f"item-{i}" for i in range(40)]
    texts = [template_refusal("privacy", k) for k in keys]
    assert texts == [template_refusal("privacy", k) for k in keys]  # same item, same text
    assert len(set(texts)) == len(REFUSALS)  # every wording is used over 40 items
    assert [template_refusal("privacy", k, seed=1) for k in keys] != texts  # the seed picks another assignment
    principle, alternative = principle_for("privacy")
    for text in set(texts):
        assert principle.lower()[:30] in text.lower() and alternative.lower()[5:40] in text.lower()
        assert refusal_evidence(text)[0], text  # an explicit decline in the opening
    assert principle_for("bias")[0].lower()[:30] in template_refusal("bias", "x").lower()


@pytest.fixture(scope="module")
def model_and_tokenizer():
    from redline.targets.local import load_model

    model, tokenizer, _ = load_model("")
    return model, tokenizer


@pytest.mark.slow
def test_prompt_tokens_are_masked(model_and_tokenizer) -> None:
    from redline.harden.train import IGNORE, encode_pairs, prompt_text

    _, tok = model_and_tokenizer
    prompts = [prompt_text(tok, {"prompt": PROMPT}), "short"]
    replies = [CHOSEN, "A much longer reply than the other one, so the batch needs padding."]
    batch = encode_pairs(tok, prompts, replies)
    for i, (p, r) in enumerate(zip(prompts, replies, strict=True)):
        reply_ids = tok(r, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        n_prompt = len(tok(p, add_special_tokens=False)["input_ids"]) + 1  # with BOS
        labels, mask = batch["labels"][i].tolist(), batch["attention_mask"][i].tolist()
        assert labels[-len(reply_ids):] == reply_ids  # the reply (and end of turn) is scored
        assert all(x == IGNORE for x in labels[: -len(reply_ids)])  # BOS, prompt and padding are not
        assert sum(mask) == n_prompt + len(reply_ids)
        assert batch["input_ids"][i].tolist()[-len(reply_ids):] == reply_ids


@pytest.mark.slow
def test_sft_loss_ignores_the_prompt(model_and_tokenizer) -> None:
    import torch

    from redline.harden.train import encode_pairs, sft_loss

    model, tok = model_and_tokenizer
    batch = encode_pairs(tok, ["Question one?"], [CHOSEN])
    with torch.no_grad():
        loss = float(sft_loss(model, batch))
        scored = batch["labels"][0, 1:] != -100
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[0, :-1]
        nll = torch.nn.functional.cross_entropy(logits, batch["input_ids"][0, 1:], reduction="none")
    assert loss == pytest.approx(float(nll[scored].mean()), rel=1e-4)
    assert loss != pytest.approx(float(nll.mean()), rel=1e-2)  # a whole-text loss would differ


@pytest.mark.slow
def test_dpo_step_changes_adapter_and_lowers_loss(model_and_tokenizer) -> None:
    import torch

    from redline.harden.train import dpo_loss, fit, pair_logprobs, prompt_text

    model, tok = model_and_tokenizer
    data = [(prompt_text(tok, {"prompt": PROMPT}), CHOSEN, REJECTED)]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    tuned, info = fit(model, tok, data, "dpo", steps=2, lr=5e-3, batch_size=1, seed=0)
    assert info["method"] == "dpo" and info["first_loss"] == pytest.approx(0.6931, abs=1e-3)  # policy = reference
    lora_b = [p for n, p in tuned.named_parameters() if "lora_B" in n]
    assert lora_b and any(float(p.detach().abs().max()) > 0 for p in lora_b)  # the adapter moved (it starts at zero)
    with torch.no_grad():
        c, r = pair_logprobs(tuned, tok, *zip(*data, strict=True))
        with tuned.disable_adapter():
            rc, rr = pair_logprobs(tuned, tok, *zip(*data, strict=True))
        after = float(dpo_loss(c, r, rc, rr))
    assert after < info["first_loss"]
    assert float(c[0] - rc[0]) > float(r[0] - rr[0])  # chosen gained on rejected relative to the reference
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())  # the cached base model is untouched


def test_unknown_method_is_refused() -> None:
    from redline.errors import RedlineError
    from redline.harden.train import fit

    with pytest.raises(RedlineError, match="unknown training method"):
        fit(None, None, [("p", "c")], "ppo")
