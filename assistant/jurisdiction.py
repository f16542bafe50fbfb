"""Which jurisdictions a text speaks of, and which one a question is asked from.

Codes: "EU" (EU/EEA members map here), "UK", "US", ISO 3166 alpha-2 codes for other
countries, and "OTHER" for text about "other countries" / "outside of Europe".
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

OTHER = "OTHER"

_EU_MEMBERS = {
    "Austria": "Austrian",
    "Belgium": "Belgian",
    "Bulgaria": "Bulgarian",
    "Croatia": "Croatian",
    "Cyprus": "Cypriot",
    "Czechia": "Czech",
    "Czech Republic": "Czech",
    "Denmark": "Danish",
    "Estonia": "Estonian",
    "Finland": "Finnish",
    "France": "French",
    "Germany": "German",
    "Greece": "Greek",
    "Hungary": "Hungarian",
    "Ireland": "Irish",
    "Italy": "Italian",
    "Latvia": "Latvian",
    "Lithuania": "Lithuanian",
    "Luxembourg": "Luxembourgish",
    "Malta": "Maltese",
    "Netherlands": "Dutch",
    "Holland": "Dutch",
    "Poland": "Polish",
    "Portugal": "Portuguese",
    "Romania": "Romanian",
    "Slovakia": "Slovak",
    "Slovenia": "Slovenian",
    "Spain": "Spanish",
    "Sweden": "Swedish",
    # EEA members outside the EU fall under the same data-protection rules.
    "Norway": "Norwegian",
    "Iceland": "Icelandic",
    "Liechtenstein": "Liechtensteiner",
}

# code -> (display name, patterns). Patterns are case-insensitive unless marked (?-i:...).
_TABLE: dict[str, tuple[str, list[str]]] = {
    "US": (
        "the United States",
        [
            r"(?-i:\bU\.S\.A?\.?)",
            r"(?-i:\bUSA?\b)",
            r"\bunited states\b",
            r"(?<!latin )(?<!south )(?<!north )\bamerica\b",
            r"\bamericans?\b",
            r"\b(?:the|from|in) us\b(?! to\b)",
            r"\bus[- ](?:users?|citizens?|residents?|based|accounts?)\b",
            r"\bcalifornia\b",
            r"\btexas\b",
            r"\bnew york\b",
            r"\bflorida\b",
        ],
    ),
    "UK": (
        "the United Kingdom",
        [
            r"(?-i:\bU\.?K\.?\b)",
            r"\bunited kingdom\b",
            r"\bbritain\b",
            r"\bbritish\b",
            r"\bengland\b",
            r"\bscotland\b",
            r"\bwales\b",
            r"\bnorthern ireland\b",
            r"\b(?:the|from|in) uk\b",
            r"\buk[- ](?:users?|citizens?|residents?|based)\b",
        ],
    ),
    "EU": (
        "the EU",
        [
            r"(?-i:\bE\.?U\.?\b)",
            r"\beuropean union\b",
            r"\beurope\b",
            r"\beuropeans?\b",
            r"\beea\b",
            r"\b(?:the|from|in) eu\b",
            r"\beu[- ](?:users?|citizens?|residents?|based)\b",
        ]
        + [rf"\b{re.escape(c.lower())}\b" for c in _EU_MEMBERS]
        + [rf"\b{re.escape(d.lower())}s?\b" for d in set(_EU_MEMBERS.values()) if d not in {"Irish"}],
    ),
    "CA": ("Canada", [r"\bcanada\b", r"\bcanadians?\b"]),
    "IN": ("India", [r"\bindia\b", r"\bindians?\b(?! ocean)"]),
    "AU": ("Australia", [r"\baustralia\b", r"\baustralians?\b", r"\baussies?\b"]),
    "NZ": ("New Zealand", [r"\bnew zealand\b", r"\bkiwis?\b"]),
    "BR": ("Brazil", [r"\bbrazil\b", r"\bbrazilians?\b", r"\bbrasil\b"]),
    "MX": ("Mexico", [r"\bmexico\b", r"\bmexicans?\b"]),
    "AR": ("Argentina", [r"\bargentina\b", r"\bargentinians?\b"]),
    "TT": ("Trinidad and Tobago", [r"\btrinidad\b", r"\btobago\b", r"\btrinidadians?\b", r"\btrinbago\b"]),
    "JM": ("Jamaica", [r"\bjamaica\b", r"\bjamaicans?\b"]),
    "NG": ("Nigeria", [r"\bnigeria\b", r"\bnigerians?\b"]),
    "ZA": ("South Africa", [r"\bsouth africa\b", r"\bsouth africans?\b"]),
    "KE": ("Kenya", [r"\bkenya\b", r"\bkenyans?\b"]),
    "JP": ("Japan", [r"\bjapan\b", r"\bjapanese\b"]),
    "KR": ("South Korea", [r"\bsouth korea\b", r"\bkorea\b", r"\bkoreans?\b"]),
    "CN": ("China", [r"\bchina\b", r"\bchinese\b"]),
    "SG": ("Singapore", [r"\bsingapore\b", r"\bsingaporeans?\b"]),
    "PH": ("the Philippines", [r"\bphilippines\b", r"\bfilipinos?\b"]),
    "ID": ("Indonesia", [r"\bindonesia\b", r"\bindonesians?\b"]),
    "PK": ("Pakistan", [r"\bpakistan\b", r"\bpakistanis?\b"]),
    "TR": ("Turkey", [r"\bt(?:u|ü)rk(?:ey|iye)\b"]),
    "CH": ("Switzerland", [r"\bswitzerland\b", r"\bswiss\b"]),
    "RU": ("Russia", [r"\brussia\b", r"\brussians?\b"]),
    "EG": ("Egypt", [r"\begypt\b", r"\begyptians?\b"]),
    "AE": ("the United Arab Emirates", [r"\buae\b", r"\bunited arab emirates\b", r"\bdubai\b"]),
    OTHER: (
        "other countries",
        [
            r"\bother (?:countries|regions|nations|nationals|jurisdictions)\b",
            # "outside the EU and UK", "not in Europe", "non-EU": the asker is elsewhere
            r"\b(?:outside|beyond) (?:of )?(?:the )?(?:europe|eu|uk|european union|united kingdom)"
            r"(?:\s*(?:and|or|&|/)\s*(?:the )?(?:europe|eu|uk|united kingdom))?\b",
            r"\b(?:not|n't|never) (?:be |been |living |based |located )?(?:in|from) (?:the )?"
            r"(?:europe|eu|uk|european union|united kingdom)"
            r"(?:\s*(?:and|or|&|/)\s*(?:the )?(?:europe|eu|uk|united kingdom))?\b",
            r"\bnon[- ]?(?:eu|european|uk|eea)\b",
            r"\brest of the world\b",
            r"\belsewhere\b",
        ],
    ),
}

NAMES: dict[str, str] = {code: name for code, (name, _) in _TABLE.items()}

# ISO 3166 codes the named jurisdictions hold: the EU with the EEA (same data-protection
# law), the United Kingdom, and the United States with its territories.
_COUNTRY_TO_CODE = {
    **dict.fromkeys(
        "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE NO IS LI".split(), "EU"
    ),
    "GB": "UK",
    **dict.fromkeys("US PR GU VI AS MP UM".split(), "US"),
}

# Says whether the documents use a word ("Meta" is a company to them, not a Colombian department).
Known = Callable[[str], bool]
NAMED = ("EU", "UK", "US")


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[str, re.Pattern[str]]]:
    return [(code, re.compile("|".join(pats), re.IGNORECASE)) for code, (_, pats) in _TABLE.items()]


def detect(text: str) -> list[str]:
    """Jurisdiction codes mentioned in text, in order of first mention."""
    return list(_detect(text))


@lru_cache(maxsize=4096)  # answers read the same headings and sentences again and again
def _detect(text: str) -> tuple[str, ...]:
    found: list[tuple[int, str]] = []
    compiled = _compiled()
    other = dict(compiled)[OTHER]
    m = other.search(text)
    if m:
        found.append((m.start(), OTHER))
        # "outside of Europe" speaks of other places, not of Europe; keep offsets stable.
        text = other.sub(lambda x: " " * len(x.group()), text)
    for code, pattern in compiled:
        if code == OTHER:
            continue
        m = pattern.search(text)
        if m:
            found.append((m.start(), code))
    return tuple(code for _, code in sorted(found))


def for_question(text: str, known: Known | None = None) -> str | None:
    """The jurisdiction a question is asked from: the first specific place it names, in the
    table above or, failing that, in the gazetteers ("Ohio" -> US, "Lyon" -> EU, "Osaka" -> JP);
    a place it compares with is not where it is asked from (without_compared).

    `known`: see `gazetteer_places`.
    """
    table, places = _place_spans(text, known)
    compared = _compared(text, table + places)
    text = _blank(text, compared)
    places = [sp for sp in places if sp not in compared]
    home = _residence(text, sorted(sp for sp in table + places if sp not in compared))
    if home is not None:
        return home
    found = detect(_blank(text, places))
    codes = [c for c in found if c != OTHER]
    if codes:
        return codes[0]
    if places:
        return places[0][2]
    # "I'm not in Europe", "people outside the EU and UK": asked from the rest of the world
    return OTHER if found else None


# Words that introduce what a question compares with: "the same right that Europeans have",
# "like they do in Europe", "unlike the UK", "compared with the EU". "like" as a verb
# ("I'd like to") or with the asker ("people like me") compares nothing.
_COMPARED = re.compile(
    r"\b(?:same\b[^.?!;]{0,60}?\b(?:as|that|which)|like(?!\s+(?:to|me|us|myself|mine)\b)|unlike|than"
    r"|compared\s+(?:to|with)|versus|vs)\b",
    re.IGNORECASE,
)
_COMPARED_REACH = 40  # characters after those words within which the place compared with stands


# Words that say where the asker lives, which outranks a place they are from or a citizen of
# ("I'm a US citizen but I've lived in Munich for years" is asked from Munich).
_RESIDENCE = re.compile(
    r"\b(?:liv(?:e|es|ed|ing)|based|resid(?:e|es|ed|ing|ent)|moved|relocated|settled)\b"
    r"(?:\s+\w+){0,3}\s+(?:in|to|near|outside|around)\s+(?:the\s+)?$",
    re.IGNORECASE,
)


def _residence(text: str, spans: list[tuple[int, int, str]]) -> str | None:
    """The place the question says the asker lives in, if it says so; None otherwise. Of an
    address ("Manchester, England"), its last and largest place counts. `spans`: the
    places text names, in order (_place_spans)."""
    for i, (start, _, _) in enumerate(spans):
        if _RESIDENCE.search(text[max(0, start - 40) : start]):
            while i + 1 < len(spans) and re.fullmatch(r"\s*(?:,|\bin\b|\()\s*", text[spans[i][1] : spans[i + 1][0]]):
                i += 1
            return spans[i][2]
    return None


Span = tuple[int, int, str]  # (start, end, code) of a place in a text


def _place_spans(text: str, known: Known | None) -> tuple[list[Span], list[Span]]:
    """The specific places text names: the table's, and those only the gazetteers know."""
    gazetteer = gazetteer_places(text, known)
    blanked = _blank(text, gazetteer)
    table = [
        (m.start(), m.end(), code) for code, pattern in _compiled() if code != OTHER for m in pattern.finditer(blanked)
    ]
    return table, gazetteer


def _compared(text: str, spans: list[Span]) -> list[Span]:
    """The places among `spans` that text compares with (_COMPARED)."""
    out = []
    for cue in _COMPARED.finditer(text):
        clause = re.search(r"[.?!;]", text[cue.end() : cue.end() + _COMPARED_REACH])
        reach = cue.end() + (clause.start() if clause else _COMPARED_REACH)
        near = [sp for sp in spans if cue.end() <= sp[0] < reach]
        if near:
            out.append(min(near))
    return out


def without_compared(text: str, known: Known | None = None) -> str:
    """text with each place it compares with blanked (offsets kept): "Here in Wellington, do
    we get the same right that Europeans have?" is asked from New Zealand about New Zealand;
    Europe is what it is measured against, not the asker's place nor the subject."""
    table, places = _place_spans(text, known)
    return _blank(text, _compared(text, table + places))


def gazetteer_places(text: str, known: Known | None = None) -> list[tuple[int, int, str]]:
    """(start, end, code) of the places in text that only the gazetteers know.

    A name the table above knows is left to it, unless the gazetteers know a longer name
    around it ("Wales" is the UK, "New South Wales" Australia). A state, region or city
    whose name the documents use as a word of their own (`known`) is left to the
    documents' meaning; a country always counts.
    """
    from . import places

    out = []
    for p in places.find(text):
        code = _COUNTRY_TO_CODE.get(p.country, p.country)
        in_table = detect(p.name)
        if in_table and (" " not in p.name or in_table == [code]):
            continue
        if p.kind != places.COUNTRY and known is not None and known(p.name):
            continue
        out.append((p.start, p.end, code))
    return out


def _blank(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    for start, end, _ in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def parse_code(value: str) -> str:
    """A user-given jurisdiction ("us", "Germany", "EU") as a code; ValueError if unknown."""
    upper = value.strip().upper()
    if upper in NAMES:
        return upper
    if upper == "GB":
        return "UK"
    found = detect(value)
    if found:
        return found[0]
    from . import places

    country = upper if len(upper) == 2 and places.country_name(upper) else places.lookup(value)
    if country:
        return _COUNTRY_TO_CODE.get(country, country)
    raise ValueError(f"unknown jurisdiction {value!r} (try a country name or a code such as US, EU, UK, CA)")


def name(code: str | None) -> str:
    if not code:
        return ""
    if code in NAMES:
        return NAMES[code]
    from . import places

    return places.country_name(code) or code


def rename_places(text: str, known: Known | None = None) -> str:
    """text with each place only the gazetteers know named as its jurisdiction, the way
    the documents speak of it ("Can someone in Lyon object?" -> "... in the EU object?")."""
    for start, end, code in reversed(gazetteer_places(text, known)):
        text = text[:start] + name(code) + text[end:]
    return text


def strip_places(text: str, known: Known | None = None) -> str:
    """text with every place removed ("I live in the United States" -> "I live in the ");
    offsets stay as they were. `known`: see `gazetteer_places`."""
    text = _blank(text, gazetteer_places(text, known))
    for _, pattern in _compiled():
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


# ---------------------------------------------------------------- the rule: what applies where


def named_places(codes: Iterable[str]) -> tuple[str, ...]:
    """The specific places among `codes` ("other countries" left out)."""
    return tuple(c for c in codes if c != OTHER)


class Relation(enum.Enum):
    """How a text's places relate to the asker's."""

    NEUTRAL = "neutral"  # no asker, or the text names no place: a general statement
    MATCH = "match"  # the text speaks of the asker's place
    GENERAL_RULE = "general-rule"  # it speaks of "other countries" and its document does not name the asker's
    MISMATCH = "mismatch"  # it speaks only of other, named places


def relation(places: Iterable[str], doc_places: Iterable[str], asker: str | None) -> Relation:
    """Args: places: what the text speaks of; doc_places: what its whole document names."""
    places = tuple(places)
    if not asker or not places:
        return Relation.NEUTRAL
    if asker in places:
        return Relation.MATCH
    if OTHER in places and asker not in named_places(doc_places):
        return Relation.GENERAL_RULE
    return Relation.MISMATCH


def applies(places: Iterable[str], doc_places: Iterable[str], asker: str | None) -> bool:
    """A text applies in the asker's place when it speaks of it, of no place at all, or of
    "other countries" while its document does not name the asker's place."""
    return relation(places, doc_places, asker) is not Relation.MISMATCH


def store_metadata(places: Iterable[str], doc_places: Iterable[str]) -> dict[str, Any]:
    """What a vector store keeps beside a chunk so that `store_where` can apply the rule."""
    places, named = tuple(places), list(named_places(doc_places))
    meta: dict[str, Any] = {"general": not places}
    if places:
        meta["jurisdictions"] = list(places)
    if named:
        meta["doc_named"] = named
    return meta


def store_where(asker: str) -> dict[str, Any]:
    """`applies`, as a Chroma where-clause over `store_metadata`."""
    return {
        "$or": [
            {"jurisdictions": {"$contains": asker}},
            {"general": True},
            {"$and": [{"jurisdictions": {"$contains": OTHER}}, {"doc_named": {"$not_contains": asker}}]},
        ]
    }
