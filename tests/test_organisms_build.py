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
    meta = build_one(org, tmp_path, steps=1, verify_behaviors=2, max_new_tokens=2)
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

    again = build_one(org, tmp_path, steps=1, verify_behaviors=2, max_new_tokens=2)
    assert again["cached"] is True and again["training"] == meta["training"]
