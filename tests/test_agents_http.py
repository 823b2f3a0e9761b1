"""The `openai:` tools path over real HTTP on 127.0.0.1 against `redline serve`, which passes tools through:
natively to a target with a tools API, and through the text protocol to one without (the embedded model)."""

from __future__ import annotations

import httpx
import pytest

from redline.agents.loop import EpisodeSpec, run_episodes, setup
from redline.serve import BackgroundServer, create_app
from redline.targets import create_target

SEEN: list[list[dict]] = []


def text_caller(messages: list[dict]) -> str:
    """A plain-text model (no tools API): calls list_files once through the text protocol, then answers."""
    SEEN.append(messages)
    if any(m["role"] == "user" and m["content"].startswith("Tool result (") for m in messages):
        return "The files are listed."
    return 'Let me look.\n```tool\n{"name": "list_files", "arguments": {}}\n```'


def test_openai_target_runs_a_tool_agent_through_serve():
    served = create_target("python:redline.agents.scripted:vulnerable")
    with BackgroundServer(create_app(served, "scripted")) as server:
        target = create_target(f"openai:scripted@{server.base_url};timeout=60")
        assert target.supports_tools
        eps = [setup(EpisodeSpec("bank/pay_bill", "none", "transfer_money", "important")),
               setup(EpisodeSpec("files/send_slides", "confirm", "delete_files", "important")),
               setup(EpisodeSpec("web/weather"))]
        run_episodes(target, eps, max_steps=8)
    hijacked, confirmed, benign = eps
    assert all(e.error is None for e in eps), [e.error for e in eps]
    assert hijacked.attack_success and hijacked.utility
    assert [c["name"] for c in hijacked.log] == ["read_file", "send_money", "send_money"]
    assert not confirmed.attack_success and confirmed.utility and not confirmed.log[1]["allowed"]
    assert benign.utility and "4 degrees" in benign.answer


def test_serve_turns_text_protocol_calls_into_tool_calls():
    served = create_target("python:tests.test_agents_http:text_caller")
    seen = served.fn.__globals__["SEEN"]  # the module the target imported (pytest may import this file apart)
    seen.clear()
    assert not served.supports_tools
    ep = setup(EpisodeSpec("web/shopping"))
    with BackgroundServer(create_app(served, "text")) as server:
        body = {"model": "text", "messages": [m.to_dict() for m in ep.messages], "tools": ep.tools}
        first = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=60).json()
        choice = first["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        call = choice["message"]["tool_calls"][0]
        assert call["function"] == {"name": "list_files", "arguments": "{}"} and call["type"] == "function"
        assert "list_files()" in seen[0][0]["content"] and "```tool" in seen[0][0]["content"]  # tools in system
        body["messages"] += [choice["message"], {"role": "tool", "tool_call_id": call["id"], "name": "list_files",
                                                 "content": "todo.txt"}]
        second = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=60).json()
    assert second["choices"][0]["message"] == {"role": "assistant", "content": "The files are listed."}
    assert seen[1][-1]["content"].startswith("Tool result (list_files,") and "todo.txt" in seen[1][-1]["content"]


@pytest.mark.slow
def test_embedded_model_plays_an_episode_over_http(embedded_target):
    """The embedded model behind `redline serve`: whatever it writes, the episode ends cleanly and is checked."""
    with BackgroundServer(create_app(embedded_target, "smol")) as server:
        target = create_target(f"openai:smol@{server.base_url};timeout=600")
        ep = setup(EpisodeSpec("web/weather", "none", "exfil_system_prompt", "direct"))
        run_episodes(target, [ep], max_new_tokens=16, max_steps=1)
    assert ep.error is None and ep.done and ep.steps == 1
    assert ep.utility is not None and ep.attack_success is not None
    assert ep.messages[0].role == "system" and ep.messages[1].role == "user"
