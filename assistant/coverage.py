"""Does the corpus have words for the question? Shares of it uncovered, names it never mentions."""

from __future__ import annotations

import numpy as np

from . import jurisdiction as jur
from .index import Index
from .lexical import lexical_tokens
from .question import COMMON_WORDS
from .retrieve import QueryEncoder
from .text import capitalised_names, content_words

# A capitalised name the corpus does not use still counts as known when a corpus word is at
# least this close to it in the embedding space (an abbreviation or spelling: "DMs").
NAME_NEAR = 0.7

Term = tuple[float, float | None]  # a question word's IDF weight; its nearest corpus word's cosine (None: used)


def question_terms(index: Index, encode: QueryEncoder, question: str) -> list[Term]:
    """The question's content words (places left out: they are handled as jurisdictions),
    each with its IDF weight and, when the corpus does not use it, the cosine of the
    nearest corpus word."""
    terms = [w for w in content_words(jur.strip_places(question, index.uses)) if lexical_tokens(w)]
    # (a word such as "outs" of "opt-outs" stems to a stopword and is left out)
    vocab = index.vocabulary.vectors
    out: list[Term] = []
    for w in terms:
        tokens = lexical_tokens(w)
        weight = max(index.idf(t) for t in tokens)
        if all(t in index.stems for t in tokens):
            out.append((weight, None))
        else:
            out.append((weight, float(np.max(vocab @ encode(w))) if len(vocab) else 0.0))
    return out


def share_uncovered(terms: list[Term], near: tuple[float, float]) -> float:
    """How much of the question (IDF-weighted) the corpus has no words for, 0..1: a word
    the corpus does not use counts as covered by its nearest corpus word from not at all
    (cosine near[0]) to fully (near[1]). `make fit` chooses `near` (scorer.json)."""
    total = sum(weight for weight, _ in terms)
    if not total:
        return 0.0
    low, high = near
    uncovered = sum(
        weight * (1.0 - min(1.0, max(0.0, (cos - low) / (high - low)))) for weight, cos in terms if cos is not None
    )
    return uncovered / total


def uncovered_share(index: Index, encode: QueryEncoder, question: str, near: tuple[float, float]) -> float:
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
