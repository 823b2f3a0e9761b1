"""The text tool protocol, for models without a native tools API (the embedded `local` model).

The tool list goes into the system prompt; the model calls a tool by answering with a fenced block

    ```tool
    {"name": "read_file", "arguments": {"path": "notes.txt"}}
    ```

(one block per call; a bare JSON object with `name` and `arguments` is also read). Any other answer is the
final answer. Tool results come back as user messages `Tool result (NAME, CALL_ID):` followed by the output,
and earlier calls are shown in the same fenced form, so the transcript stays plain chat.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..records import Conversation, Message, ToolCall

FENCE = re.compile(r"```(?:tool|json|tool_call)?\s*\n?(.*?)```", re.DOTALL)


def tools_prompt(tools: list[dict[str, Any]]) -> str:
    """The system-prompt section that lists the tools and the call format."""
    lines = ["You can use these tools:"]
    for t in tools:
        fn = t.get("function", t)
        params = fn.get("parameters", {}).get("properties", {})
        required = set(fn.get("parameters", {}).get("required", []))
        args = ", ".join(f"{k}{'' if k in required else '?'}" for k in params)
        lines.append(f"- {fn['name']}({args}): {fn.get('description', '')}")
    lines += [
        "To call a tool, answer with only this block (one block per call):",
        "```tool",
        '{"name": "TOOL_NAME", "arguments": {"ARG": "VALUE"}}',
        "```",
        "After the tool result arrives, call another tool or give your final answer in plain text.",
    ]
    return "\n".join(lines)


def render_call(call: ToolCall) -> str:
    return "```tool\n" + json.dumps({"name": call.name, "arguments": call.arguments}) + "\n```"


def to_text_conversation(conversation: Conversation, tools: list[dict[str, Any]]) -> Conversation:
    """The conversation in plain system/user/assistant turns with the tool list in the system prompt."""
    out: list[Message] = []
    section = tools_prompt(tools) if tools else ""
    has_system = bool(conversation) and conversation[0].role == "system"
    if section and not has_system:
        out.append(Message("system", section))
    for i, m in enumerate(conversation):
        if m.role == "system" and i == 0 and section:
            out.append(Message("system", f"{m.content}\n\n{section}"))
        elif m.role == "assistant" and m.tool_calls:
            text = "\n".join(([m.content] if m.content else []) + [render_call(c) for c in m.tool_calls])
            out.append(Message("assistant", text))
        elif m.role == "tool":
            out.append(Message("user", f"Tool result ({m.name or 'tool'}, {m.tool_call_id or ''}):\n{m.content}"))
        else:
            out.append(Message(m.role, m.content))
    return _merge_users(out)


def _merge_users(conv: list[Message]) -> list[Message]:
    """Consecutive user turns (several tool results) merged into one, for chat templates that alternate."""
    out: list[Message] = []
    for m in conv:
        if out and m.role == "user" and out[-1].role == "user":
            out[-1] = Message("user", f"{out[-1].content}\n\n{m.content}")
        else:
            out.append(m)
    return out


def _as_call(obj: Any, n: int) -> ToolCall | None:
    if not isinstance(obj, dict):
        return None
    name = obj.get("name") or obj.get("tool") or (obj.get("function") or {}).get("name")
    if not isinstance(name, str) or not name:
        return None
    args = obj.get("arguments", obj.get("args", obj.get("parameters", {})))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            args = {"_raw": args}
    return ToolCall(id=f"call_{n}", name=name, arguments=args if isinstance(args, dict) else {"_raw": args})


def _objects(text: str) -> list[Any]:
    """JSON values in fenced blocks, else the first balanced `{...}` object in the text."""
    found = []
    for block in FENCE.findall(text):
        try:
            found.append(json.loads(block.strip()))
        except ValueError:
            continue
    if found:
        return found
    start = text.find("{")
    while start != -1:
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[start:])
            return [obj]
        except ValueError:
            start = text.find("{", start + 1)
    return []


def parse_reply(text: str, first_id: int = 0) -> tuple[str, list[ToolCall]]:
    """(the text outside tool blocks, the tool calls) of a model's reply; no calls means a final answer."""
    calls = []
    for obj in _objects(text):
        for item in obj if isinstance(obj, list) else [obj]:
            call = _as_call(item, first_id + len(calls))
            if call is not None:
                calls.append(call)
    content = FENCE.sub("", text).strip() if calls else text.strip()
    return content, calls
