"""A generation's chunks as stored (one JSON object of columns) and as read (made into
`Chunk`s only when used).

At 100k chunks, parsing 100k JSON objects took 0.64 s and making every `Chunk` 0.8 s of a
cold start that reads a handful of them; the columns parse in 0.11 s. A chunks.json
written as a list of records (before the columns) is still read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from .types import Chunk, Document, Sentence


@dataclass(frozen=True)
class ChunkColumns:
    ids: list[str]
    doc_ids: list[str]
    starts: list[int]
    ends: list[int]
    sections: list[str]
    jurisdictions: list[list[str]]
    sentence_counts: list[int]
    sentence_bounds: list[int]  # start, end, start, end, ... of every sentence in chunk order

    @classmethod
    def of(cls, chunks: Sequence[Chunk]) -> ChunkColumns:
        return cls(
            [c.id for c in chunks],
            [c.doc_id for c in chunks],
            [c.start for c in chunks],
            [c.end for c in chunks],
            [c.section for c in chunks],
            [list(c.jurisdictions) for c in chunks],
            [len(c.sentences) for c in chunks],
            [x for c in chunks for s in c.sentences for x in (s.start, s.end)],
        )

    def to_json(self) -> dict[str, Any]:
        return {"columns": 1, **{k: getattr(self, k) for k in self.__dataclass_fields__}}

    @classmethod
    def from_json(cls, data: Any) -> ChunkColumns:
        if isinstance(data, list):  # written before the columns: one record per chunk
            return cls(
                [r["id"] for r in data],
                [r["doc_id"] for r in data],
                [r["start"] for r in data],
                [r["end"] for r in data],
                [r["section"] for r in data],
                [r["jurisdictions"] for r in data],
                [len(r["sentences"]) for r in data],
                [x for r in data for s in r["sentences"] for x in s],
            )
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})

    def sentence_rows(self) -> dict[str, tuple[int, int]]:
        """Rows of each chunk's sentences in the sentence matrix (sentences are stored in chunk order)."""
        first = self.first_sentences()
        return {cid: (first[i], first[i + 1]) for i, cid in enumerate(self.ids)}

    def first_sentences(self) -> list[int]:
        """Index of each chunk's first sentence among all sentences (one more at the end)."""
        return [0, *np.cumsum(np.asarray(self.sentence_counts, dtype=np.int64)).tolist()]

    def sentence_texts(self, documents: dict[str, Document]) -> Iterator[str]:
        """Every sentence's text, in the order of the sentence matrix (chunk order)."""
        bounds = self.sentence_bounds
        row = 0
        for doc_id, count in zip(self.doc_ids, self.sentence_counts, strict=True):
            text = documents[doc_id].text
            for k in range(row, row + count):
                yield text[bounds[2 * k] : bounds[2 * k + 1]]
            row += count

    def sentences_of(self, i: int, first: Sequence[int]) -> list[list[int]]:
        a, b = first[i], first[i + 1]
        bounds = self.sentence_bounds[2 * a : 2 * b]
        return [[bounds[k], bounds[k + 1]] for k in range(0, len(bounds), 2)]


class ChunkTable(Sequence[Chunk]):
    """A generation's chunks, each made a `Chunk` when first used."""

    def __init__(self, columns: ChunkColumns, documents: dict[str, Document]) -> None:
        self.columns = columns
        self.documents = documents
        self._first = columns.first_sentences()
        self._made: list[Chunk | None] = [None] * len(columns.ids)
        self._places: frozenset[str] | None = None
        self._doc_codes: tuple[list[str], np.ndarray] | None = None

    @property
    def ids(self) -> list[str]:
        return self.columns.ids

    @property
    def doc_ids(self) -> list[str]:
        return self.columns.doc_ids

    def __len__(self) -> int:
        return len(self.columns.ids)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        made = self._made[i]
        if made is None:
            c = self.columns
            made = self._made[i] = Chunk(
                id=c.ids[i],
                doc_id=c.doc_ids[i],
                text=self.documents[c.doc_ids[i]].text[c.starts[i] : c.ends[i]],
                start=c.starts[i],
                end=c.ends[i],
                section=c.sections[i],
                jurisdictions=tuple(c.jurisdictions[i]),
                sentences=tuple(Sentence(a, b) for a, b in c.sentences_of(i, self._first)),
            )
        return made

    def __iter__(self) -> Iterator[Chunk]:
        return (self[i] for i in range(len(self)))

    def jurisdictions(self, i: int) -> tuple[str, ...]:
        return tuple(self.columns.jurisdictions[i])

    def places(self) -> frozenset[str]:
        """Every jurisdiction any chunk speaks of."""
        if self._places is None:
            self._places = frozenset(j for js in self.columns.jurisdictions for j in js)
        return self._places

    def in_documents(self, doc_ids: Collection[str]) -> np.ndarray:
        """One boolean per chunk: its document is one of doc_ids (without a loop over chunks)."""
        if self._doc_codes is None:
            names = sorted(set(self.columns.doc_ids))
            code = {d: k for k, d in enumerate(names)}
            self._doc_codes = (names, np.fromiter((code[d] for d in self.columns.doc_ids), np.int32, len(self)))
        names, codes = self._doc_codes
        return np.fromiter((d in doc_ids for d in names), bool, len(names))[codes]

    def sentence_span(self, i: int) -> tuple[int, int]:
        """Rows of chunk i's sentences in the sentence matrix (see ChunkColumns.sentence_rows)."""
        return self._first[i], self._first[i + 1]
