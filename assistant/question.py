"""What a question asks: its cleaned text, the type of answer it wants, how-to or not."""

from __future__ import annotations

import re

from .dating import DATES
from .text import CONTROL_CHARS, content_words
from .types import AssistantError

_COUNT_Q = re.compile(r"\b(how (many|much|big|large|high)|what (percentage|share|number|amount|proportion))\b", re.I)
_DURATION_Q = re.compile(r"\bhow (long|quickly|soon|fast)\b", re.I)
_DURATION = re.compile(r"\d|\b(minutes?|hours?|days?|weeks?|months?|years?|immediately|instantly)\b", re.I)
_WHEN_Q = re.compile(r"^\s*(when|since when|what date|what day|by when)\b|\bwhat date\b", re.I)
_NUMBERISH = re.compile(
    r"\d|\b(two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?|millions?|billions?|percent)\b",
    re.I,
)
_DATEISH = re.compile(
    r"\d|\b(january|february|march|april|may|june|july|august|september|october|november|december|today|yesterday|minutes?|days?|weeks?|months?|years?)\b",
    re.I,
)
HOWTO_Q = re.compile(
    r"\b(how (do|can|would|should) (i|we|you|one|people|users)|how to|what steps|where (do|can) i|what do i (put|write|fill|need)|steps? to"
    r"|where\b[^?]{0,40}\b(go|goes|went|find|turn|switch|click|tap|setting|settings|form|toggle|button|link))\b",
    re.I,
)
PROCEDURE = re.compile(
    r"\b(go to|click|tap|select|visit|scroll|fill|submit|complete|input|enter|open|settings|form)\b|>", re.I
)


def clean_question(question: str, limit: int) -> str:
    """Validate a question: not empty, not longer than `limit` characters; control characters removed."""
    text = CONTROL_CHARS.sub(" ", question or "").strip()
    if not text:
        raise AssistantError("the question is empty; ask something about the documents")
    if len(text) > limit:
        raise AssistantError(f"the question is {len(text):,} characters long; the limit is {limit:,}")
    return text


COMMON_WORDS = frozenset(
    """please hi hello thanks ok okay yes no also and but so if is are do does can could would should will
    what when where why how who which my our your their""".split()
)


def answer_type(question: str) -> re.Pattern[str] | None:
    """What a sentence must hold to answer the question's type, if it has one."""
    if _COUNT_Q.search(question):
        return _NUMBERISH
    if _DURATION_Q.search(question):
        return _DURATION
    if _WHEN_Q.search(question):
        return _DATEISH
    return None


def without_type_words(question: str) -> str:
    """The question without the words that name the type of answer it wants ("what date",
    "how many", "what percentage"): they say what kind of answer, not what about, so the
    documents need not use them."""
    for pattern in (_COUNT_Q, _DURATION_Q, _WHEN_Q):
        question = pattern.sub(" ", question)
    return question


def missing_answer_type(question: str, evidence: str) -> str | None:
    """Why the evidence cannot answer a when / how-many / how-long question, or None."""
    if _COUNT_Q.search(question) and not _NUMBERISH.search(DATES.sub(" ", evidence)):  # a date is no figure
        return "They give no figure for that."
    if _DURATION_Q.search(question) and not _DURATION.search(evidence):
        return "They give no figure for that."
    if _WHEN_Q.search(question) and not _DATEISH.search(evidence):
        return "They give no date for that."
    return None


# Where a question's next part begins: after a "?", or after a comma, semicolon or "and"
# when a question word or an auxiliary opens what follows ("..., and are my DMs included?").
_ASKING = (
    r"(?:who|what|when|where|why|how|which|whose|from when|since when|until when|by when|"
    r"is|are|was|were|do|does|did|can|could|will|would|should|has|have|must|may)\b"
)
# An auxiliary that goes on with the verb of the question before it opens no part of its own:
# "Which model, Llama or something else, will actually be trained on my posts?"
_GOES_ON = (
    r"(?:is|are|was|were|do|does|did|can|could|will|would|should|has|have|must|may)\s+"
    r"(?:be|been|being|not|actually|also|still|really|ever|never|only|just|probably|likely|even|already)\b"
)
_NEXT_PART = re.compile(
    rf"(?<=\?)\s+|(?:\s*[,;]\s*(?:and|or|but|plus)?|\s+(?:and|or|but|plus))\s+(?={_ASKING})(?!{_GOES_ON})",
    re.I,
)


def split_parts(question: str) -> list[str]:
    """The parts of a multi-part question, or [question] when it asks one thing.

    "Who announced it, from when does it apply, and are my DMs included?" -> three parts.
    A piece without a word of its own ("..., and who can't?") or that asks nothing ("? like
    the voiceovers", "? asking for a friend") stays with the one before; an opening that
    asks nothing ("As a Canadian, ...") with the one after.
    """
    parts: list[str] = []
    for piece in _NEXT_PART.split(question.strip()):
        piece = piece.strip(" ,;")
        if not piece:
            continue
        if parts and (not content_words(piece) or not _asks(piece)):
            parts[-1] = f"{parts[-1]}{' ' if parts[-1].endswith('?') else ', '}{piece}"
        else:
            parts.append(piece)
    # An opening that asks nothing ("As a Canadian, can I ...", "In mid-2025, how ...") is the
    # context of the part after it, not a part of its own.
    if len(parts) > 1 and not _asks(parts[0]):
        parts[:2] = [f"{parts[0]}, {parts[1]}"]
    return parts if len(parts) > 1 else [question]


def _asks(piece: str) -> bool:
    """A piece of a question asks something: it ends with "?" or has an asking word."""
    return piece.endswith("?") or re.search(rf"\b{_ASKING}", piece, re.I) is not None


def unanswered_note(parts: list[str] | tuple[str, ...]) -> str:
    """What an answer says of the parts of a question the documents do not answer."""
    if not parts:
        return ""
    return "The documents don't say: " + "; ".join(f"“{p.strip().rstrip('?')}?”" for p in parts)
