"""A document's newer versions, and what a quoted sentence became in the newest.

Two documents of the same publisher and kind, dated apart, are taken as an older and a newer
statement of that publisher's position of that kind: a policy and its revision, a help page
and the one that replaced it, a regulator's notice and its later statement. When the best
sentence comes from an older one, the newest one's closest sentence is its counterpart:
the same statement (cosine above evidence.REDUNDANT), quoted from the version in force
instead; or the same point, changed (cosine at least attribution.SUPERSEDES), quoted first
with the older one under "Earlier:". The question's own words need not find it: a revision
often words the point differently ("We no longer use ... the prompts you enter").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .attribution import SUPERSEDES, later
from .evidence import REDUNDANT, Candidate
from .text import looks_like_instruction
from .types import Document, Filters

if TYPE_CHECKING:
    from .index import Index


def newest_version(doc: Document, documents: dict[str, Document], filters: Filters) -> Document | None:
    """The latest document of `doc`'s publisher and kind dated after it (within the filters:
    as of a date, the version in force then), or None."""
    if not doc.publisher or not doc.published:
        return None
    publisher = doc.publisher.casefold()
    newer = [
        d
        for d in documents.values()
        if d.kind == doc.kind
        and d.publisher.casefold() == publisher
        and later(d.published, doc.published)
        and filters.allows_document(d)
    ]
    return max(newer, key=lambda d: d.published) if newer else None


def counterpart(best: Candidate, index: Index, filters: Filters, question: np.ndarray) -> Candidate | None:
    """The sentence of the newest version of best's document on best's point (cosine at least
    SUPERSEDES) that is closest to best and to the question (`question`: its vector; the sum
    of both cosines); None when there is no newer version or no such sentence. It takes
    best's scores: it stands in for best."""
    newest = newest_version(index.documents[best.chunk.doc_id], index.documents, filters)
    if newest is None:
        return None
    found: tuple[float, Candidate] | None = None
    for i in index.chunks.rows_of(newest.id):
        chunk = index.chunks[i]
        vectors = index.sentences_of(chunk).astype(np.float32)
        for j, sent in enumerate(chunk.sentences):
            if looks_like_instruction(newest.text[sent.start : sent.end]):
                continue
            cos = float(vectors[j] @ best.vector)
            score = cos + float(vectors[j] @ question)
            if cos >= SUPERSEDES and (found is None or score > found[0]):
                cand = Candidate(
                    chunk, sent.start, sent.end, vectors[j], best.relevance, best.rank_score, j, best.overlap
                )
                found = (score, cand)
    return found[1] if found else None


def in_force(
    best: Candidate, newer: Candidate | None, index: Index, filters: Filters, question: np.ndarray
) -> tuple[Candidate, Candidate | None]:
    """The sentence to quote for `best` and the newer statement to quote beside it: the same
    statement in best's newest version replaces best; a changed one is the newer statement
    when `newer` (attribution.newer_statement) is None."""
    current = counterpart(best, index, filters, question)
    if current is not None and float(current.vector @ best.vector) > REDUNDANT:
        return current, newer
    return best, newer if newer is not None else current
