"""Does the corpus have words for the question? Shares of it uncovered, names it never mentions."""

from __future__ import annotations

import numpy as np

from . import jurisdiction as jur
from .index import Index
from .lexical import lexical_tokens
from .question import COMMON_WORDS
from .retrieve import QueryEncoder
from .text import capitalised_names, content_words

# A question word absent from the corpus counts as covered by its nearest corpus word
# from not at all (cosine NEAR_LOW) to fully (NEAR_HIGH).
NEAR_LOW, NEAR_HIGH = 0.45, 0.7


def uncovered_share(index: Index, encode: QueryEncoder, question: str) -> float:
    """How much of the question (IDF-weighted) the corpus has no words for, 0..1.

    A word counts as covered when the corpus uses it, or a word close to it in the
    embedding space ("pictures" ~ "photos"); places are left out (they are handled
    as jurisdictions).
    """
    terms = content_words(jur.strip_places(question, index.uses))
    if not terms:
        return 0.0
    stems = index.stems
    weights: list[float] = []
    missing: list[int] = []
    terms = [w for w in terms if lexical_tokens(w)]  # "outs" of "opt-outs" stems to a stopword
    for i, w in enumerate(terms):
        tokens = lexical_tokens(w)
        weights.append(max(index.idf(t) for t in tokens))
        if not all(t in stems for t in tokens):
            missing.append(i)
    if not missing or not weights:
        return 0.0
    vocab = index.vocabulary.vectors
    uncovered = 0.0
    for i in missing:
        nearest = float(np.max(vocab @ encode(terms[i]))) if len(vocab) else 0.0
        covered = min(1.0, max(0.0, (nearest - NEAR_LOW) / (NEAR_HIGH - NEAR_LOW)))
        uncovered += weights[i] * (1.0 - covered)
    return uncovered / sum(weights)


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
        if len(vocab) and float(np.max(vocab @ encode(token))) >= NEAR_HIGH:
            continue  # an abbreviation or spelling of a word the corpus has ("DMs")
        names.append(token)
    return names
