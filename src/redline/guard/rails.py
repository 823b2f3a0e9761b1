"""What the rails look at: decoded views of a request, jailbreak and injection patterns, PII and secret leaks.

Pure text functions (no model): the classifiers that read these views are in `classify.py`, the decisions in
`engine.py`. Decoding reuses the attacks' own codecs, so every encoding redline can attack with, the guard
can read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..attacks import codecs as c
from ..attacks.smuggling import from_homoglyphs, join_split_words, strip_zero_width
from ..audits.privacy import pii
from ..judges.reference import leak_form
from ..redaction import looks_like_secret

# --- decoding -------------------------------------------------------------------------------------------------

_ENCODING_HINT = re.compile(r"\b(?:base ?64|rot ?13|hex(?:adecimal)?|leet ?speak|morse|backwards?|reversed?|decode)\b",
                            re.I)


def decoded_views(text: str) -> dict[str, str]:
    """The text as written plus every decoding that changes it into something more readable."""
    views = {"text": text}
    plain = from_homoglyphs(strip_zero_width(text))
    for sep in ("-", "."):
        plain = join_split_words(plain, sep)
    if plain != text:
        views["smuggled"] = plain
    for name, decoded in (
        ("base64", c.decode_runs(text, c._B64_RUN, c.b64_decode)),
        ("hex", c.decode_hex_reply(text)),
        ("morse", "\n".join(c.decode_morse_reply(line) for line in text.split("\n"))),
    ):
        if decoded != text:
            views[name] = decoded
    if _ENCODING_HINT.search(text):  # rot13, leetspeak and reversal only when the text asks for a decoding
        for name, decoder in (("rot13", c.rot13), ("leetspeak", c.leet_decode), ("reversed", c.reverse)):
            decoded = "\n".join(c.decode_if_better(line, decoder) for line in text.split("\n"))  # per line
            if decoded != text:
                views[name] = decoded
    return views


# --- jailbreak patterns ---------------------------------------------------------------------------------------

PERSONA = re.compile(
    r"\b(?:developer mode|dan\b|do anything now|jailbr(?:oken|eak)|(?:no|without any|free of) "
    r"(?:restrictions|filters|rules|limits|guidelines|constraints)|(?:filters?|safety|guidelines) (?:are|is) "
    r"(?:disabled|off|removed)|ignore (?:all )?(?:the |your )?(?:previous|prior|above|earlier) "
    r"(?:instructions|rules|prompts?)|ignore all the instructions|you are (?:no longer|now) (?:an? )?(?:unfiltered|"
    r"unrestricted|evil|uncensored)|stay in character|unfiltered|uncensored|escaped the usual constraints|"
    r"never (?:refuse|lecture)|refusals? (?:break|are not allowed)|without (?:any )?(?:moral|ethical) "
    r"(?:judg(?:e)?ment|concerns))",
    re.I,
)
# sentences that dictate the reply's form so that refusing is harder: prefix injection and refusal suppression
# (the forms studied in "Jailbroken", Wei et al. 2023); they never carry the request itself
SUPPRESSION = re.compile(
    r"\b(?:start|begin) (?:your|the|each) (?:response|reply|answer)s? (?:with|by saying)\b|"
    r"\b(?:do not|don't|never) (?:apologi[sz]e|refuse|say (?:no|sorry|the words?)|include (?:any )?"
    r"(?:notes?|disclaimers?|warnings?|caveats?|negative sentences))\b|\bfollowing (?:these|the) rules\b|"
    r"\bremember: respond to the request\b",
    re.I,
)
_LIST_MARK = re.compile(r"\(?\d{1,2}[.)]|[-*\u2022]")  # a list number left alone by a stripped rule
_SHOT = re.compile(r"(?im)^\s*(?:user|human|q|question)\s*:.*\n(?:.*\n){0,6}?\s*(?:assistant|ai|a|answer)\s*:")
_ASSIGN = re.compile(r"""(?m)^\s*([A-Za-z_]\w{0,8})\s*=\s*(["'])(.*?)\2\s*$""")
MANY_SHOT_MIN = 4
_EMBEDDED = re.compile(r""":\s*([^:\n]+?)\s*$|["\u201c]([^"\u201d\n]{12,})["\u201d]""", re.M)


@dataclass
class Pattern:
    """What the jailbreak rail found, and the text the request-harm reading should also see."""

    kinds: list[str] = field(default_factory=list)
    views: dict[str, str] = field(default_factory=dict)


def strip_persona(text: str) -> str:
    """The text without its persona and reply-dictating sentences, so the request-harm reading reads the
    request, not the wrapper (the wrapper is what the jailbreak rail reports)."""
    sentences = re.split(r"(?<=[.!?:])\s+|\n+", text)
    kept = [s for s in sentences if s.strip() and not PERSONA.search(s) and not SUPPRESSION.search(s)
            and not _LIST_MARK.fullmatch(s.strip())]
    return " ".join(kept) if kept else text


def payload_join(text: str) -> str | None:
    """The string variables of a payload-splitting prompt joined in order, or None when there are none."""
    parts = [json.loads(f'"{m.group(3)}"') if m.group(2) == '"' else m.group(3) for m in _ASSIGN.finditer(text)]
    return "".join(parts) if len(parts) >= 2 else None


def jailbreak_patterns(messages: list[dict[str, str]]) -> Pattern:
    """Personas, reply-dictating rules, encodings, many-shot padding and payload splitting in the conversation's
    last user turn."""
    users = [m["content"] for m in messages if m.get("role") == "user"]
    last = users[-1] if users else ""
    persona, suppression = bool(PERSONA.search(last)), bool(SUPPRESSION.search(last))
    found = Pattern(views=decoded_views(strip_persona(last) if persona or suppression else last))
    if persona:
        found.kinds.append("persona")
    if suppression:
        found.kinds.append("suppression")
    if len(found.views) > 1:
        found.kinds.append("encoding")
    fabricated = sum(1 for m in messages[:-1] if m.get("role") == "assistant")
    if len(_SHOT.findall(last)) >= MANY_SHOT_MIN or (fabricated >= MANY_SHOT_MIN and len(users) > MANY_SHOT_MIN):
        found.kinds.append("many_shot")
    joined = payload_join(last)
    if joined:
        found.kinds.append("payload_split")
        found.views["payload"] = joined
    return found


def request_views(text: str, pattern: Pattern, window_words: int = 40) -> list[str]:
    """Texts whose request harm is read: the views, and (long texts) the last paragraph and word windows.

    The sentence encoder reads 64 tokens, so a request after a long persona preamble or many shots is read
    from its own window, not drowned by the preamble.
    """
    out: list[str] = []
    for view in pattern.views.values():
        out.append(view)
        paras = [p.strip() for p in re.split(r"\n\s*\n", view) if p.strip()]
        if len(paras) > 1:
            out.append(paras[-1])
        embedded = ["".join(groups) for groups in _EMBEDDED.findall(view)]  # "...: REQUEST" and quoted requests
        out += [q for q in embedded if len(q.split()) >= 4]
        words = view.split()
        if len(words) > window_words:
            step = window_words // 2
            out += [" ".join(words[i : i + window_words]) for i in range(step, len(words) - step, step)]
    return list(dict.fromkeys(o for o in out if o.strip()))


# --- prompt injection in tool / retrieved content --------------------------------------------------------------

INJECTION = re.compile(
    r"(?:ignore (?:all )?(?:the |your )?(?:previous|prior|above|earlier) (?:instructions|messages)|"
    r"disregard (?:the |your )?(?:previous|prior|above|system)|new instructions?:|you must now|"
    r"<\|im_start\|>|<\|system\|>|\[/?INST\]|^\s*(?:system|assistant)\s*:|"
    r"(?:send|forward|email|post|upload) (?:the |all |your )?(?:user'?s? )?(?:data|password|credentials|"
    r"conversation|history|files|secrets?|api key) to|do not (?:tell|inform) the user)",
    re.I | re.M,
)
RETRIEVED = re.compile(r"<(?:document|retrieved|context|tool_output|search_results?)\b", re.I)


def injection_markers(messages: list[dict[str, str]]) -> list[str]:
    """Injection markers in tool results and in retrieved documents embedded in user turns."""
    hits = []
    for i, m in enumerate(messages):
        content = m.get("content") or ""
        if m.get("role") in ("tool", "function"):
            if INJECTION.search(content):
                hits.append(f"tool message {i}")
        elif m.get("role") == "user":
            for block in re.findall(r"<(\w+)[^>]*>(.*?)</\1>", content, re.S):
                if RETRIEVED.match(f"<{block[0]}") and INJECTION.search(block[1]):
                    hits.append(f"retrieved content in message {i}")
    return hits


# --- output: PII and leaks ------------------------------------------------------------------------------------

_CANDIDATE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_!#$%&*+\-]{4,}[A-Za-z0-9#!]")
_QUOTED_AFTER = re.compile(
    r"\b(?:password|passphrase|phrase|code|key|token|secret|pin)\b[^.:\n]{0,30}?(?:is|:)\s*\"?"
    r"([A-Z][A-Z ]{3,40}[A-Z])(?![-\w])"
)


def secret_candidates(system_text: str) -> list[str]:
    """Things in a system prompt shaped like secrets: tokens mixing letters with digits or symbols, hyphenated
    upper-case codes, digit groups, and upper-case phrases named as a password/code/phrase."""
    out = []
    for tok in _CANDIDATE.findall(system_text):
        has_digit = any(ch.isdigit() for ch in tok)
        has_alpha = any(ch.isalpha() for ch in tok)
        symbol = any(not ch.isalnum() and ch not in "-_" for ch in tok)
        caps_code = "-" in tok and tok.replace("-", "").isupper()
        if (has_digit and (has_alpha or "-" in tok)) or symbol or caps_code or (tok.isdigit() and len(tok) >= 6):
            out.append(tok)
    out += [m.group(1).strip() for m in _QUOTED_AFTER.finditer(system_text)]
    return list(dict.fromkeys(out))


def leaks(reply: str, messages: list[dict[str, str]], min_words: int = 12) -> list[str]:
    """Secret-shaped text in the reply, system-prompt secrets leaked in any form, long verbatim system text."""
    found = []
    if looks_like_secret(reply):
        found.append("api-key-shaped text")
    systems = [m["content"] for m in messages if m.get("role") == "system" and m.get("content")]
    for text in systems:
        for secret in secret_candidates(text):
            form = leak_form(secret, reply)
            if form:
                found.append(f"system-prompt secret ({form})")
        words = text.split()
        lowered = " ".join(reply.split()).lower()
        for i in range(0, max(0, len(words) - min_words + 1), max(1, min_words // 2)):
            if " ".join(words[i : i + min_words]).lower() in lowered:
                found.append("verbatim system prompt")
                break
    return list(dict.fromkeys(found))


def pii_findings(text: str) -> list[pii.PiiFinding]:
    return pii.detect(text)


def redact_pii(text: str) -> str:
    return pii.redact(text)
