"""Does the corpus have words for the question? Shares of it uncovered, names it never mentions."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import jurisdiction as jur
from .index import Index
from .lexical import lexical_tokens
from .question import COMMON_WORDS
from .retrieve import QueryEncoder
from .spelling import english
from .text import capitalised_names, content_words

# A capitalised name the corpus does not use still counts as known when a corpus word is at
# least this close to it in the embedding space (an abbreviation or spelling: "DMs").
NAME_NEAR = 0.7


class Term(NamedTuple):
    """A content word of the question."""

    weight: float  # its IDF in the corpus
    nearest: float | None  # the cosine of the nearest corpus word; None: the corpus uses it
    english: bool  # a dictionary word (spelling.english), not slang, an abbreviation or a name


class Uncovered(NamedTuple):
    """How much of the question (IDF-weighted, 0..1) the corpus has no words for: of its
    dictionary words, and of its other words ("insta", "ppl", "smh"). The decision to answer
    weighs the two apart (`make fit`): out of fold, the second says little."""

    english: float
    other: float


def question_terms(index: Index, encode: QueryEncoder, question: str) -> list[Term]:
    """The question's content words (places left out: they are handled as jurisdictions),
    each with its IDF weight and, when the corpus does not use it, the cosine of the
    nearest corpus word."""
    terms = [w for w in content_words(jur.strip_places(question, index.uses)) if lexical_tokens(w)]
    # (a word such as "outs" of "opt-outs" stems to a stopword and is left out)
    vocab = index.vocabulary.vectors
    words = english()
    out: list[Term] = []
    for w in terms:
        tokens = lexical_tokens(w)
        weight = max(index.idf(t) for t in tokens)
        if all(t in index.stems for t in tokens):
            out.append(Term(weight, None, True))
        else:
            nearest = float(np.max(vocab @ encode(w))) if len(vocab) else 0.0
            out.append(Term(weight, nearest, w.casefold() in words))
    return out


def share_uncovered(terms: list[Term], near: tuple[float, float]) -> Uncovered:
    """How much of the question the corpus has no words for: a word the corpus does not use
    counts as covered by its nearest corpus word from not at all (cosine near[0]) to fully
    (near[1]). `make fit` chooses `near` (scorer.json)."""
    total = sum(t.weight for t in terms)
    if not total:
        return Uncovered(0.0, 0.0)
    low, high = near
    shares = [0.0, 0.0]
    for t in terms:
        if t.nearest is not None:
            covered = min(1.0, max(0.0, (t.nearest - low) / (high - low)))
            shares[0 if t.english else 1] += t.weight * (1.0 - covered)
    return Uncovered(shares[0] / total, shares[1] / total)


def uncovered_share(index: Index, encode: QueryEncoder, question: str, near: tuple[float, float]) -> Uncovered:
    """How much of the question the corpus has no words for (share_uncovered): a word
    counts as covered when the corpus uses it or a word close to it ("pictures" ~ "photos")."""
    return share_uncovered(question_terms(index, encode, question), near)


def unknown_names(index: Index, encode: QueryEncoder, question: str) -> list[str]:
    """Names in the question (TikTok, WhatsApp) that no document mentions."""
    names = []
    for _, token in capitalised_names(jur.strip_places(question, index.uses)):
        if token in ("I", "AI") or jur.detect(token) or token.casefold() in COMMON_WORDS:
            continue
        tokens = lexical_tokens(token)
        if not tokens or all(t in index.stems for t in tokens):
            continue
        vocab = index.vocabulary.vectors
        if len(vocab) and float(np.max(vocab @ encode(token))) >= NAME_NEAR:
            continue  # an abbreviation or spelling of a word the corpus has ("DMs")
        names.append(token)
    return names
