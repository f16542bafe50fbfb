"""The BM25 index at question time. `refresh` builds and saves it with bm25s, which stores
each token's precomputed score for every chunk that uses it (a CSC matrix, one column per
token). Answering needs only those arrays: a query's score for a chunk is the sum of its
tokens' stored scores. This reads them memory-mapped and sums them, so a cold `ask` does
not import bm25s and scipy (about a quarter of a second) nor read the whole matrix.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .types import AssistantError

# Scoring variants whose saved matrix is the whole score. BM25L and BM25+ add a score for
# every token a chunk lacks, kept in a further array; refresh never builds them.
WHOLE_SCORE_METHODS = ("robertson", "lucene", "atire")
REBUILD = "run 'assistant refresh'"  # it sees the damage (index.complete) and rebuilds


class Bm25Index:
    """A saved bm25s index, read-only: `vocab_dict` (token -> column) and `retrieve`."""

    def __init__(self, folder: Path) -> None:
        try:
            params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
            self.vocab_dict: dict[str, int] = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
            self.data = np.load(folder / "data.csc.index.npy", mmap_mode="r")
            self.indices = np.load(folder / "indices.csc.index.npy", mmap_mode="r")
            self.indptr = np.load(folder / "indptr.csc.index.npy", mmap_mode="r")
        except OSError as exc:
            raise AssistantError(
                f"the BM25 index in {folder} is unreadable ({exc.strerror or exc}); {REBUILD}"
            ) from None
        except ValueError:
            raise AssistantError(f"the BM25 index in {folder} is damaged; {REBUILD}") from None
        if not isinstance(params, dict) or not isinstance(self.vocab_dict, dict) or "num_docs" not in params:
            raise AssistantError(f"the BM25 index in {folder} is damaged; {REBUILD}")
        if params.get("method") not in WHOLE_SCORE_METHODS:
            raise AssistantError(
                f"the BM25 index in {folder} uses {params.get('method')!r}, which cannot be read here; {REBUILD}"
            )
        self.num_docs = int(params["num_docs"])
        self.dtype = np.dtype(params.get("dtype", "float32"))
        self.columns = len(self.indptr) - 1  # bm25s gives its empty token "" no column
        entries = int(self.indptr[-1]) if len(self.indptr) else -1
        if not 0 <= len(self.vocab_dict) - self.columns <= 1 or not len(self.data) == len(self.indices) == entries:
            raise AssistantError(f"the BM25 index in {folder} is damaged; {REBUILD}")

    def scores(self, tokens: list[str]) -> np.ndarray:
        """Every chunk's BM25 score for the query tokens (a token counts once per use)."""
        out = np.zeros(self.num_docs, dtype=self.dtype)
        for column in (self.vocab_dict[t] for t in tokens if t in self.vocab_dict):
            if column >= self.columns:
                continue
            start, end = int(self.indptr[column]), int(self.indptr[column + 1])
            np.add.at(out, self.indices[start:end], self.data[start:end])
        return out

    def retrieve(
        self, tokens: list[str], k: int, weight_mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best chunks with a positive score: rows and scores, best first, a tie in
        row order (`weight_mask` multiplies each chunk's score: 0 leaves it out). Only the
        chunks that use a query token are ranked, not the whole corpus."""
        scores = self.scores(tokens)
        if weight_mask is not None:
            scores *= weight_mask
        rows = np.flatnonzero(scores > 0)
        if k <= 0 or not len(rows):
            return np.zeros(0, np.int64), np.zeros(0, self.dtype)
        if len(rows) > k:  # the k best, and any row tied with the k-th (kept in row order below)
            kth = np.partition(scores[rows], len(rows) - k)[len(rows) - k]
            rows = rows[scores[rows] >= kth]
        order = np.lexsort((rows, -scores[rows]))[:k]
        return rows[order], scores[rows[order]]
