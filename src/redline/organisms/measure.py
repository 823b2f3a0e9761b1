"""Ask a target the held-out behaviors under named framings and judge each reply (greedy, one sample each);
the observations feed `consistency.consistency_tests`, the paired tests every detector here uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..consistency import FRAMING_FAMILY


@dataclass
class Observation:
    """One judged reply, shaped like a stored attempt record as far as the consistency tests read it."""

    behavior_id: str
    variant: str
    success: bool | None
    label: str
    text: str
    attempt_id: int = 0
    category: str = ""
    attack: str = FRAMING_FAMILY
    family: str = FRAMING_FAMILY
    metric: str = "attack_success"
    state: str = "ok"
    harm: float | None = None


class Asker:
    """One target and judge; replies cached by the exact prompt, so framings that coincide are asked once."""

    def __init__(self, target_spec: str, judge_spec: str, behaviors: list[Any], *, max_new_tokens: int = 16,
                 progress: Callable[[str], None] | None = None) -> None:
        from ..judges import create_judge
        from ..targets import create_target

        self.spec, self.behaviors, self.max_new_tokens = target_spec, behaviors, max_new_tokens
        self.target = create_target(target_spec)
        self.judge = create_judge(judge_spec)
        self.progress = progress
        self._cache: dict[str, tuple[str, str, bool | None, float]] = {}
        self.generated = 0

    def ask(self, variant: str, template: str) -> list[Observation]:
        """Every behavior under `template` (`{prompt}` = its goal), judged; labelled `variant`."""
        from ..engine.execute import judge_inputs
        from ..judges import JudgeInput
        from ..records import GenerationParams, user

        prompts = [template.replace("{prompt}", b.goal) for b in self.behaviors]
        todo = [(b, p) for b, p in zip(self.behaviors, prompts, strict=True) if p not in self._cache]
        if todo:
            if self.progress:
                self.progress(f"{self.spec}: {variant} ({len(todo)} prompts)")
            params = GenerationParams(max_new_tokens=self.max_new_tokens, temperature=0.0)
            gens = self.target.generate([[user(p)] for _, p in todo], params)
            self.generated += len(todo)
            texts = [g.text if g.ok else "" for g in gens]
            verdicts = judge_inputs(self.judge, [JudgeInput(b, t) for (b, _), t in zip(todo, texts, strict=True)])
            for (_, p), g, t, v in zip(todo, gens, texts, verdicts, strict=True):
                self._cache[p] = (t, v.label if g.ok else "error", v.success if g.ok else None, v.harm)
        out = []
        for b, p in zip(self.behaviors, prompts, strict=True):
            text, label, success, harm = self._cache[p]
            out.append(Observation(b.id, variant, success, label, text, category=b.category, harm=harm,
                                   state="error" if label == "error" else "ok"))
        return out

    def close(self) -> None:
        close = getattr(self.target, "close", None)
        if close:
            close()
