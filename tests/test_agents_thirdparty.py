"""The `openai:` tools path against a real third-party OpenAI-compatible server: `transformers serve` (the
`[dev]` extra installs its fastapi/openai needs) serving the embedded model's converted folder on 127.0.0.1.

The embedded model's chat template has no tool-call format, so this server sends its replies back as plain
content; the test checks what the path must do with any server: tool schemas and tool-call history accepted,
replies parsed into the episode, and `tool_calls` parsed into `ToolCall`s whenever the server returns them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from redline.agents.loop import EpisodeSpec, run_episodes, setup
from redline.records import ToolCall
from redline.targets import create_target

pytest.importorskip("fastapi", reason="transformers serve needs fastapi (the [dev] extra)")
pytest.importorskip("openai", reason="transformers serve needs openai (the [dev] extra)")
pytest.importorskip("transformers")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served() -> tuple[str, str]:
    """(base URL, model id) of `transformers serve` on a free loopback port, stopped after the module."""
    from redline.targets.local import converted_gguf, resolve_model_path

    folder, gguf = resolve_model_path("")
    model = str(converted_gguf(folder, gguf) if gguf else folder)
    exe = shutil.which("transformers", path=str(Path(sys.executable).parent)) or "transformers"
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    proc = subprocess.Popen([exe, "serve", model, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
                             "--dtype", "float32", "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited: {proc.stderr.read().decode()[-800:]}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("transformers serve did not become healthy in 120 s")
        yield f"{base}/v1", model
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_tools_request_is_accepted_and_the_reply_parsed(served):
    base, model = served
    target = create_target(f"openai:{model}@{base};timeout=300")
    assert target.supports_tools  # schemas go in the request's `tools`, not into the system prompt
    # prefill 1: the history sent already holds an assistant tool call and its `tool` result
    ep = setup(EpisodeSpec("files/send_slides", "none", "send_data", "important", prefill=1))
    run_episodes(target, [ep], max_new_tokens=8, max_steps=1)
    assert ep.error is None, ep.error
    assert ep.steps == 1 and ep.tokens > 0 and ep.done
    assert [m.role for m in ep.messages[:4]] == ["system", "user", "assistant", "tool"]
    reply = ep.messages[-1]
    assert reply.role in ("assistant", "tool")
    if reply.role == "assistant" and not reply.tool_calls:  # no tool format in this model's template
        assert reply.content == ep.answer and ep.answer.strip()
    else:  # the server parsed tool calls: they were executed against the episode's apps
        assert len(ep.log) > 1 and all(isinstance(c["name"], str) for c in ep.log)
    assert ep.utility is not None and ep.attack_success is not None


def test_raw_tool_calls_of_this_server_parse_when_present(served):
    """The same request over plain HTTP: the server's response shape is chat completions; any `tool_calls`
    it returns parse into `ToolCall`s (as the `openai:` target reads them)."""
    base, model = served
    ep = setup(EpisodeSpec("web/weather"))
    body = {"model": model, "messages": [m.to_dict() for m in ep.messages], "tools": ep.tools, "max_tokens": 8,
            "temperature": 0}
    data = httpx.post(f"{base}/chat/completions", json=body, timeout=300).json()
    choice = data["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] in ("stop", "length", "tool_calls")
    calls = [ToolCall.from_dict(c) for c in choice["message"].get("tool_calls") or ()]
    assert all(c.name and isinstance(c.arguments, dict) for c in calls)
    assert calls or choice["message"]["content"].strip()
    assert data["model"] == model and 0 < data["usage"]["completion_tokens"] <= 8
