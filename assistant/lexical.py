"""Lexical tokens for BM25 and term overlap: the same stemmed, stopword-free tokens for
documents and questions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from .text import STOPWORDS, words

_LOCK = threading.Lock()


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def lexical_tokens(text: str) -> list[str]:
    """Stemmed, stopword-free tokens (the same for documents and queries)."""
    return list(_tokens(text))


@lru_cache(maxsize=4096)  # answers read the same candidate sentences again and again
def _tokens(text: str) -> tuple[str, ...]:
    toks = [w.replace("'", "") for w in words(text) if w not in STOPWORDS]
    with _LOCK:  # one stemmer object for the process; its cache is not made for threads
        return tuple(_stemmer().stemWords(toks))


def term_share(idf: Callable[[str], float], said: str, text: str) -> float:
    """The share of `said`'s terms, weighted by `idf`, that `text` uses."""
    weights = {t: idf(t) for t in set(lexical_tokens(said))}
    used = set(lexical_tokens(text))
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in used) / total if total else 0.0
