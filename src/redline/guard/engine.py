"""The guard: input rails before the upstream, output rails after it (whole replies and stream windows),
the conversation rail across turns, one decision log.

A rail's `action` decides what a hit does: `block` (the policy's refusal instead of the reply; for input
rails the upstream is never called), `redact` (PII and secret spans masked; rails without spans block),
`flag` (logged only), `allow` (the rail does not run). A classifier that errors or overruns
`classifier_timeout_s` blocks (`fail: closed`) or lets the text through with a flag (`fail: open`).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..judges.echo import lines_of, without_repeated_lines
from ..redaction import redact as redact_secrets
from . import rails as r
from .conversation import ConversationTracker, conversation_key, replies_before_turns
from .policy import GuardPolicy

T = TypeVar("T")
STREAM_HOLDBACK = 48  # characters kept back in a stream so a PII item or secret is never cut in two


def own_reply(reply: str, messages: list[dict[str, str]]) -> str:
    """The reply without lines that repeat the request's own text (a many-shot prompt's fabricated answers, a
    dictated opening line): what content harm is read on, as the judges do (`judges.echo`)."""
    written = lines_of(m.get("content") or "" for m in messages if m.get("role") != "system")
    kept = without_repeated_lines(reply, written)
    return reply if kept is None else kept


class ClassifierError(Exception):
    """A classifier raised or timed out."""


@dataclass
class Decision:
    """One rail's finding on one request: the rail, its action, its score and what it saw."""

    rail: str
    action: str
    score: float = 0.0
    detail: str = ""
    view: str = ""  # the text the rail read, shortened (JSON-lines log and attempt params only, never the store)


@dataclass
class Check:
    """The outcome of a set of rails: the (possibly redacted) text, the decisions, and the blocking rail."""

    text: str = ""
    decisions: list[Decision] = field(default_factory=list)
    blocked_by: str | None = None
    goal: str = ""  # the request as the rails read it (the most harmful view), for the output rails
    harm: float = 0.0  # the request harm of `goal` (input checks), for the output rails' exchange reading
    conversation: str = ""  # the conversation id (given, or derived from the conversation)

    @property
    def blocked(self) -> bool:
        return self.blocked_by is not None


class DecisionLog:
    """JSON lines, one per decision, appended under a lock (texts pass through key redaction first), and, when
    given a `DecisionStore` (guard/record.py), the same decisions in the store."""

    def __init__(self, path: str | Path | None, store: Any = None) -> None:
        self.path = Path(path) if path else None
        self.store = store
        self._lock = threading.Lock()
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, request_id: str, conv_id: str, phase: str, decisions: list[Decision],
              latency_s: float = 0.0) -> None:
        if not decisions:
            return
        if self.store is not None:
            self.store.write(request_id, conv_id, phase, decisions, latency_s)
        if not self.path:
            return
        now = time.time()
        lines = [
            json.dumps({"ts": round(now, 3), "request_id": request_id, "conversation": conv_id, "phase": phase,
                        "latency_s": round(latency_s, 4),
                        **{k: (redact_secrets(v) if isinstance(v, str) else v) for k, v in asdict(d).items()}})
            for d in decisions
        ]
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


class Guard:
    """Rails around any upstream; thread-safe; one instance serves many requests."""

    def __init__(self, policy: GuardPolicy, readings: Any = None, log: str | Path | None = None,
                 store: Any = None) -> None:
        """`log`: a JSON-lines file; `store`: a `record.DecisionStore` (decisions also in the store)."""
        if readings is None:
            from .classify import Readings

            readings = Readings()
            readings.request_harm(["warm up"])  # load the encoder now, not inside the first request's timeout
            readings.content_harm([("warm up", "warm up")])
        self.policy = policy
        self.readings = readings
        self.log = DecisionLog(log, store)
        conv = policy.conversation
        self.tracker = ConversationTracker(conv.decay, conv.min_turn_risk, conv.expiry_s, conv.max_conversations)
        self._pool = cf.ThreadPoolExecutor(max_workers=4, thread_name_prefix="guard-classifier")

    # --- classifier calls ---------------------------------------------------------------------------------

    def _classify(self, fn: Callable[..., T], *args: Any) -> T:
        future = self._pool.submit(fn, *args)
        try:
            return future.result(timeout=self.policy.classifier_timeout_s)
        except cf.TimeoutError:
            raise ClassifierError(f"classifier timed out after {self.policy.classifier_timeout_s:g}s") from None
        except Exception as exc:  # noqa: BLE001 - any classifier failure is handled by fail open/closed
            raise ClassifierError(f"classifier error: {type(exc).__name__}: {exc}") from None

    def _failure(self, check: Check, rail: str, exc: ClassifierError) -> None:
        if self.policy.fail == "closed":
            check.decisions.append(Decision(rail, "block", 1.0, f"{exc} (fail closed)"))
            check.blocked_by = check.blocked_by or rail
        else:
            check.decisions.append(Decision(rail, "flag", 0.0, f"{exc} (fail open)"))

    def _hit(self, check: Check, rail: str, score: float, detail: str, view: str = "") -> None:
        action = getattr(self.policy.rails, rail, None)
        action = action.action if action is not None else self.policy.conversation.action
        check.decisions.append(Decision(rail, action, round(score, 4), detail, view))
        if action in ("block", "redact") and check.blocked_by is None:
            check.blocked_by = rail

    # --- input --------------------------------------------------------------------------------------------

    def check_input(self, messages: list[dict[str, str]], conv_id: str | None = None) -> Check:
        """Request harm (over decoded views and windows), jailbreak patterns, injection, conversation risk."""
        rails = self.policy.rails
        users = [m.get("content") or "" for m in messages if m.get("role") == "user"]
        check = Check(goal=users[-1] if users else "")
        if not users:
            return check
        pattern = r.jailbreak_patterns(messages)
        views = r.request_views(users[-1], pattern)
        conv_id = check.conversation = conv_id or conversation_key(messages)
        run_conv = self.policy.conversation.action != "allow"
        unseen = self.tracker.unseen(conv_id, users) if run_conv else 0
        earlier = users[len(users) - unseen : -1] if unseen > 1 else []  # unseen earlier turns, plain text only
        wants_harm = rails.request_harm.action != "allow" or rails.jailbreak.action != "allow" or run_conv
        harm = 0.0
        if wants_harm:
            try:
                scores = self._classify(self.readings.request_harm, views + earlier)
            except ClassifierError as exc:
                self._failure(check, "request_harm", exc)
                return check
            own = scores[: len(views)]
            best = max(range(len(own)), key=own.__getitem__)
            harm, check.goal = own[best], views[best]
            check.harm = harm
            if rails.request_harm.action != "allow" and harm >= rails.request_harm.threshold:
                self._hit(check, "request_harm", harm, f"request harm {harm:.2f}", _short(views[best]))
            if rails.jailbreak.action != "allow" and pattern.kinds:
                if harm >= rails.jailbreak.threshold:
                    self._hit(check, "jailbreak", harm, f"{', '.join(pattern.kinds)} with request harm {harm:.2f}")
                else:
                    check.decisions.append(Decision("jailbreak", "flag", round(harm, 4), ", ".join(pattern.kinds)))
            if run_conv:
                risks = [*scores[len(views) :], harm]
                try:
                    replies = self._reply_risks(messages, len(risks))
                except ClassifierError as exc:
                    self._failure(check, "conversation", exc)
                    return check
                risks = [max(a, b) for a, b in zip(risks, replies, strict=True)]
                score = self.tracker.update(conv_id, users, risks)
                if score >= self.policy.conversation.threshold:
                    from_replies = sum(b > a for a, b in zip([*scores[len(views) :], harm], replies, strict=True))
                    self._hit(check, "conversation", score, f"running risk {score:.2f} over {len(users)} turn(s)"
                              + (f", {from_replies} turn(s) scored by the reply before them" if from_replies else ""))
        if rails.injection.action != "allow":
            hits = r.injection_markers(messages)
            if hits:
                self._hit(check, "injection", 1.0, "; ".join(hits))
        if not check.decisions:  # every request leaves a line in the log, passes included
            check.decisions.append(Decision("input", "allow", round(harm, 4), "no input rail fired"))
        return check

    def _reply_risks(self, messages: list[dict[str, str]], n: int) -> list[float]:
        """Content harm of the assistant reply before each of the last `n` user turns (0 where there is none)."""
        if not self.policy.conversation.score_replies or n == 0:
            return [0.0] * n
        pairs = replies_before_turns(messages)[-n:]
        todo = [p for p in pairs if p is not None]
        harms = iter(self._classify(self.readings.content_harm, todo) if todo else [])
        return [next(harms) if p is not None else 0.0 for p in pairs]

    # --- output -------------------------------------------------------------------------------------------

    def check_output(self, goal: str, reply: str, messages: list[dict[str, str]],
                     request_harm: float | None = None) -> Check:
        """Content harm of the reply (read with the request's harm: `request_harm`, the input check's `harm`,
        is read again from `goal` when not given), system-prompt and secret leaks, PII (redacted in `Check.text`)."""
        rails = self.policy.rails
        check = Check(text=reply, goal=goal)
        harm = 0.0
        floor = rails.output_harm.min_request_harm
        own = own_reply(reply, messages)
        if rails.output_harm.action != "allow" and own.strip():
            try:
                harm = self._classify(self.readings.content_harm, [(goal, own)])[0]
                if harm >= rails.output_harm.threshold and floor > 0 and request_harm is None:
                    request_harm = self._classify(self.readings.request_harm, [goal])[0]
            except ClassifierError as exc:
                self._failure(check, "output_harm", exc)
            if harm >= rails.output_harm.threshold:
                if request_harm is not None and request_harm < floor:
                    check.decisions.append(Decision("output_harm", "flag", round(harm, 4), f"content harm {harm:.2f}"
                                                    f" answering request harm {request_harm:.2f} (under {floor:g})"))
                else:
                    self._hit(check, "output_harm", harm, f"content harm {harm:.2f}")
        if rails.leak.action != "allow":
            found = r.leaks(reply, messages)
            if found:
                if rails.leak.action == "redact":
                    check.text = redact_secrets(check.text)
                    check.decisions.append(Decision("leak", "redact", 1.0, "; ".join(found)))
                else:
                    self._hit(check, "leak", 1.0, "; ".join(found))
        if rails.pii.action != "allow":
            found = r.pii_findings(check.text)
            if found:
                kinds = sorted({f.kind for f in found})
                if rails.pii.action == "redact":
                    check.text = r.redact_pii(check.text)
                    check.decisions.append(Decision("pii", "redact", 1.0, f"{len(found)} item(s): {', '.join(kinds)}"))
                else:
                    self._hit(check, "pii", 1.0, f"{len(found)} item(s): {', '.join(kinds)}")
        if check.blocked:
            check.text = self.policy.refusal
        if not check.decisions:
            check.decisions.append(Decision("output", "allow", round(harm, 4), "no output rail fired"))
        return check

    def stream(self, goal: str, messages: list[dict[str, str]], request_harm: float | None = None) -> StreamCheck:
        return StreamCheck(self, goal, messages, request_harm)

    def new_request_id(self) -> str:
        return "guard-" + uuid.uuid4().hex[:16]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.log.close()


class StreamCheck:
    """Output rails over a stream: text is released in windows after the rails read everything so far.

    The last `STREAM_HOLDBACK` characters are held back (never cutting inside a PII item), so a card number
    or secret split across chunks is redacted or blocked before any part of it leaves. A window that fails
    the harm or leak rail ends the stream: the client gets the refusal and `finish_reason: content_filter`.
    """

    def __init__(self, guard: Guard, goal: str, messages: list[dict[str, str]],
                 request_harm: float | None = None) -> None:
        self.guard, self.goal, self.messages, self.request_harm = guard, goal, messages, request_harm
        self.raw = ""
        self.sent = 0  # characters of `raw` already released
        self.checked = 0
        self.decisions: list[Decision] = []
        self.blocked_by: str | None = None

    def feed(self, chunk: str) -> str:
        """Take upstream text; return the text that may be sent now ('' while a window fills)."""
        if self.blocked_by:
            return ""
        self.raw += chunk
        if len(self.raw) - self.checked < self.guard.policy.stream_window_chars:
            return ""
        return self._release(final=False)

    def finish(self) -> str:
        """The rest of the text after the last window is checked (or '' when the stream was cut)."""
        if self.blocked_by:
            return ""
        return self._release(final=True)

    def _release(self, final: bool) -> str:
        self.checked = len(self.raw)
        check = self.guard.check_output(self.goal, self.raw, self.messages, self.request_harm)
        self.decisions = list(check.decisions)
        if check.blocked:
            self.blocked_by = check.blocked_by
            return ""
        cut = len(self.raw) if final else max(self.sent, len(self.raw) - STREAM_HOLDBACK)
        findings = r.pii_findings(self.raw) if self.guard.policy.rails.pii.action == "redact" else []
        for f in findings:
            if f.start < cut < f.end:
                cut = f.start
        cut = max(cut, self.sent)
        out, pos = [], self.sent
        for f in findings:
            if f.start >= self.sent and f.end <= cut:
                out += [self.raw[pos : f.start], f.redacted]
                pos = f.end
        out.append(self.raw[pos:cut])
        self.sent = cut
        text = "".join(out)
        if self.guard.policy.rails.leak.action == "redact":
            text = redact_secrets(text)
        return text


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."
