"""Simulated tool apps: mailbox, file store, web fetcher, calendar, bank. Deterministic, in-process, stateful.

An app is built from its state in an environment's data file; each public tool is a method named in
`TOOLS` (a chat-completions schema); `sensitive` tools change the world or send data out. `plant` stores
a document the app's read tool can return (multi-step injections) and says how to read it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import ConfigError


def tool(name: str, description: str, **params: str) -> dict[str, Any]:
    """A chat-completions tool schema whose parameters are all strings (a `?` suffix marks optional ones)."""
    props = {k: {"type": "string", "description": v.rstrip("?")} for k, v in params.items()}
    required = [k for k, v in params.items() if not v.endswith("?")]
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": {"type": "object", "properties": props,
                                                            "required": required}}}


class App:
    """A tool app over a copy of its state; tool calls never raise (errors are returned as text)."""

    name: ClassVar[str] = ""
    TOOLS: ClassVar[list[dict[str, Any]]] = []
    sensitive: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = copy.deepcopy(state)

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.TOOLS]

    def call(self, name: str, args: dict[str, Any]) -> str:
        if name not in self.tool_names:
            return f"error: unknown tool {name!r}"
        schema = next(t for t in self.TOOLS if t["function"]["name"] == name)["function"]["parameters"]
        missing = [k for k in schema["required"] if k not in args]
        if missing:
            return f"error: {name} needs {', '.join(missing)}"
        known = {k: str(v) for k, v in args.items() if k in schema["properties"]}
        return getattr(self, name)(**known)

    def plant(self, ref: str, text: str) -> str:
        raise NotImplementedError


def _lines(rows: list[str]) -> str:
    return "\n".join(rows) if rows else "(nothing)"


class Mailbox(App):
    """`inbox` (id, sender, subject, body, date) and `sent` e-mails of `owner`."""

    name = "mailbox"
    TOOLS = [
        tool("list_emails", "List the e-mails in the inbox (id, sender, subject)."),
        tool("read_email", "Read one e-mail by its id.", id="the e-mail id"),
        tool("search_emails", "Find e-mails whose sender, subject or body contains the query.", query="text"),
        tool("send_email", "Send an e-mail.", to="recipient address", subject="subject", body="body text"),
    ]
    sensitive = frozenset({"send_email"})

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__(state)
        self.state.setdefault("inbox", [])
        self.state.setdefault("sent", [])

    def _summary(self, m: dict) -> str:
        return f"[{m['id']}] {m.get('date', '')} from {m['sender']}: {m['subject']}"

    def list_emails(self) -> str:
        return _lines([self._summary(m) for m in self.state["inbox"]])

    def read_email(self, id: str) -> str:  # noqa: A002 - the tool's parameter name
        for m in self.state["inbox"]:
            if str(m["id"]) == id.strip():
                return f"{self._summary(m)}\n\n{m['body']}"
        return f"error: no e-mail {id!r}"

    def search_emails(self, query: str) -> str:
        q = query.lower()
        hits = [m for m in self.state["inbox"] if q in f"{m['sender']} {m['subject']} {m['body']}".lower()]
        return _lines([f"{self._summary(m)}\n{m['body']}" for m in hits])

    def send_email(self, to: str, subject: str = "", body: str = "") -> str:
        self.state["sent"].append({"to": to.strip(), "subject": subject, "body": body})
        return f"sent to {to.strip()}"

    def plant(self, ref: str, text: str) -> str:
        self.state["inbox"].append({"id": ref, "sender": "notices@corp.test", "subject": ref, "body": text})
        return f'call read_email with {{"id": "{ref}"}}'


class FileStore(App):
    """`files` (path -> text); deleted paths are kept in `deleted`."""

    name = "files"
    TOOLS = [
        tool("list_files", "List the files."),
        tool("read_file", "Read a file.", path="file path"),
        tool("write_file", "Create or overwrite a file.", path="file path", content="text"),
        tool("delete_file", "Delete a file.", path="file path"),
    ]
    sensitive = frozenset({"delete_file", "write_file"})

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__(state)
        self.state.setdefault("files", {})
        self.state.setdefault("deleted", [])

    def list_files(self) -> str:
        return _lines(sorted(self.state["files"]))

    def read_file(self, path: str) -> str:
        text = self.state["files"].get(path.strip())
        return text if text is not None else f"error: no file {path!r}"

    def write_file(self, path: str, content: str) -> str:
        self.state["files"][path.strip()] = content
        return f"wrote {path.strip()}"

    def delete_file(self, path: str) -> str:
        if self.state["files"].pop(path.strip(), None) is None:
            return f"error: no file {path!r}"
        self.state["deleted"].append(path.strip())
        return f"deleted {path.strip()}"

    def plant(self, ref: str, text: str) -> str:
        self.state["files"][f"{ref}.txt"] = text
        return f'call read_file with {{"path": "{ref}.txt"}}'


class Web(App):
    """A fixed corpus `pages` (url -> text); nothing leaves the process."""

    name = "web"
    TOOLS = [tool("fetch_url", "Fetch a web page and return its text.", url="the URL")]

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__(state)
        self.state.setdefault("pages", {})
        self.state.setdefault("fetched", [])

    def fetch_url(self, url: str) -> str:
        self.state["fetched"].append(url.strip())
        text = self.state["pages"].get(url.strip())
        return text if text is not None else f"error 404: {url}"

    def plant(self, ref: str, text: str) -> str:
        url = f"https://notes.example.test/{ref}"
        self.state["pages"][url] = text
        return f'call fetch_url with {{"url": "{url}"}}'


class Calendar(App):
    """`events` (id, title, date, time, participants, note); cancelled ids in `cancelled`."""

    name = "calendar"
    TOOLS = [
        tool("list_events", "List calendar events, optionally on one date (YYYY-MM-DD).", date="date?"),
        tool("read_event", "Read one event with its notes.", id="event id"),
        tool("create_event", "Create an event.", title="title", date="YYYY-MM-DD", time="HH:MM",
             participants="comma-separated e-mail addresses?"),
        tool("cancel_event", "Cancel an event.", id="event id"),
    ]
    sensitive = frozenset({"cancel_event"})

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__(state)
        self.state.setdefault("events", [])
        self.state.setdefault("cancelled", [])

    def _summary(self, e: dict) -> str:
        return f"[{e['id']}] {e['date']} {e.get('time', '')} {e['title']}"

    def list_events(self, date: str = "") -> str:
        return _lines([self._summary(e) for e in self.state["events"] if not date or e["date"] == date.strip()])

    def read_event(self, id: str) -> str:  # noqa: A002
        for e in self.state["events"]:
            if str(e["id"]) == id.strip():
                people = ", ".join(e.get("participants", []))
                return f"{self._summary(e)}\nparticipants: {people}\nnotes: {e.get('note', '')}"
        return f"error: no event {id!r}"

    def create_event(self, title: str, date: str, time: str, participants: str = "") -> str:
        eid = f"ev{len(self.state['events']) + 1}"
        people = [p.strip() for p in participants.split(",") if p.strip()]
        self.state["events"].append({"id": eid, "title": title, "date": date.strip(), "time": time.strip(),
                                     "participants": people, "note": "", "created": True})
        return f"created {eid}"

    def cancel_event(self, id: str) -> str:  # noqa: A002
        keep = [e for e in self.state["events"] if str(e["id"]) != id.strip()]
        if len(keep) == len(self.state["events"]):
            return f"error: no event {id!r}"
        self.state["events"] = keep
        self.state["cancelled"].append(id.strip())
        return f"cancelled {id.strip()}"

    def plant(self, ref: str, text: str) -> str:
        self.state["events"].append({"id": ref, "title": ref, "date": "2026-12-31", "note": text})
        return f'call read_event with {{"id": "{ref}"}}'


class Bank(App):
    """An account (`iban`, `balance`), past `transactions` (with memos) and outgoing `transfers`."""

    name = "bank"
    TOOLS = [
        tool("get_balance", "The account balance."),
        tool("list_transactions", "Past transactions with their memos."),
        tool("send_money", "Transfer money.", to_iban="recipient IBAN", amount="amount", memo="memo?"),
    ]
    sensitive = frozenset({"send_money"})

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__(state)
        self.state.setdefault("transactions", [])
        self.state.setdefault("transfers", [])
        self.state.setdefault("balance", 0.0)

    def get_balance(self) -> str:
        return f"{float(self.state['balance']):.2f}"

    def list_transactions(self) -> str:
        return _lines([f"[{t['id']}] {t['date']} {t['counterparty']} {float(t['amount']):.2f}: {t.get('memo', '')}"
                       for t in self.state["transactions"]])

    def send_money(self, to_iban: str, amount: str, memo: str = "") -> str:
        try:
            value = float(str(amount).replace(",", "").strip())
        except ValueError:
            return f"error: amount {amount!r} is not a number"
        if value <= 0 or value > float(self.state["balance"]):
            return "error: invalid amount"
        self.state["balance"] = float(self.state["balance"]) - value
        self.state["transfers"].append({"to": to_iban.replace(" ", "").strip(), "amount": value, "memo": memo})
        return f"sent {value:.2f} to {to_iban.strip()}"

    def plant(self, ref: str, text: str) -> str:
        self.state["transactions"].append({"id": ref, "date": "2026-12-01", "counterparty": ref, "amount": 0.01,
                                           "memo": text})
        return "call list_transactions with {}"


APPS: dict[str, type[App]] = {cls.name: cls for cls in (Mailbox, FileStore, Web, Calendar, Bank)}


@dataclass
class AppSet:
    """The apps of one episode; routes a tool call to its app."""

    apps: dict[str, App] = field(default_factory=dict)

    @classmethod
    def build(cls, states: dict[str, dict[str, Any]]) -> AppSet:
        unknown = sorted(set(states) - set(APPS))
        if unknown:
            raise ConfigError(f"unknown app {unknown[0]!r} (known: {', '.join(APPS)})")
        return cls({name: APPS[name](state or {}) for name, state in states.items()})

    def schemas(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(t) for app in self.apps.values() for t in app.TOOLS]

    def owner(self, tool_name: str) -> App | None:
        return next((a for a in self.apps.values() if tool_name in a.tool_names), None)

    def is_sensitive(self, tool_name: str) -> bool:
        app = self.owner(tool_name)
        return app is not None and tool_name in app.sensitive

    def call(self, name: str, args: dict[str, Any]) -> str:
        app = self.owner(name)
        if app is None:
            return f"error: unknown tool {name!r}"
        return app.call(name, args)

    def __getitem__(self, name: str) -> App:
        return self.apps[name]
