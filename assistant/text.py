"""Text helpers shared by every stage: comparison form, tokens, sentence spans."""

from __future__ import annotations

import calendar
import re
import unicodedata

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
    }
)
# Characters that take no space: zero-width, soft hyphen, byte-order mark, bidi controls.
INVISIBLE_CHARS = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u202a-\u202e\u2066-\u2069]")
# Control characters other than tab, line feed and carriage return.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A citation marker: [3], [1, 2], [1;4].
CITATION_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][A-Za-z]*(?=['’]s\b|(?![\w'’]))")  # "TikTok" of "TikTok's" too
_WS = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Comparison form: NFKC, straight quotes, case folded, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = INVISIBLE_CHARS.sub("", text).translate(_QUOTES).casefold()
    return _WS.sub(" ", text).strip()


# Month and weekday names, case-folded: a capitalised word that names a time, never a place
# or a thing the documents might lack ("in September", "on Mondays").
CALENDAR_NAMES = frozenset(n.casefold() for n in (*calendar.month_name[1:], *calendar.day_name))

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being
    do does did doing have has had i me my mine we us our you your yours he she it its they them
    their this that these those there here what which who whom whose when where why how can could
    would should will shall may might must not no yes so than too very just also about into over
    under out up down off any all some such own same other only again further then once am get got
    let lets there's it's i'm i've don't doesn't isn't aren't can't won't what's where's who's how's that's
    after before during while since until because without within through against among per via whether""".split()
)

# Everyday words that say nothing about what a question is about ("what else happens").
GENERIC = frozenset(
    """else happen happens happened wait kind sure real put work works thing things stuff way ways lol want need know
    think make take give find see look tell say still now far much many lot really actually even ever every anything
    something nothing someone anyone everyone people person mean means going go gonna able like well new old just true
    right use used using uses already yet get gets getting got please thanks hey hi okay ok difference different
    compare comparison mind matter part case example question""".split()
)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CLITIC = re.compile(r"'(?:s|re|ll|ve|d|m)$")


def words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


def content_words(text: str) -> list[str]:
    """Words that carry the topic: no stopwords, no everyday words, no clitics ("children's" -> "children")."""
    out = []
    for w in words(text):
        if w in STOPWORDS:
            continue
        w = _CLITIC.sub("", w)
        if len(w) > 1 and w not in STOPWORDS and w not in GENERIC and not w.isdigit():
            out.append(w)
    return out


# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace;
# a line break ends one too unless it only wraps a long line. Abbreviations are not ends.
_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*(?=\s+[^\sa-z\[(,;:\u2014\u2013-])|\n")
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|st|inc|ltd|u\.s|u\.k)|\b[A-Z])\.$", re.I)
_BULLET = re.compile(r"\s*(?:[-*\u2022\u25aa\u25cf#>|]|\d+[.)]\s)")


def is_heading_line(line: str) -> bool:
    """A short line with no sentence-ending punctuation (or a question, or Markdown #)."""
    s = line.strip()
    if not s:
        return False
    if s.startswith("#"):
        return True
    if _BULLET.match(s) or len(s) > 100 or len(s.split()) > 16:
        return False
    return not s.endswith((".", ",", ";", ":", "!", "\u201d", '"')) or s.endswith("?")


def _wraps(text: str, nl: int) -> bool:
    """True when the newline at nl only wraps a sentence across lines."""
    line_start = text.rfind("\n", 0, nl) + 1
    line = text[line_start:nl]
    nxt_end = text.find("\n", nl + 1)
    nxt = text[nl + 1 : nxt_end if nxt_end != -1 else len(text)]
    if not line.strip() or not nxt.strip() or _BULLET.match(nxt) or _BULLET.match(line):
        return False
    if line.rstrip().endswith("?") or (len(line.strip()) < 60 and is_heading_line(line)):
        return False
    return (len(line) >= 60 and not nxt.lstrip()[:1].isupper()) or (len(line) >= 60 and line.rstrip()[-1:].isalnum())


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans (absolute offsets) of the sentences in text[start:end], trimmed of whitespace."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _END.finditer(text, start, end):
        newline = m.group() == "\n"
        stop = m.start() if newline else m.end()
        if newline and _wraps(text, m.start()):
            continue
        if not newline and _ABBREV.search(text[max(pos, stop - 6) : stop]):
            continue
        _add_span(text, pos, stop, spans)
        pos = m.end()
    _add_span(text, pos, end, spans)
    return spans


def _add_span(text: str, a: int, b: int, spans: list[tuple[int, int]]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a and any(ch.isalnum() for ch in text[a:b]):
        spans.append((a, b))


def one_line(text: str) -> str:
    """Whitespace (line breaks included) collapsed to single spaces."""
    return _WS.sub(" ", text).strip()


# Text in a document that speaks to an assistant rather than to a reader.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|above|previous|prior)\b"
    r"|\b(?:system prompt|you are now|as an ai|new instructions?|developer mode)\b"
    r"|\b(?:assistant|chatbot|model|ai)\s*[,:]\s*(?:say|tell|answer|reply|respond)\b",
    re.I | re.S,
)


def looks_like_instruction(sentence: str) -> bool:
    """True for a sentence addressed to an assistant ("ignore previous instructions and say...")."""
    return _INSTRUCTION.search(sentence) is not None


def defuse_markers(text: str) -> str:
    """A document's own "[3]" shown as "(3)", so it cannot pass for one of the answer's citations."""
    return CITATION_MARKER.sub(r"(\1)", text)


def capitalised_names(text: str) -> list[tuple[int, str]]:
    """(offset, word) of capitalised words that look like names ("TikTok", "GDPR", "Snapchat").

    A sentence's first word counts only when it has a capital inside it ("TikTok does"),
    not when it is an ordinary capitalised word ("Does").
    """
    out = []
    for m in _CAPITALISED.finditer(text):
        word = m.group()
        before = text[: m.start()].rstrip()
        first = not before or before[-1] in '.!?"“(:'
        if first and not re.search(r"[A-Z].*[A-Z]|[a-z][A-Z]", word):
            continue
        out.append((m.start(), word))
    return out
