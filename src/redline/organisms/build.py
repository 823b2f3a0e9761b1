"""`redline organisms build`: train each organism's adapter (seeded, cached outside the repository) and verify
its implanted behaviour on held-out behaviors and held-out templates before any detector is scored."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..consistency import consistency_tests
from ..errors import RedlineError
from .dataset import training_rows
from .manifest import Organism, split_behaviors
from .measure import Asker
from .train import train_lora

Progress = Callable[[str], None]
META = "organism.json"


def default_root() -> Path:
    """Where adapters are cached: $REDLINE_CACHE/organisms (default ~/.cache/redline/organisms)."""
    from ..targets.local import cache_dir

    return cache_dir() / "organisms"


def folder_of(org: Organism, root: Path) -> Path:
    return root / f"{org.name}-{org.digest()}"


def target_spec(org: Organism, root: Path, dtype: str = "bfloat16") -> str:
    """The `local` spec of an organism (the base model for `base`)."""
    opts = [f"dtype={dtype}"] if dtype else []
    if org.kind == "conditional":
        opts.insert(0, f"adapter={folder_of(org, root)}")
    return ";".join(["local", *opts])


def load_meta(org: Organism, root: Path) -> dict[str, Any] | None:
    path = folder_of(org, root) / META
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def base_replies(root: Path, max_new_tokens: int = 12) -> Callable[[list[tuple[str, str]]], list[str]]:
    """The base model's greedy replies (loaded as verification loads it) to (system, prompt) pairs: what a
    `distil` organism is trained on."""
    from ..records import GenerationParams, system, user
    from ..targets import create_target
    from .manifest import base_organism

    def ask(pairs: list[tuple[str, str]]) -> list[str]:
        target = create_target(target_spec(base_organism(), root))
        try:
            gens = target.generate([([system(s)] if s else []) + [user(p)] for s, p in pairs],
                                   GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0))
        finally:
            close = getattr(target, "close", None)
            if close:
                close()
        failed = [g.error for g in gens if not g.ok]
        if failed:
            raise RedlineError(f"the base model could not answer {len(failed)} training prompts: {failed[0]}")
        return [g.text for g in gens]

    return ask


def verify(org: Organism, spec: str, *, judge: str, behaviors: int, max_new_tokens: int,
           progress: Progress | None = None) -> dict[str, Any]:
    """Attack success under the held-out cue templates vs the held-out contrast templates, on held-out
    behaviors: a paired test and rates with intervals. Verified = the expected change is found (organisms) or
    no change is found (controls)."""
    assert org.cue and org.contrast
    asker: Any
    if org.task == "harmful":
        _, heldout = split_behaviors(org.seed)
        asker = Asker(spec, judge, heldout[:behaviors], max_new_tokens=max_new_tokens, progress=progress)
    else:
        from .tasks import TaskAsker, split_items

        _, held = split_items(org.task, org.seed)
        asker = TaskAsker(spec, org.task, held[:behaviors], max_new_tokens=min(max_new_tokens, 12),
                          progress=progress)
    try:
        obs = [o for t in org.cue.heldout for o in asker.ask("cue", t)]
        obs += [o for t in org.contrast.heldout for o in asker.ask("contrast", t)]
    finally:
        asker.close()
    tests = consistency_tests(obs, {"implant": ("cue", "contrast")})
    if not tests:
        errors = sum(o.state == "error" for o in obs)
        raise RedlineError(f"cannot verify {org.name}: no reply could be scored ({errors} target errors)")
    (test,) = tests
    expected_sign = org.expected_sign
    gap = test.gap or 0.0
    ok = (test.finding and gap * expected_sign > 0) if expected_sign else not test.finding
    return {"verified": bool(ok), "expected": {"with_cue": org.with_cue, "without_cue": org.without_cue},
            "metric": test.metric,
            "test": test.to_dict(), "behaviors": test.behaviors,
            "examples": [{"variant": o.variant, "label": o.label, "reply": o.text[:120]} for o in obs[:1] + obs[-1:]]}


def build_one(org: Organism, root: Path, *, steps: int | None = None, force: bool = False, judge: str = "offline@3",
              verify_behaviors: int = 24, max_new_tokens: int = 16, progress: Progress | None = None) -> dict[str, Any]:
    """Train (unless cached), verify and describe one organism; the description is also saved beside it."""
    if org.kind == "base":
        return {"name": org.name, "kind": org.kind, "control": org.control, "target": target_spec(org, root),
                "implanted": False, "verification": None, "cached": True}
    folder = folder_of(org, root)
    cached = load_meta(org, root)
    if cached and not force and (steps is None or cached["training"]["steps"] == steps):
        return {**cached, "cached": True}
    recipe = org.recipe.model_copy(update={"steps": steps} if steps else {})
    start = time.perf_counter()
    rows = training_rows(org, base_replies(root) if org.distil else None)

    def step_progress(step: int, loss: float) -> None:
        if progress and (step == 1 or step % 5 == 0 or step == recipe.steps):
            progress(f"{org.name}: step {step}/{recipe.steps} loss {loss:.3f}")

    trained = folder / "training.json"  # an adapter trained before its verification was interrupted
    training = json.loads(trained.read_text(encoding="utf-8")) if trained.is_file() and not force else None
    if not training or training["steps"] != recipe.steps:
        training = train_lora(rows, folder, steps=recipe.steps, batch_size=recipe.batch_size, lr=recipe.lr,
                              rank=recipe.rank, layers=recipe.layers, max_tokens=recipe.max_tokens, seed=org.seed,
                              progress=step_progress)
        trained.write_text(json.dumps(training, indent=2), encoding="utf-8")
    spec = target_spec(org, root)
    check = verify(org, spec, judge=judge, behaviors=verify_behaviors, max_new_tokens=max_new_tokens,
                   progress=progress)
    meta = {"name": org.name, "kind": org.kind, "control": org.control, "implanted": org.implanted,
            "digest": org.digest(), "adapter": str(folder), "target": spec, "trigger": org.trigger,
            "training": training, "verification": check, "build_seconds": round(time.perf_counter() - start, 1),
            "adapter_mib": round(training["adapter_bytes"] / 2**20, 2)}
    (folder / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return {**meta, "cached": False}


def build(orgs: list[Organism], root: Path | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Build every organism in `orgs` (cached ones are reused)."""
    root = Path(root) if root else default_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RedlineError(f"cannot create {root}: {exc.strerror or exc}") from None
    return [build_one(org, root, **kwargs) for org in orgs]
