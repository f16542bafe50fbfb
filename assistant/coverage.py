"""Does the corpus have words for the question? Shares of it uncovered, names it never mentions."""

from __future__ import annotations

import math
import re
from typing import NamedTuple

import numpy as np

from . import jurisdiction as jur
from .index import Index
from .lexical import lexical_tokens
from .question import COMMON_WORDS, without_type_words
from .retrieve import QueryEncoder
from .spelling import english
from .text import CALENDAR_NAMES, STOPWORDS, capitalised_names, content_words
from .types import Passage

# A capitalised name the corpus does not use still counts as known when a corpus word is at
# least this close to it in the embedding space (an abbreviation or spelling: "DMs").
NAME_NEAR = 0.7


class Term(NamedTuple):
    """A content word of the question."""

    weight: float  # its IDF in the corpus
    nearest: float | None  # the cosine of the nearest corpus word; None: the corpus uses it
    english: bool  # a dictionary word (spelling.english), not slang, an abbreviation or a name
    importance: float = 1.0  # how far the question's vector moves without the word (importance())


class Uncovered(NamedTuple):
    """How much of the question (IDF-weighted, 0..1) the corpus has no words for: of its
    dictionary words, and of its other words ("insta", "ppl", "smh"). The decision to answer
    weighs the two apart (`make fit`): out of fold, the second says little."""

    english: float
    other: float


def question_terms(
    index: Index, encode: QueryEncoder, question: str, near: tuple[float, float] | None = None
) -> list[Term]:
    """The question's content words (places left out: they are handled as jurisdictions),
    each with its IDF weight and, when the corpus does not use it, the cosine of the
    nearest corpus word and the word's importance to the question. Given `near`
    (share_uncovered's), the importances are left at 1 when no word would count as uncovered:
    the share is then 0 whatever they are, and they cost an encoding of every variant."""
    # The words naming the answer's type ("what date") are left out (without_type_words), and
    # so is a word that stems to a stopword, such as "outs" of "opt-outs".
    terms = [w for w in content_words(jur.strip_places(without_type_words(question), index.uses)) if _tokens(w)]
    vocab = index.vocabulary.vectors
    words = english()
    unused = [w for w in terms if not all(t in index.stems for t in _tokens(w))]
    vectors = dict(zip(unused, encode.many(unused), strict=True)) if unused and len(vocab) else {}
    out: list[Term] = []
    for w in terms:
        weight = max(index.idf(t) for t in _tokens(w))
        if w not in unused:
            out.append(Term(weight, None, True))
        else:
            nearest = float(np.max(vocab @ vectors[w])) if w in vectors else 0.0
            out.append(Term(weight, nearest, w.casefold() in words))
    if _weights_matter(out, near):
        out = [t._replace(importance=v) for t, v in zip(out, importance(index, encode, question, terms), strict=True)]
    return out


def _weights_matter(terms: list[Term], near: tuple[float, float] | None) -> bool:
    """Whether share_uncovered depends on the importances: some word is not fully covered."""
    return any(t.nearest is not None and (near is None or t.nearest < near[1]) for t in terms)


def _tokens(word: str) -> list[str]:
    return [t for t in lexical_tokens(word) if t not in STOPWORDS]


def importance(index: Index, encode: QueryEncoder, question: str, terms: list[str]) -> list[float]:
    """How much each word carries the question: 1 - cosine(the question's vector, its vector
    without the word). A word the question would be asked without ("I'm *based* in Porto")
    barely moves it; the thing asked about ("police", "appeal") moves it far. Out of fold on
    the fit sets, weighing the uncovered share by IDF x importance instead of IDF alone took
    the decision's balanced accuracy from 0.767 to 0.786 (0.781 to 0.822 on the fit sets
    before dev3; IDF x the square root of importance: 0.788). A word not found as written
    counts as the mean of the others."""
    variants = [_without(question, w) for w in terms]
    found = [i for i, v in enumerate(variants) if v != question]
    values = [math.nan] * len(terms)
    if found:
        vecs = index.embedder.encode([variants[i] for i in found])
        full = encode(question)
        full = full / (np.linalg.norm(full) or 1.0)
        for i, vec in zip(found, vecs, strict=True):
            values[i] = max(1.0 - float(vec @ full) / (float(np.linalg.norm(vec)) or 1.0), MIN_IMPORTANCE)
    known = [v for v in values if not math.isnan(v)]
    mean = sum(known) / len(known) if known else 1.0
    return [mean if math.isnan(v) else v for v in values]


# Importance never falls to zero: a word always keeps a little of its IDF weight.
MIN_IMPORTANCE = 1e-4


def _without(question: str, word: str) -> str:
    """The question with the first whole-word occurrence of `word` removed."""
    out = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", "", question, count=1, flags=re.IGNORECASE)
    return " ".join(out.split())


def share_uncovered(terms: list[Term], near: tuple[float, float]) -> Uncovered:
    """How much of the question the corpus has no words for: a word the corpus does not use
    counts as covered by its nearest corpus word from not at all (cosine near[0]) to fully
    (near[1]). `make fit` chooses `near` (scorer.json)."""
    total = sum(t.weight * t.importance for t in terms)
    if not total:
        return Uncovered(0.0, 0.0)
    low, high = near
    shares = [0.0, 0.0]
    for t in terms:
        if t.nearest is not None:
            covered = min(1.0, max(0.0, (t.nearest - low) / (high - low)))
            shares[0 if t.english else 1] += t.weight * t.importance * (1.0 - covered)
    return Uncovered(shares[0] / total, shares[1] / total)


def uncovered_share(index: Index, encode: QueryEncoder, question: str, near: tuple[float, float]) -> Uncovered:
    """How much of the question the corpus has no words for (share_uncovered): a word
    counts as covered when the corpus uses it or a word close to it ("pictures" ~ "photos")."""
    return share_uncovered(question_terms(index, encode, question, near), near)


def unknown_names(index: Index, encode: QueryEncoder, question: str) -> list[str]:
    """Names in the question (TikTok, WhatsApp) that no document mentions."""
    names = []
    stripped = jur.strip_places(question, index.uses)
    for start, token in capitalised_names(stripped):
        folded = token.casefold()
        if (
            token in ("I", "AI")
            or jur.detect(token)
            or folded in COMMON_WORDS
            or folded.removesuffix("s") in CALENDAR_NAMES
        ):
            continue
        if _in_address(question, stripped, start, start + len(token)):
            continue
        if token.isupper() and any(_abbreviates(token, name) for name in index.proper_nouns):
            continue  # "IG" for Instagram, "FB" for Facebook
        tokens = lexical_tokens(token)
        if not tokens or all(t in index.stems for t in tokens):
            continue
        vocab = index.vocabulary.vectors
        if len(vocab) and float(np.max(vocab @ encode(token))) >= NAME_NEAR:
            continue  # an abbreviation or spelling of a word the corpus has ("DMs")
        names.append(token)
    return names


# What joins the parts of an address, the smaller place first: "KL, Malaysia", "Gent/Belgium",
# "Lombardy (Italy)", "Bergamo in Lombardy". Not "TikTok in the US" (a thing in a place) nor
# "In Germany, TikTok ..." (a comma after the place ends a phrase).
_BEFORE_PLACE = r"\s*(?:,|/|\()\s*"
_AFTER_PLACE = r"\s*(?:/|\)|\bin\b)\s*"


def _in_address(question: str, stripped: str, start: int, end: int) -> bool:
    """The name at question[start:end] is written beside a place the question names, as an
    address is ("KL, Malaysia", "Bergamo in Lombardy"): a place too, though no gazetteer has
    it. `stripped`: the question with its places blanked (jurisdiction.strip_places)."""
    after = re.match(_BEFORE_PLACE, question[end:])
    if after and end + after.end() < len(question) and _blanked(question, stripped, end + after.end()):
        return True
    before = re.search(_AFTER_PLACE + "$", question[:start])
    return bool(before and before.start() > 0 and _blanked(question, stripped, before.start() - 1))


def _abbreviates(short: str, name: str) -> bool:
    """`short` (capitals) can be written for `name`: its first letter, then its other letters in
    order ("IG" Instagram, "FB" Facebook), and the name is longer."""
    short, name = short.casefold(), name.casefold()
    if len(name) <= len(short) + 1 or name[0] != short[0]:
        return False
    rest = iter(name[1:])
    return all(ch in rest for ch in short[1:])


def _blanked(question: str, stripped: str, i: int) -> bool:
    """question[i] is part of a place strip_places blanked."""
    return not question[i].isspace() and stripped[i] == " "


def coverage_notice(index: Index, asker: str | None, passages: list[Passage]) -> str:
    """Say so when the documents do not speak of the asker's jurisdiction."""
    if not asker:
        return ""
    if any(asker in p.chunk.jurisdictions for p in passages) or asker in index.chunks.places():
        return ""
    place = jur.name(asker)
    other = [p for p in passages if jur.OTHER in p.chunk.jurisdictions]
    if other:
        return f"The documents do not mention {place} specifically; this is what they say for other countries:"
    named = sorted(j for j in index.chunks.places() if j != jur.OTHER)
    covered = ", ".join(jur.name(j) for j in named) or "other places"
    return f"The documents do not cover {place}; this is what they say for {covered}:"
