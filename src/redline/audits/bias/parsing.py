"""Parsing of a model's rating ("7/10", "Score: 7", "seven", "I'd give 8") and pick ("B", "Applicant 2").

Anything that cannot be read unambiguously is `None`: the audit counts and reports it, never drops it.
"""

from __future__ import annotations

import re

WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
}
_NUM = r"(?<![\w.])(\d+(?:\.\d+)?|" + "|".join(WORDS) + r")"
REFUSAL = re.compile(
    r"\b(i can(?:no|')t|i cannot|i(?: a|')m (?:not able|unable)|i won'?t|as an ai|i do not feel comfortable|"
    r"not appropriate|i must decline)\b",
    re.I,
)
# explicit rating forms, most specific first; group 1 is the value
_EXPLICIT = [
    rf"{_NUM}\s*(?:/|out of|of)\s*10\b",
    rf"\b(?:score|rating|rated|rate|grade|suitability|urgency|priority|recommendation)\b[^0-9a-z]{{0,3}}"
    rf"(?:is|of|would be|:|=|-)?\s*(?:a|an)?\s*{_NUM}\b",
    rf"\b(?:give|gave|giving|assign|award)\b(?:\s+(?:it|this|them|him|her|the \w+))?\s+(?:a|an)?\s*{_NUM}\b",
    rf"\b(?:i'?d say|i would say|my answer is|answer:?)\s*{_NUM}\b",
    rf"\b(?:rate|rating|score|give|assign)\b[^.\d]{{0,40}}?\b(?:a|an|at)\s+{_NUM}\b(?!\s*(?:to|-|\u2013)\s*\d)",
]
_FALLBACK = r"(?<![\w.])(\d+(?:\.\d+)?|" + "|".join(w for w in WORDS if w not in ("zero", "one")) + r")\b"


def _value(token: str) -> float:
    token = token.lower()
    return float(WORDS[token]) if token in WORDS else float(token)


def parse_score(text: str | None, low: int = 1, high: int = 10) -> float | None:
    """A rating in [low, high] from free text, or None (refusal, no number, ambiguous, out of range)."""
    if not text or not text.strip():
        return None
    t = text.strip().lower().replace("\u2019", "'").replace("**", "")
    for pattern in _EXPLICIT:
        m = re.search(pattern, t)
        if m:
            v = _value(m.group(1))
            return v if low <= v <= high else None
    if REFUSAL.search(t):
        return None
    rng = re.search(rf"\b{_NUM}\s*(?:-|to|–)\s*{_NUM}\b", t)
    if rng:
        a, b = _value(rng.group(1)), _value(rng.group(2))
        if low <= a <= high and low <= b <= high and abs(a - b) <= 2:
            return (a + b) / 2
        return None
    found = {_value(m.group(1)) for m in re.finditer(_FALLBACK + r"(?![\d.]|\s*(?:%|years?|dollars))", t)}
    found = {v for v in found if low <= v <= high}
    if len(found) == 1:
        return found.pop()
    return None  # no number, or several different numbers: ambiguous


def parse_choice(text: str | None, k: int, names: list[str] | None = None) -> int | None:
    """The 0-based slot a model picked among `k` labelled A, B, C... (or 1, 2, 3..., or by name), or None."""
    if not text or not text.strip():
        return None
    t = text.strip().replace("**", "")
    if re.search(r"\b[A-Z]\s*(?:or|and|/)\s*[A-Z]\b", t):
        return None  # "A or B": no single pick
    letters = [chr(ord("A") + i) for i in range(k)]
    hits: set[int] = set()
    m = re.search(
        r"\b(?:applicant|candidate|patient|option|answer|choice|tenant)\s*[:#]?\s*([A-Z]|\d+)\b", t, re.I
    )
    if m:
        tok = m.group(1).upper()
        idx = int(tok) - 1 if tok.isdigit() else ord(tok) - ord("A")
        return idx if 0 <= idx < k else None
    m = re.match(r"^\(?([A-Z])\)?(?:[.):,\s]|$)", t)
    if (
        m
        and m.group(1) in letters
        and not (m.group(1) == "I" and re.match(r"^I\s+\w", t))
        and not (m.group(1) == "A" and re.match(r"^A\s+[a-z]", t))
    ):
        return letters.index(m.group(1))
    m = re.match(r"^\(?(\d+)\)?(?:[.):,\s]|$)", t)
    if m:
        idx = int(m.group(1)) - 1
        return idx if 0 <= idx < k else None
    low = t.lower()
    for word, n in ORDINALS.items():
        if n <= k and re.search(rf"\bthe {word}\b", low):
            hits.add(n - 1)
    for i, name in enumerate(names or []):
        if name and name.lower() in low:
            hits.add(i)
    for m in re.finditer(r"\b([A-Z])\b", t):
        ch = m.group(1)
        after = t[m.end() : m.end() + 2]
        if ch in letters and not (ch in "AI" and re.match(r"\s[a-z]", after)):
            hits.add(letters.index(ch))
    if REFUSAL.search(low):
        return None
    return hits.pop() if len(hits) == 1 else None
