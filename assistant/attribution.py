"""Quotes as an answer's text: attributed and dated when sources or dates differ, and an
older statement a newer one supersedes shown under "Earlier:", never as current.

A statement supersedes another when it is later (by its document's date), says something
about the same subject (sentence cosine at least SUPERSEDES, fitted on the evolving fit
set: see evals/README.md) and speaks of the same places.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dating import display
from .evidence import Candidate
from .text import defuse_markers, one_line
from .types import Citation, Document

SUPERSEDES = 0.5


@dataclass(frozen=True)
class Composed:
    text: str
    citations: tuple[Citation, ...]
    earlier: tuple[int, ...]


def label(doc: Document) -> str:
    """ "CNET, 3 June 2024" (the title when there is no publisher; "undated" when no date)."""
    source = doc.publisher or doc.title
    return f"{source}, {display(doc.published)}" if doc.published else f"{source}, undated"


def later(a: str, b: str) -> bool:
    """Date a is after date b, at the precision both have ("2024" is not after "2024-03-14")."""
    k = min(len(a), len(b))
    return bool(k) and a[:k] > b[:k]


def superseded(quotes: list[tuple[Candidate, int]], documents: dict[str, Document]) -> set[int]:
    """Indexes of the quotes a later quote on the same subject and places supersedes."""
    out = set()
    for i, (a, _) in enumerate(quotes):
        date_a = documents[a.chunk.doc_id].published
        for b, _ in quotes:
            if not later(documents[b.chunk.doc_id].published, date_a):
                continue
            same_places = set(a.chunk.jurisdictions) == set(b.chunk.jurisdictions)
            if same_places and float(a.vector @ b.vector) >= SUPERSEDES:
                out.add(i)
                break
    return out


def compose(quotes: list[tuple[Candidate, int]], documents: dict[str, Document], notice: str = "") -> Composed:
    """The answer's text and citations, numbered in reading order: current statements first,
    then those under "Earlier:"."""
    docs = {c.chunk.doc_id for c, _ in quotes}
    attributed = len(docs) > 1 or len({documents[d].published for d in docs}) > 1
    old = superseded(quotes, documents)
    order = [i for i in range(len(quotes)) if i not in old] + [i for i in range(len(quotes)) if i in old]
    parts = [notice] if notice else []
    citations: list[Citation] = []
    earlier: list[int] = []
    for n, i in enumerate(order, start=1):
        cand, end = quotes[i]
        doc = documents[cand.chunk.doc_id]
        citation = Citation.from_span(n, doc, cand.chunk.id, cand.start, end)
        citations.append(citation)
        if i in old:
            if not earlier:
                parts.append("Earlier:")
            earlier.append(n)
        quote = f"{defuse_markers(one_line(citation.quote))} [{n}]"
        parts.append(f"{label(doc)}: {quote}" if attributed else quote)
    return Composed(" ".join(parts), tuple(citations), tuple(earlier))
