"""Evidence sentences: a scored candidate, and how chosen sentences become quotes.

A very short sentence ("At the moment, no.") brings the sentence that completes it,
and the two are one quote with one citation; sentences are grouped by passage, in
reading order within each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import Chunk, quote_key

MAX_SENTENCES = 4  # in an answer, counting the sentence that completes a very short one
SHORT = 40  # a sentence this short ("At the moment, no.") is followed by the next one for substance
REDUNDANT = 0.85  # cosine above which two sentences say the same thing


@dataclass(frozen=True)
class Candidate:
    chunk: Chunk
    start: int
    end: int
    vector: np.ndarray
    relevance: float  # how well the sentence answers the question, 0..1 (abstention uses this)
    rank_score: float  # relevance weighted by jurisdiction (selection uses this)
    position: int  # index of the sentence in its chunk
    overlap: float = 0.0  # IDF-weighted share of the question's terms it uses (a decision input)

    @property
    def key(self) -> tuple[str, int]:
        """Which sentence this is (candidates hold vectors: compare keys, not candidates)."""
        return (self.chunk.id, self.start)


def with_followers(chosen: list[Candidate], candidates: list[Candidate]) -> list[Candidate]:
    """A very short sentence ("Yes.", "At the moment, no.") brings the sentence after it."""
    chosen = list(chosen)
    for cand in list(chosen):
        if cand.end - cand.start < SHORT and len(chosen) < MAX_SENTENCES:
            nxt = next_sentence(cand, candidates)
            if nxt is not None and all(c.key != nxt.key for c in chosen):
                chosen.insert(chosen.index(cand) + 1, nxt)
    return chosen


def next_sentence(cand: Candidate, candidates: list[Candidate]) -> Candidate | None:
    for c in candidates:
        if c.chunk.id == cand.chunk.id and c.position == cand.position + 1:
            return c
    return None


def quotes(chosen: list[Candidate]) -> list[tuple[Candidate, int]]:
    """(first sentence, end offset) per citation: a very short sentence ("At the moment, no.")
    and the sentence that completes it are one quote, so one claim carries one citation."""
    out: list[tuple[Candidate, int]] = []
    prev: Candidate | None = None
    for c in chosen:
        if (
            out
            and prev is not None
            and prev.end - prev.start < SHORT
            and c.chunk.id == prev.chunk.id
            and c.position == prev.position + 1
        ):
            out[-1] = (out[-1][0], c.end)
        else:
            out.append((c, c.end))
        prev = c
    return out


def group_by_passage(chosen: list[Candidate]) -> list[Candidate]:
    """Most direct passage first; within a passage, the sentences in reading order."""
    order: list[str] = []
    for c in chosen:
        if c.chunk.id not in order:
            order.append(c.chunk.id)
    return [c for cid in order for c in sorted((x for x in chosen if x.chunk.id == cid), key=lambda x: x.start)]


def unseen(candidates: list[Candidate], seen: tuple[str, ...]) -> list[Candidate]:
    """The candidates a conversation has not quoted yet, unless it has quoted them all."""
    fresh = [c for c in candidates if quote_key(c.chunk.id, c.start) not in seen]
    return fresh or candidates
