"""Generation with the embedded model prints no library warnings (the shared-prefix cache argument)."""

from __future__ import annotations

import warnings

import redline.targets.local as local
from redline.records import GenerationParams, user


def test_shared_prefix_generation_emits_no_cache_warning(embedded_target) -> None:
    convs = [[user("Say hello.")], [user("Name a colour.")]]
    assert len(local.shared_prefix([embedded_target.encode(c) for c in convs])) >= local.MIN_SHARED_PREFIX
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        gens = embedded_target.generate(convs, GenerationParams(max_new_tokens=4))
    assert all(g.ok and g.text for g in gens)
    assert [str(w.message) for w in seen if "past_key_values" in str(w.message)] == []
