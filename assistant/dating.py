"""When a document was written: from the manifest, the page's metadata, or its own text;
and when one of its statements was, when a dated update introduces it.

A date found in the text is the first full date (day, month and year) in the document's
opening ("Issued on 24 April 2024", "Updated: September 2, 2024", "2024-09-02"): a
document states its own date before the dates it speaks of. A year alone ("CDP/2024/117")
is not a date.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

OPENING = 1500  # characters of the text searched for the document's own date
_MONTHS = [calendar.month_name[i] for i in range(1, 13)]
# Month names and abbreviations as a regex alternation, longest first ("September" before "Sep").
MONTH = "|".join(
    sorted(
        {m for i in range(1, 13) for m in (calendar.month_name[i], calendar.month_abbr[i])} | {"Sept"},
        key=len,
        reverse=True,
    )
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_FULL_DATE = re.compile(
    rf"\b(?P<iso>(\d{{4}})-(\d{{2}})-(\d{{2}}))\b"
    rf"|\b(?P<dmy>{_DAY}\s+(?:of\s+)?({MONTH})\.?,?\s+(\d{{4}}))\b"
    rf"|\b(?P<mdy>({MONTH})\.?\s+{_DAY},?\s+(\d{{4}}))\b",
    re.IGNORECASE,
)


# Any date in running text, whole or in part ("22nd May, 2024", "June 26th", "2024-06-26", "2024").
DATES = re.compile(
    rf"\b(?:{_DAY}\s+(?:of\s+)?)?(?:{MONTH})\b\.?(?:\s+{_DAY}\b)?,?(?:\s+\d{{4}}\b)?"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b(?:19|20)\d{2}\b",
    re.IGNORECASE,
)


def _month(name: str) -> int:
    name = name.lower()[:3]
    return next(i for i in range(1, 13) if calendar.month_abbr[i].lower() == name)


def date_in_text(text: str) -> str:
    """ISO date (YYYY-MM-DD) the text's opening gives as its own, or ""."""
    for m in _FULL_DATE.finditer(text[:OPENING]):
        g = m.groups()
        try:
            if m.group("iso"):
                found = date(int(g[1]), int(g[2]), int(g[3]))
            elif m.group("dmy"):
                found = date(int(g[7]), _month(g[6]), int(g[5]))
            else:
                found = date(int(g[11]), _month(g[9]), int(g[10]))
        except ValueError:
            continue  # "31 February 2024"
        return found.isoformat()
    return ""


# A lead-in that dates what follows, give or take a word or two: a heading ("Update, 21 October
# 2024"), a paragraph's opening up to its colon ("**Update, 20 June 2025:** ...", "Editor's
# note (March 2025): ...") or in brackets ("[Update: 20 June 2025] ..."). More words than that make it a sentence that merely names a date.
_MONTH_YEAR = re.compile(rf"\b({MONTH})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
LEAD_WORDS = 2
LEAD_CHARS = 60  # how far into a paragraph its lead-in's colon may be


def lead_date(lead: str) -> str:
    """The date a heading or a paragraph's lead-in gives as its own: a full date ("2024-10-21")
    or a month ("2024-04"), when the lead-in is little more than that date; else ""."""
    full = _FULL_DATE.search(lead)
    found, span = (date_in_text(full.group(0)), full.span()) if full else ("", (0, 0))
    if not found:
        month = _MONTH_YEAR.search(lead)
        if not month:
            return ""
        found, span = f"{month.group(2)}-{_month(month.group(1)):02d}", month.span()
    rest = re.findall(r"[^\W\d_][\w'’]*", lead[: span[0]] + " " + lead[span[1] :])
    return found if len(rest) <= LEAD_WORDS else ""


def statement_date(text: str, start: int, section: str, published: str) -> str:
    """When the sentence at `start` of `text` (a document's) was stated: its paragraph's dated
    lead-in ("Update, 20 June 2025: ..."), else its section heading's date, else `published`."""
    brk = text.rfind("\n\n", 0, start)
    para = brk + 2 if brk >= 0 else 0
    end = para + LEAD_CHARS if start == para else min(start, para + LEAD_CHARS)
    colon = text.find(":", para, end)
    lead = text[para:colon] if colon > para else ""
    # or a bracketed opening: "[Update: 20 June 2025] ...", "(Updated June 20, 2025) ..."
    bracket = _BRACKETED.match(text, para, end)
    return lead_date(lead) or (lead_date(bracket.group(1)) if bracket else "") or lead_date(section) or published


_BRACKETED = re.compile(r"[*_\s]*[\[(]([^\])\n]{4,60})[\])]")


AS_OF = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def dated_by(published: str, as_of: str) -> bool:
    """A document dated `published` may speak as of `as_of`: it is not later at the precision
    both have ("2024" may, for "2024-07-01"); an undated document may too (it cannot be ruled out)."""
    k = min(len(published), len(as_of))
    return not k or published[:k] <= as_of[:k]


def check_as_of(value: str) -> str:
    """A user-given --as-of (YYYY, YYYY-MM or YYYY-MM-DD); ValueError otherwise."""
    value = value.strip()
    if not AS_OF.match(value):
        raise ValueError(f"{value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)")
    return value


def display(iso: str) -> str:
    """ "2024-06-03" -> "3 June 2024"; a year or year-month as far as it goes; "" stays ""."""
    parts = iso.split("-")
    try:
        if len(parts) == 3:
            d = date(int(parts[0]), int(parts[1]), int(parts[2]))
            return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"
        if len(parts) == 2:
            return f"{_MONTHS[int(parts[1]) - 1]} {int(parts[0])}"
    except (ValueError, IndexError):
        return iso
    return iso
