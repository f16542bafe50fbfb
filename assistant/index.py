"""Stage 3 (reading): the live index generation, loaded for search.

`open_index` loads the generation that state.json (or, in server mode, the Chroma
server) names: documents, chunks, sentence vectors, BM25, vocabulary, and a client on
its chunk-vector collection. Building generations is refresh.py's job.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import store
from .bm25 import Bm25Index
from .chunk_table import ChunkTable
from .config import Settings
from .embedder import Embedder, TextEncoder
from .generation import STATE, Generation, GenerationFiles, Vocabulary
from .jurisdiction import applies
from .lexical import lexical_tokens
from .types import AssistantError, Chunk, Document, Filters


def live_generation(settings: Settings) -> Generation | None:
    """The live generation (None when there is none, or its state cannot be read)."""
    if settings.chroma_url:
        return store.remote_live(settings)
    try:
        return Generation.from_dict(json.loads((settings.index_dir / STATE).read_text("utf-8")))
    except (OSError, ValueError):
        return None


def exists(settings: Settings) -> bool:
    return live_generation(settings) is not None


def complete(settings: Settings, generation: Generation) -> bool:
    """True when the generation's files and its vector collection are all there and readable."""
    if settings.chroma_url:
        try:
            store.download(settings, generation)
        except AssistantError:
            return False
    files = GenerationFiles(settings.index_dir / generation.name)
    return files.complete() and _bm25_ok(files.bm25_dir) and store.collection_ok(settings, generation)


def _bm25_ok(folder: Path) -> bool:
    try:
        Bm25Index(folder)
    except AssistantError:
        return False
    return True


# A filter keeping at least this share of the chunks is applied to a wider unfiltered vector
# search (Index.dense_search). Measured at 100k chunks of 5,000 documents (median of 10): a
# where-clause naming 80% / 10% / 5% of the documents took 249 / 43 / 31 ms, the wider search
# 2.7 / 2.8 / 3.7 ms (1.3 ms unfiltered).
MOST = 0.05
MASKS = 64  # lexical filter masks remembered (Index._lexical_mask); 100k chunks: 400 kB each
_INSIDE_CAPITALISED = re.compile(r"(?<=[a-z,;] )[A-Z][\w’'-]+")


@dataclass
class Index:
    """A loaded generation: read-only, safe to share between threads."""

    generation: Generation
    documents: dict[str, Document]
    chunks: ChunkTable  # made into Chunks as they are used
    sentence_vectors: np.ndarray  # row i = the i-th sentence in chunk order (memory-mapped)
    bm25: Bm25Index
    collection: Any  # the Chroma collection of chunk vectors
    embedder: TextEncoder
    vocabulary: Vocabulary
    client: Any = None  # the Chroma client behind `collection`; see close()
    position: dict[str, int] = field(default_factory=dict)
    stems: frozenset[str] = frozenset()
    _masks: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict, repr=False)  # see _lexical_mask

    def __post_init__(self) -> None:
        self.position = {cid: i for i, cid in enumerate(self.chunks.ids)}
        self.stems = frozenset(self.vocabulary.document_frequency)

    def uses(self, word: str) -> bool:
        """Whether the documents use this word (any form of it: "pictures" for "picture")."""
        tokens = lexical_tokens(word)
        return bool(tokens) and all(t in self.stems for t in tokens)

    @cached_property
    def proper_nouns(self) -> frozenset[str]:
        """Capitalised words the documents use inside their sentences ("Instagram", "GDPR")."""
        found: set[str] = set()
        for doc in self.documents.values():
            found.update(_INSIDE_CAPITALISED.findall(doc.text))
        return frozenset(found)

    def idf(self, token: str) -> float:
        n, df = len(self.chunks), self.vocabulary.document_frequency.get(token, 0)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def close(self) -> None:
        """Release the Chroma client (the index cannot search vectors afterwards)."""
        if self.client is not None:
            store.close(self.client)
            self.client = None

    def dense_search(self, vector: np.ndarray, n: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity, within the filters. Filters that keep most of
        the documents (as of a late date; every document later than one) are applied to a
        larger unfiltered search, which the store answers far faster than a where-clause
        naming thousands of documents; the where-clause is the fallback."""
        n = min(n, len(self.chunks))
        if n <= 0:
            return []
        if filters and filters.sources and not filters.jurisdiction:
            kept = self.chunks.in_documents(filters.source_set)
            share = float(kept.mean())
            if share >= MOST:
                wider = self._nearest(vector, min(len(self.chunks), int(np.ceil(n / share)) * 2), None)
                hits = [(c, s) for c, s in wider if kept[self.position[c.id]]][:n]
                if len(hits) == n:
                    return hits
        return self._nearest(vector, n, filters)

    def _nearest(self, vector: np.ndarray, n: int, filters: Filters | None) -> list[tuple[Chunk, float]]:
        try:
            got = self.collection.query(
                query_embeddings=[vector.tolist()],
                n_results=n,
                where=store.where(filters) if filters else None,
                include=["distances"],
            )
        except Exception as exc:
            raise AssistantError(
                f"the vector index is unavailable ({type(exc).__name__}); run 'assistant refresh'"
            ) from None
        return [
            (self.chunks[self.position[cid]], 1.0 - float(dist))
            for cid, dist in zip(got["ids"][0], (got["distances"] or [[]])[0], strict=True)
            if cid in self.position
        ]

    def _lexical_mask(self, filters: Filters) -> np.ndarray:
        """1.0 for each chunk the filters keep. Remembered for the last few filters: an
        answer's searches, and the next answers', often share them."""
        key = (filters.sources, filters.jurisdiction, filters.as_of)  # what it depends on
        mask = self._masks.get(key)
        if mask is None:
            allowed = {d for d, doc in self.documents.items() if filters.allows_document(doc)}
            inside = self.chunks.in_documents(allowed)
            if filters.jurisdiction:  # and the places of the chunks of those documents
                for i in np.flatnonzero(inside):
                    doc = self.documents[self.chunks.doc_ids[int(i)]]
                    inside[i] = applies(self.chunks.jurisdictions(int(i)), doc.jurisdictions, filters.jurisdiction)
            mask = inside.astype(np.float32)
            if len(self._masks) >= MASKS:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def lexical_search(self, query: str, n: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Best BM25 matches with a positive score, within the filters."""
        tokens = [t for t in lexical_tokens(query) if t in self.bm25.vocab_dict]
        n = min(n, len(self.chunks))
        if not tokens or n <= 0:
            return []
        mask = self._lexical_mask(filters) if filters and not filters.empty else None
        ids, scores = self.bm25.retrieve(tokens, n, weight_mask=mask)
        return [(self.chunks[int(i)], float(s)) for i, s in zip(ids, scores, strict=True) if s > 0]

    def sentences_of(self, chunk: Chunk) -> np.ndarray:
        a, b = self.chunks.sentence_span(self.position[chunk.id])
        return self.sentence_vectors[a:b]


def open_index(settings: Settings, embedder: TextEncoder | None = None, generation: Generation | None = None) -> Index:
    """Load the live generation (or `generation`, one still on disk). Raises AssistantError when
    there is none or it is damaged."""
    generation = generation or live_generation(settings)
    if generation is None:
        raise AssistantError(f"no index under {settings.index_dir}; run 'assistant refresh'")
    if settings.chroma_url:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        store.download(settings, generation)
    embedder = embedder or Embedder.for_settings(settings)
    if embedder.name != generation.embed_model:
        raise AssistantError(
            f"the index was built with {generation.embed_model!r} but {embedder.name!r} is configured; "
            "run 'assistant refresh' to re-embed"
        )
    if isinstance(embedder, Embedder):
        embedder.preload()  # while the tables and Chroma load: the first question needs it
    files = GenerationFiles(settings.index_dir / generation.name)
    try:
        documents = files.documents()
        chunks = files.chunks(documents)
        vectors = files.sentence_vectors()
        bm25 = Bm25Index(files.bm25_dir)
        vocabulary = files.vocabulary()
        client = store.client(settings, store.local_store(settings, generation))
        try:
            collection = client.get_collection(generation.collection)
        except Exception:
            store.close(client)
            raise
    except AssistantError:
        _settle(embedder)
        raise
    except Exception as exc:
        _settle(embedder)
        raise AssistantError(
            f"the index under {settings.index_dir} is damaged ({type(exc).__name__}); run 'assistant refresh'"
        ) from None
    return Index(generation, documents, chunks, vectors, bm25, collection, embedder, vocabulary, client)


def _settle(embedder: TextEncoder) -> None:
    """Before an error leaves open_index: the model loading in the background finishes first."""
    if isinstance(embedder, Embedder):
        embedder.settle()
