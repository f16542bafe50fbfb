"""The time a question asks about ("in June 2024", "back in 2024", "as of March 2025"),
as an as-of date: the end of that period, at the precision the question gives.

Only a date that sets the question's time counts: a preposition directly before a date
(a month and year, a full date, a year, a season and year, or a year's early, middle or
late part), where the phrase opens the question, is one that always names a time of
reference ("as of", "back in"), ends the clause that opens it ("When the policy changed in
June 2024, how ..."), or closes a question that does not ask for a date ("What could I do
in June 2024?", not "When did it start?", "Did it start in June 2024?"); and a version
named by its date ("under the November 2024 policy"). An event named instead of a date
("before the 2025 restart") and "winter 2024" are not read. The date itself is read by
dateparser (it reports whether it is a day, a month or a year).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from .dating import MONTH as _MONTH
from .dating import display
from .types import Document, Filters

_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_DATE = (
    rf"(?:{_DAY}\s+(?:of\s+)?(?:{_MONTH})\.?,?\s+\d{{4}}"  # 14 June 2024
    rf"|(?:{_MONTH})\.?\s+{_DAY},?\s+\d{{4}}"  # June 14, 2024
    rf"|(?:{_MONTH})\.?,?\s+\d{{4}}"  # June 2024
    r"|(?:spring|summer|autumn|fall)\s+(?:of\s+)?\d{4}"  # autumn 2024
    r"|(?:early|mid|late)[\s-]+\d{4}"  # mid-2024
    r"|\d{4}-\d{2}(?:-\d{2})?"  # 2024-06, 2024-06-14
    r"|(?:19|20)\d{2})"  # 2024
)
# Prepositions that name a time of reference wherever they stand.
_ALWAYS = r"as of|as at|back in|at the time of"
_OTHER = r"in|during|by|before|until|till|at the end of"
_PHRASE = re.compile(
    rf"(?<![\w-])(?<!from )(?<!since )(?<!after )(?P<prep>{_ALWAYS}|{_OTHER})\s+(?P<date>{_DATE})(?![\w-])",
    re.IGNORECASE,
)
# A question that asks for a date, or whether something happened at one, is about the date.
_ASKS_DATE = re.compile(
    r"^\s*(?:when|since when|by when|what (?:date|day|month|year))\b|\bwhat date\b"
    r"|\b(?:start|starts|started|begin|begins|began|kick|kicks|kicked|launch|launched|take effect|takes effect|"
    r"took effect|come into force|came into force|end|ends|ended|stop|stopped|resume|resumed|expire|expired)\b",
    re.IGNORECASE,
)
# A clause that opens the question and sets its time: "When the policy changed in June 2024, ...".
_WHEN_CLAUSE = re.compile(r"\s*(?:when|after|once|while|at the time|by the time)\b", re.IGNORECASE)
# A verb of saying just before the phrase: the date is when the statement was made.
_SAID = re.compile(
    r"\b(?:say|said|state|stated|announce|announced|tell|told|write|wrote|publish|published|promise|promised|"
    r"claim|claimed|report|reported|warn|warned|decide|decided|rule|ruled)(?:\s+[\w'’]+){0,3}\s*$",
    re.IGNORECASE,
)
# Seasons as the month they end in (northern hemisphere, meteorological); winter spans two years.
# A year's early, middle and late part as the month each ends in (its first, second and last third).
_PERIOD_END = {"spring": 5, "summer": 8, "autumn": 11, "fall": 11, "early": 4, "mid": 8, "late": 12}
# A version named by its date: "under the November 2024 privacy policy", "in the June 2024 version",
# "under Parlay's November 2024 policy".
_VERSION = re.compile(
    rf"\b(?:under|in|according to|by)\s+(?:the|its|their|[\w&.-]+['’]s)\s+(?P<date>{_DATE})\s+"
    r"(?:privacy\s+)?(?:policy|policies|version|terms|update|rules|notice|faq)\b",
    re.IGNORECASE,
)


def asked_time(question: str, filters: Filters, documents: dict[str, Document]) -> tuple[Filters, str]:
    """The filters to answer with, and a note opening the answer: a question about a past time
    ("in June 2024") is answered as of then (a time to come is no as-of date); when no document is dated by then, from all of
    them, saying so. An as-of date given with the question (`--as-of`) wins."""
    asked = None if filters.as_of else asked_as_of(question)
    if asked is None or asked[0] > date.today().isoformat()[: len(asked[0])]:
        return filters, ""  # no time, or one still to come ("in 2099"): what the documents say now
    as_of = asked[0]
    dated = replace(filters, as_of=as_of)
    if any(dated.allows_document(d) for d in documents.values()):
        return dated, f"As of {display(as_of)}:"
    return filters, f"No document is dated by {display(as_of)}; this is what the documents say:"


def asked_as_of(question: str) -> tuple[str, str] | None:
    """(as-of date, the phrase that names it) for a question about a past time, else None.

    The as-of date is "YYYY", "YYYY-MM" or "YYYY-MM-DD": the period the question names
    ("June 2024" -> "2024-06"), or for "before" the period just before it ("before 2025" -> "2024").
    """
    version = _VERSION.search(question)
    if version is not None:
        period = _period(version.group("date"))
        if period is not None:
            return period, version.group("date")
    for m in _PHRASE.finditer(question):
        prep = m.group("prep").lower()
        if not _sets_time(question, m, prep):
            continue
        period = _period(m.group("date"))
        if period is not None:
            return (_before(period) if prep == "before" else period), m.group(0).strip()
    return None


def _sets_time(question: str, m: re.Match[str], prep: str) -> bool:
    """The phrase m (a preposition and a date) sets the question's time (module docstring)."""
    head, rest = question[: m.start()], question[m.end() :].lstrip()
    if re.fullmatch(_ALWAYS, prep) or not head.strip(" ,"):
        return True  # "back in 2024", or the phrase opens the question
    # it dates a statement the question asks about: "What did the ICO say in September 2024 ...?"
    if _SAID.search(head) is not None and not _ASKS_DATE.search(question):
        return True
    # it ends the clause that opens the question: "When the policy changed in June 2024, how ..."
    if rest.startswith(",") and _WHEN_CLAUSE.match(head) is not None and not re.search(r"[,?]", head):
        return not _ASKS_DATE.search(rest[1:])
    # it closes a question that does not ask for a date
    return not rest.strip(" ?.!") and not _ASKS_DATE.search(question)


def without_time(question: str) -> str:
    """The question without the phrase that names its time ("Back in 2024, could I object?" ->
    "could I object?"): the phrase is not a part of the question to answer on its own."""
    found = asked_as_of(question)
    if found is None:
        return question
    rest = " ".join(question.replace(found[1], " ", 1).split())
    return re.sub(r"\s+([?.!,;])", r"\1", rest).strip(" ,;") or question


def _period(text: str) -> str | None:
    """ "June 2024" -> "2024-06", "14 June 2024" -> "2024-06-14", "2024" -> "2024", "autumn 2024" -> "2024-11"."""
    season = re.match(r"(spring|summer|autumn|fall|early|mid|late)[\s-]+(?:of\s+)?(\d{4})", text, re.IGNORECASE)
    if season:
        return f"{season.group(2)}-{_PERIOD_END[season.group(1).lower()]:02d}"
    if re.fullmatch(r"\d{4}", text):
        return text
    from dateparser.date import DateDataParser  # imported only for a question that names a date

    data = DateDataParser(languages=["en"]).get_date_data(text)
    if data.date_obj is None:
        return None
    found = data.date_obj.date()
    if data.period == "year":
        return f"{found.year}"
    if data.period == "month":
        return f"{found.year}-{found.month:02d}"
    return found.isoformat()


def _before(period: str) -> str:
    """The period just before one of the same precision ("2025" -> "2024", "2024-06" -> "2024-05")."""
    parts = [int(p) for p in period.split("-")]
    if len(parts) == 1:
        return str(parts[0] - 1)
    if len(parts) == 2:
        year, month = parts
        return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"
    return (date(*parts) - timedelta(days=1)).isoformat()
