"""`vllm` / `vllm:PATH`: vLLM's offline engine in-process, for GPU machines (the `[vllm]` extra).

The same model paths as `local` (the embedded model when no path is given; a .gguf is converted once to a
transformers folder, which vLLM loads), the same generation parameters and seeds, replies through the model's
chat template. Options: `;gpu_memory_utilization=0.85`, `;max_model_len=4096`, `;dtype=auto`,
`;tensor_parallel_size=1`. Without vLLM or a GPU the target is refused in one line.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import TargetError
from ..records import Conversation, Generation, GenerationParams, conversation_to_dicts
from .base import TargetSpec, registry
from .local import EMBEDDED_NAME, converted_gguf, resolve_model_path

ENGINE_OPTIONS = {"gpu_memory_utilization": float, "max_model_len": int, "dtype": str, "tensor_parallel_size": int}


class VLLMTarget:
    """Batches go to vLLM's continuous-batching engine as one call (it schedules them itself)."""

    def __init__(self, rest: str = "", **options: Any) -> None:
        try:
            from vllm import LLM
        except ImportError:
            raise TargetError("the vllm target needs vLLM and a GPU: pip install 'redline[vllm]'") from None
        folder, gguf = resolve_model_path(rest)
        path = converted_gguf(folder, gguf) if gguf else folder
        engine = {k: cast(options[k]) for k, cast in ENGINE_OPTIONS.items() if k in options}
        try:
            self.llm = LLM(model=str(path), seed=0, **engine)
        except Exception as exc:  # noqa: BLE001 - no GPU, out of memory, unsupported model: one line
            raise TargetError(f"vLLM cannot load {path}: {type(exc).__name__}: {exc}"[:400]) from None
        self.id = f"vllm:{EMBEDDED_NAME if not rest else (gguf or folder.name)}"

    def generate(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        from vllm import SamplingParams

        sampling = SamplingParams(
            temperature=params.temperature, top_p=params.top_p, max_tokens=params.max_new_tokens, seed=params.seed
        )
        start = time.perf_counter()
        try:
            outputs = self.llm.chat([conversation_to_dicts(c) for c in batch], sampling, use_tqdm=False)
        except Exception as exc:  # noqa: BLE001 - a failed batch becomes per-attempt errors
            return [Generation(error=f"{type(exc).__name__}: {exc}") for _ in batch]
        per = (time.perf_counter() - start) / max(1, len(batch))
        return [
            Generation(
                text=o.outputs[0].text, tokens=len(o.outputs[0].token_ids),
                finish_reason=o.outputs[0].finish_reason, latency_s=per,
            )
            for o in outputs
        ]

    def close(self) -> None:
        self.llm = None


@registry.register("vllm")
def make_vllm_target(spec: TargetSpec, **options: object) -> VLLMTarget:
    return VLLMTarget(spec.rest, **{k: v for k, v in options.items() if k in ENGINE_OPTIONS})
