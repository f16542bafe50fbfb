"""Stage 4: hybrid search (dense + BM25, reciprocal-rank fusion), filters -> Passage."""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal, Protocol

import numpy as np

from . import adapter as adapters
from . import jurisdiction as jur
from .adapter import QueryAdapter
from .config import RETRIEVERS
from .index import Index
from .types import Chunk, Filters, Passage

RRF_K = 60
# How much a passage's fused score moves with how its places relate to the asker's
# (see jurisdiction.relation for the rule itself). Measured on the fit data only
# (evals/jurisdiction_weights.py: MRR@8 of the passage that answers, 106 of 1,837 questions
# asked from a place): no weighting 0.772 macro over the sources, these weights 0.790
# (visible 0.894 -> 0.925, dev3 0.862 -> 0.896, evolving 0.849 -> 0.824). The best of a
# 125-point grid, 2.0 / 2.0 / 1.0, reached 0.796, a difference of a few place questions, so
# these were kept.
JURISDICTION_WEIGHT = {
    jur.Relation.NEUTRAL: 1.0,
    jur.Relation.MATCH: 1.5,
    jur.Relation.GENERAL_RULE: 1.3,
    jur.Relation.MISMATCH: 0.7,
}


class Retriever(Protocol):
    """What the answerers search with: top k passages for a query, within the filters.

    `asker` is the jurisdiction the question is asked from (None: no preference).
    """

    def retrieve(
        self, query: str, k: int, filters: Filters | None = None, asker: str | None = None
    ) -> list[Passage]: ...


class QueryEncoder:
    """Query vectors with a small cache: the answerer reuses the retriever's vector.

    `question()` is the vector a question searches with: moved by the fitted query adapter
    (adapter.py) when there is one for the index's embedding model; calling the encoder
    gives a text's own vector (a heading, a word)."""

    def __init__(
        self, index: Index, size: int = 512, adapter: QueryAdapter | Literal["fitted"] | None = "fitted"
    ) -> None:
        self.index = index
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        if adapter == "fitted":
            embedder = index.embedder
            adapter = adapters.for_model(str(getattr(embedder, "model", embedder.name)), embedder.dim)
        self.adapter: QueryAdapter | None = adapter

    def question(self, text: str) -> np.ndarray:
        vec = self(text)
        return self.adapter(vec) if self.adapter is not None else vec

    def __call__(self, text: str) -> np.ndarray:
        return self.many([text])[0]

    def remember(self, text: str, vector: np.ndarray) -> None:
        """Take `vector` as the text's own vector (a sentence's, from the index) instead of
        encoding it again."""
        if text not in self._cache:
            self._cache[text] = np.asarray(vector, dtype=np.float32)
            self._trim()

    def many(self, texts: list[str]) -> list[np.ndarray]:
        """The texts' own vectors; those not cached are encoded in one batch."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vec in zip(missing, self.index.embedder.encode(missing), strict=True):
                self._cache[text] = vec
        out = []
        for text in texts:
            self._cache.move_to_end(text)
            out.append(self._cache[text])
        self._trim()
        return out

    def _trim(self) -> None:
        """Keep the last `size` texts used."""
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)


class DenseRetriever:
    def __init__(self, index: Index, encoder: QueryEncoder | None = None) -> None:
        self.index = index
        self.encode = encoder or QueryEncoder(index)

    def retrieve(self, query: str, k: int, filters: Filters | None = None, asker: str | None = None) -> list[Passage]:
        hits = self.index.dense_search(self.encode.question(query), k, filters)
        return [Passage(chunk, score, dense=score) for chunk, score in hits]


class LexicalRetriever:
    def __init__(self, index: Index) -> None:
        self.index = index

    def retrieve(self, query: str, k: int, filters: Filters | None = None, asker: str | None = None) -> list[Passage]:
        hits = self.index.lexical_search(query, k, filters)
        return [Passage(chunk, score, lexical=score) for chunk, score in hits]


def jurisdiction_weight(places: tuple[str, ...], doc_places: tuple[str, ...], asker: str | None) -> float:
    """Prefer text about the asker's jurisdiction; see JURISDICTION_WEIGHT."""
    return JURISDICTION_WEIGHT[jur.relation(places, doc_places, asker)]


class HybridRetriever:
    """Dense and lexical candidates fused by reciprocal rank, then weighted by jurisdiction."""

    def __init__(
        self,
        index: Index,
        encoder: QueryEncoder | None = None,
        fetch: int = 30,
        use_dense: bool = True,
        use_lexical: bool = True,
    ) -> None:
        self.index = index
        self.dense = DenseRetriever(index, encoder)
        self.lexical = LexicalRetriever(index)
        self.fetch = fetch
        self.use_dense = use_dense
        self.use_lexical = use_lexical

    def retrieve(self, query: str, k: int, filters: Filters | None = None, asker: str | None = None) -> list[Passage]:
        """Top k passages. `asker` is the question's jurisdiction (detected when not given)."""
        n = max(k, self.fetch)
        dense = self.dense.retrieve(query, n, filters) if self.use_dense else []
        lexical = self.lexical.retrieve(query, n, filters) if self.use_lexical else []
        asker = asker or (filters.jurisdiction if filters else None) or jur.for_question(query, self.index.uses)
        fused: dict[str, float] = {}
        chunks: dict[str, Chunk] = {}
        dense_score: dict[str, float] = {}
        lexical_score: dict[str, float] = {}
        for ranked, scores in ((dense, dense_score), (lexical, lexical_score)):
            for rank, p in enumerate(ranked):
                fused[p.chunk.id] = fused.get(p.chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
                chunks[p.chunk.id] = p.chunk
                scores[p.chunk.id] = p.score
        for cid, chunk in chunks.items():
            doc = self.index.documents[chunk.doc_id]
            fused[cid] *= jurisdiction_weight(chunk.jurisdictions, doc.jurisdictions, asker)
        best = sorted(fused, key=lambda cid: -fused[cid])[:k]
        return [Passage(chunks[c], fused[c], dense=dense_score.get(c), lexical=lexical_score.get(c)) for c in best]


def make_retriever(index: Index, kind: str = "hybrid", encoder: QueryEncoder | None = None) -> HybridRetriever:
    """'hybrid' (default), 'dense' or 'bm25': the same fusion and weighting over one or both lists."""
    if kind not in RETRIEVERS:
        raise ValueError(f"unknown retriever {kind!r}: use {', '.join(RETRIEVERS)}")
    return HybridRetriever(index, encoder, use_dense=kind != "bm25", use_lexical=kind != "dense")
