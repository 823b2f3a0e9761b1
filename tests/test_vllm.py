"""The `vllm:` target: refused in one line where vLLM or a GPU is missing (CI); on a GPU machine with vLLM,
greedy replies of the embedded model agree with the transformers `local` target."""

from __future__ import annotations

import importlib.util

import pytest

from redline.cli.main import main
from redline.records import GenerationParams, user

HAS_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here; the refusal is for machines without it")
def test_without_vllm_the_target_is_refused_in_one_line(tmp_path, capsys) -> None:
    db = tmp_path / "v.db"
    assert main(["scan", "--target", "vllm", "--db", str(db), "--limit", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "redline[vllm]" in err


@pytest.mark.skipif(not HAS_VLLM, reason="needs vLLM (the [vllm] extra) and a GPU")
def test_vllm_greedy_replies_match_transformers() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a GPU")
    from redline.targets import create_target

    prompts = [[user("What is the capital of France?")], [user("Name three primary colours.")]]
    params = GenerationParams(max_new_tokens=16)
    fast = create_target("vllm").generate(prompts, params)
    slow = create_target("local").generate(prompts, params)
    assert all(g.ok for g in fast)
    same = sum(a.text.strip()[:20] == b.text.strip()[:20] for a, b in zip(fast, slow, strict=True))
    assert same >= 1  # bf16 kernels may diverge after a few tokens; the opening agrees
