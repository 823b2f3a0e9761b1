"""Pure text encodings used by the encoding attacks, with decoders and an English-likeness check."""

from __future__ import annotations

import base64
import binascii
import codecs
import re

LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
UNLEET = {v: k for k, v in LEET.items()}

MORSE = {
    "A": ".-", "B": "-...", "C": "-.-.", "D": "-..", "E": ".", "F": "..-.", "G": "--.", "H": "....",
    "I": "..", "J": ".---", "K": "-.-", "L": ".-..", "M": "--", "N": "-.", "O": "---", "P": ".--.",
    "Q": "--.-", "R": ".-.", "S": "...", "T": "-", "U": "..-", "V": "...-", "W": ".--", "X": "-..-",
    "Y": "-.--", "Z": "--..", "0": "-----", "1": ".----", "2": "..---", "3": "...--", "4": "....-",
    "5": ".....", "6": "-....", "7": "--...", "8": "---..", "9": "----.", ".": ".-.-.-", ",": "--..--",
    "?": "..--..", "'": ".----.", "!": "-.-.--", "/": "-..-.", "(": "-.--.", ")": "-.--.-", ":": "---...",
    ";": "-.-.-.", "=": "-...-", "+": ".-.-.", "-": "-....-", '"': ".-..-.", "@": ".--.-.",
}
UNMORSE = {v: k for k, v in MORSE.items()}

COMMON_WORDS = frozenset(
    "the be to of and a in that have i it for not on with he as you do at this but his by from they we say "
    "her she or an will my one all would there their what so up out if about who get which go me when make "
    "can like time no just him know take people into year your good some could them see other than then now "
    "look only come its over think also back after use two how our work first well way even new want because "
    "any these give day most us is are was were here step steps sure need first next should must get using "
    "sorry cannot can't help request answer information provide".split()
)


def english_score(text: str) -> float:
    """Fraction of alphabetic words that are common English words (0 for no words)."""
    words = re.findall(r"[a-zA-Z']+", text.lower())
    if not words:
        return 0.0
    return sum(w in COMMON_WORDS for w in words) / len(words)


def b64_encode(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def b64_decode(text: str) -> str:
    return base64.b64decode("".join(text.split()), validate=True).decode("utf-8")


def rot13(text: str) -> str:
    return codecs.encode(text, "rot13")


def hex_encode(text: str) -> str:
    return " ".join(f"{b:02x}" for b in text.encode("utf-8"))


def hex_decode(text: str) -> str:
    cleaned = re.sub(r"0x|\\x|[\s,]", "", text)
    return bytes.fromhex(cleaned).decode("utf-8")


def leet_encode(text: str) -> str:
    """Lower-case vowels and s/t become digits; upper case and other letters stay."""
    return "".join(LEET.get(ch, ch) for ch in text)


def leet_decode(text: str) -> str:
    return "".join(UNLEET.get(ch, ch) for ch in text)


def morse_encode(text: str) -> str:
    """Letters separated by spaces, words by ' / '; characters without a Morse code are dropped."""
    words = []
    for word in text.upper().split():
        codes = [MORSE[ch] for ch in word if ch in MORSE]
        if codes:
            words.append(" ".join(codes))
    return " / ".join(words)


def morse_decode(text: str) -> str:
    words = re.split(r"\s*/\s*|\s{3,}", text.strip())
    return " ".join("".join(UNMORSE.get(code, "?") for code in word.split()) for word in words if word)


def reverse(text: str) -> str:
    return text[::-1]


def _printable(text: str) -> bool:
    return bool(text) and sum(ch.isprintable() or ch.isspace() for ch in text) / len(text) > 0.95


_B64_RUN = re.compile(r"[A-Za-z0-9+/]{12,}={0,2}")
_HEX_RUN = re.compile(r"(?:(?:0x)?[0-9a-fA-F]{2}[ ,]?){6,}")


def decode_runs(text: str, pattern: re.Pattern[str], decoder) -> str:  # noqa: ANN001
    """Replace every run matching `pattern` with its decoding, when it decodes to printable text."""

    def sub(match: re.Match[str]) -> str:
        try:
            out = decoder(match.group(0))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return match.group(0)
        return out if _printable(out) else match.group(0)

    return pattern.sub(sub, text)


def decode_base64_reply(text: str) -> str:
    try:
        whole = b64_decode(text.strip())
        if _printable(whole):
            return whole
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    return decode_runs(text, _B64_RUN, b64_decode)


def decode_hex_reply(text: str) -> str:
    return decode_runs(text, _HEX_RUN, hex_decode)


def decode_if_better(text: str, decoder) -> str:  # noqa: ANN001
    """Apply `decoder` when its output reads more like English than the reply does."""
    decoded = decoder(text)
    return decoded if english_score(decoded) > english_score(text) + 0.05 else text


def decode_morse_reply(text: str) -> str:
    body = re.sub(r"\s", "", text)
    if not body or sum(ch in ".-/" for ch in body) / len(body) < 0.8:
        return text
    return morse_decode(text)
