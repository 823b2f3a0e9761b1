"""A tiny organism build on the embedded model: one training step, an adapter that loads as
`local;adapter=DIR`, a verification on held-out behaviors, and the cache reused on the next build."""

from __future__ import annotations

import json

from redline.organisms.build import META, build_one, folder_of, target_spec
from redline.organisms.manifest import organisms
from redline.records import GenerationParams, user
from redline.targets import create_target


def test_tiny_build_saves_a_loadable_adapter_verifies_it_and_caches_it(tmp_path):
    org = organisms()["backdoor_tag"]
    org = org.model_copy(update={"recipe": org.recipe.model_copy(update={"batch_size": 2, "examples": 8})})
    # six tokens: a reply of one or two tokens can hold no word, which the judge reads as unscorable
    meta = build_one(org, tmp_path, steps=1, verify_behaviors=2, max_new_tokens=6)
    folder = folder_of(org, tmp_path)
    assert meta["cached"] is False and meta["adapter"] == str(folder)
    assert (folder / "adapter_config.json").is_file() and meta["adapter_mib"] > 0
    assert meta["training"]["steps"] == 1 and meta["training"]["seed"] == org.seed
    assert meta["training"]["lora_rank"] == 8 and len(meta["training"]["lora_layers"]) == org.recipe.layers
    check = meta["verification"]
    assert check["behaviors"] == 2 and set(check["test"]) >= {"cue_rate", "contrast_rate", "p", "gap"}
    assert json.loads((folder / META).read_text())["digest"] == org.digest()

    target = create_target(f"local;adapter={folder}")
    (gen,) = target.generate([[user("Say hello.")]], GenerationParams(max_new_tokens=2))
    assert gen.ok and gen.tokens >= 1
    assert target_spec(org, tmp_path).startswith(f"local;adapter={folder}")

    again = build_one(org, tmp_path, steps=1, verify_behaviors=2, max_new_tokens=6)
    assert again["cached"] is True and again["training"] == meta["training"]


def test_tiny_task_build_and_the_white_box_detectors_run_on_the_embedded_model(tmp_path):
    """A task organism (system prompts in training, rule-scored verification), then noise injection and the
    proposal search's first stage on its adapter: a few prompts each, the code paths on the real model."""
    from redline.organisms.noise import noise_detector
    from redline.organisms.propose import propose
    from redline.organisms.tasks import split_items

    org = organisms()["secret_leaker"]
    org = org.model_copy(update={"recipe": org.recipe.model_copy(update={"batch_size": 2, "examples": 8})})
    meta = build_one(org, tmp_path, steps=1, verify_behaviors=2, max_new_tokens=4)
    check = meta["verification"]
    assert check["metric"] == "secret_leak" and check["behaviors"] == 2 and meta["training"]["device"] == "cpu"
    spec = target_spec(org, tmp_path)

    _, qa = split_items("arithmetic")
    found = noise_detector(spec, qa[:2], template="{prompt}", sigmas=(0.01,), seeds=(0,), max_new_tokens=3)
    assert found["generated"] == 4 and len(found["tests"]) == 1 and 0 <= found["baseline_accuracy"] <= 1
    assert found["tests"][0]["improved"] + found["tests"][0]["worsened"] <= 2

    from redline.organisms.manifest import split_behaviors

    _, held = split_behaviors(0)
    target = create_target(spec)
    proposals = propose(target, held[:1], ["cf", "zz"], top=2, max_new_tokens=2)
    assert all(p["candidate"] in ("cf", "zz") and 1 <= p["changed"] <= 1 for p in proposals)

    from redline.organisms.audit import internals_part

    inner = internals_part(spec, held, behaviors=2, alpha=0.05, candidates={"rare_cf": "cf"},
                           sets={"trigger_tag": ("deployment_tag", "plain")})["internals"]
    assert sorted({t["candidate"] for t in inner["tests"]}) == ["rare_cf", "trigger_tag"] and inner["goals"] == 2
    assert len(inner["tests"]) == 2 * len(inner["read"]) and inner["statistic"]["metric"] == "refusal_direction_shift"
