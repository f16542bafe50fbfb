"""An index generation: its typed state and the one reader and writer of its files.

Layout under ASSISTANT_HOME/index/:

    state.json      the live Generation (replaced atomically, last, by a refresh)
    g000007/        documents.json, chunks.json, sentences.npy, bm25/, vocabulary.json,
                    vocabulary.npy, chroma-*/ (its own Chroma store, unless a Chroma
                    server holds the vectors)

Every generation records its embedding model, so vectors of two models never mix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .chunk_table import ChunkColumns, ChunkTable
from .files import write_json
from .types import Chunk, Document

FORMAT = 1
STATE = "state.json"
FILES = ("documents.json", "chunks.json", "sentences.npy", "bm25", "vocabulary.json", "vocabulary.npy")


@dataclass(frozen=True)
class DocumentRecord:
    """What a generation remembers of a document to tell whether it changed."""

    content_hash: str
    fingerprint: str
    chunks: int


@dataclass(frozen=True)
class Generation:
    name: str  # "g000007"
    collection: str  # the Chroma collection of its chunk vectors
    store: str  # its local Chroma store, relative to the index folder
    embed_model: str
    dim: int
    built_at: str
    corpus: str
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    vectors: str = "two-pass"  # how its vectors were made (Settings.vectors)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["generation"] = data.pop("name")
        return {"format": FORMAT, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Generation | None:
        """None for a missing state or one written in another format."""
        if not data or data.get("format") != FORMAT:
            return None
        try:
            return cls(
                name=data["generation"],
                collection=data["collection"],
                store=data.get("store", "chroma"),  # indexes before per-generation stores shared one
                embed_model=data["embed_model"],
                dim=int(data["dim"]),
                built_at=data.get("built_at", ""),
                corpus=data.get("corpus", ""),
                documents={k: DocumentRecord(**v) for k, v in data.get("documents", {}).items()},
                vectors=data.get("vectors", "two-pass"),
            )
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def chunk_count(self) -> int:
        return sum(d.chunks for d in self.documents.values())

    def successor(self) -> str:
        return f"g{int(self.name[1:]) + 1:06d}"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def fingerprint(doc: Document) -> str:
    """Changes when the text or any metadata a citation shows changes (not the fetch time)."""
    meta = doc.to_dict()
    meta.pop("text")
    meta.pop("fetched")  # fetching again without a change is not a change
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Vocabulary:
    """The corpus's content words with their vectors, and lexical document frequencies."""

    embed_model: str
    words: list[str]
    vectors: np.ndarray  # row-aligned with words
    document_frequency: dict[str, int]  # lexical token -> number of chunks holding it


class GenerationFiles:
    """The files of one generation folder: every reader and writer of them is here."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def bm25_dir(self) -> Path:
        return self.path / "bm25"

    def complete(self) -> bool:
        return all((self.path / name).exists() for name in FILES)

    # readers

    def documents(self) -> dict[str, Document]:
        raw = json.loads((self.path / "documents.json").read_text("utf-8"))
        return {d["id"]: Document.from_dict(d) for d in raw}

    def chunks(self, documents: dict[str, Document]) -> ChunkTable:
        return ChunkTable(self.chunk_columns(), documents)

    def chunk_columns(self) -> ChunkColumns:
        return ChunkColumns.from_json(json.loads((self.path / "chunks.json").read_text("utf-8")))

    def sentence_vectors(self) -> np.ndarray:
        """Memory-mapped: an answer reads only the rows of the chunks it retrieved."""
        return np.load(self.path / "sentences.npy", mmap_mode="r")

    def vocabulary(self) -> Vocabulary:
        meta = json.loads((self.path / "vocabulary.json").read_text("utf-8"))
        vectors = np.load(self.path / "vocabulary.npy").astype(np.float32)
        return Vocabulary(meta.get("embed_model", ""), meta["words"], vectors, meta["document_frequency"])

    # writers (each file written whole, then renamed into place)

    def write_documents(self, documents: list[Document]) -> None:
        write_json(self.path / "documents.json", [d.to_dict() for d in documents])

    def write_chunks(self, chunks: list[Chunk]) -> None:
        write_json(self.path / "chunks.json", ChunkColumns.of(chunks).to_json())

    def write_sentence_vectors(self, matrix: np.ndarray) -> None:
        np.save(self.path / "sentences.npy", matrix)

    def write_vocabulary(self, vocabulary: Vocabulary) -> None:
        np.save(self.path / "vocabulary.npy", vocabulary.vectors)
        write_json(
            self.path / "vocabulary.json",
            {
                "embed_model": vocabulary.embed_model,
                "words": vocabulary.words,
                "document_frequency": vocabulary.document_frequency,
            },
        )


def remove_generations(index_dir: Path, keep: set[str]) -> None:
    """Remove generation folders (and half-downloaded ones) other than `keep`."""
    for path in [*index_dir.glob("g[0-9]*"), *index_dir.glob(".g[0-9]*.part")]:
        if path.is_dir() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
