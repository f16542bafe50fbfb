"""The values that flow between stages. Frozen: a stage never edits another's output."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any

from .dating import dated_by
from .jurisdiction import applies


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str
    publisher: str = ""
    url: str = ""
    published: str = ""  # ISO date or year, as precise as the source allows
    kind: str = "news"
    jurisdictions: tuple[str, ...] = ()
    content_hash: str = ""
    path: str = ""  # the local snapshot, relative to the corpus directory
    fetched: str = ""  # when a `url` source was last fetched (ISO time), else ""
    dated: str = ""  # where `published` comes from: "manifest", "page" (HTML metadata), "text", "fetched", or ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "jurisdictions": list(self.jurisdictions)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        """A stored record; fields it lacks (written before they existed) get their defaults."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        return cls(**{**values, "jurisdictions": tuple(values.get("jurisdictions", ()))})


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_id: str
    text: str
    start: int
    end: int
    section: str = ""
    jurisdictions: tuple[str, ...] = ()
    sentences: tuple[Sentence, ...] = ()  # offsets into the document text, like start/end

    def to_record(self) -> dict[str, Any]:
        """The stored form: offsets only (the text is a slice of the document's)."""
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "start": self.start,
            "end": self.end,
            "section": self.section,
            "jurisdictions": list(self.jurisdictions),
            "sentences": [[s.start, s.end] for s in self.sentences],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], doc_text: str) -> Chunk:
        return cls(
            id=record["id"],
            doc_id=record["doc_id"],
            text=doc_text[record["start"] : record["end"]],
            start=record["start"],
            end=record["end"],
            section=record["section"],
            jurisdictions=tuple(record["jurisdictions"]),
            sentences=tuple(Sentence(a, b) for a, b in record["sentences"]),
        )


@dataclass(frozen=True)
class Passage:
    chunk: Chunk
    score: float
    dense: float | None = None  # cosine similarity to the question, when known
    lexical: float | None = None  # BM25 score, when known


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    chunk_id: str
    quote: str
    start: int
    end: int
    title: str = ""
    publisher: str = ""
    published: str = ""
    url: str = ""
    fetched: str = ""  # when the source was last fetched, for url sources
    dated: str = ""  # where `published` comes from (Document.dated); "fetched": only the fetch dates it

    @classmethod
    def from_span(cls, n: int, doc: Document, chunk_id: str, start: int, end: int) -> Citation:
        """Citation n of doc.text[start:end], with the document's metadata."""
        return cls(
            n,
            doc.id,
            chunk_id,
            doc.text[start:end],
            start,
            end,
            doc.title,
            doc.publisher,
            doc.published,
            doc.url,
            doc.fetched,
            doc.dated,
        )


@dataclass(frozen=True)
class Claim:
    """One sentence of a generated answer and the verdict of the claim check."""

    text: str
    cites: tuple[int, ...]  # passage numbers as the model wrote them
    supported: bool
    score: float
    reason: str = ""  # why it was removed ("" when supported)
    quote: str = ""  # the sentence of the cited passages that comes closest to supporting it


@dataclass(frozen=True)
class Conflict:
    """Two cited statements that answer the question differently ("Sources differ")."""

    claim_a: str
    claim_b: str
    citations: tuple[int, ...]  # the citation numbers of both sides


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    abstained: bool
    jurisdiction: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # Extractive answers: the coverage note the text opens with ("the documents do not
    # cover Canada specifically"). Generated answers: what the claim check did, or why
    # this is the extractive answer instead.
    notice: str = ""
    answerer: str = "extractive"  # "extractive" | "llm" | "extractive-fallback"
    claims: tuple[Claim, ...] = ()  # generated sentences with the check's verdicts (llm answers)
    generated: str = ""  # the model's raw text, before the check
    earlier: tuple[int, ...] = ()  # citations shown under "Earlier:" (superseded by a newer statement)
    conflicts: tuple[Conflict, ...] = ()  # disagreements between the cited sources
    # Extractive answers: the fitted probability that the documents answer the question
    # (scoring.Decision); the answerer abstains below its threshold.
    confidence: float | None = None
    # Parts of a multi-part question the documents do not answer (said at the end of the text).
    unanswered: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for p in data["passages"]:
            p["chunk"].pop("sentences", None)
        return data


def quote_key(chunk_id: str, start: int) -> str:
    """Which sentence a quote starts at, as a conversation remembers it ("chunk id@start")."""
    return f"{chunk_id}@{start}"


class AssistantError(Exception):
    """An error the user can fix (bad input, missing file, unreachable server).

    Its message is one line naming the input at fault; entry points print it
    without a traceback and exit non-zero.
    """


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some documents and to what applies in one jurisdiction
    (the rule is `jurisdiction.applies`)."""

    sources: tuple[str, ...] = ()
    jurisdiction: str | None = None
    as_of: str | None = None  # only documents dated up to then (ISO date, year-month or year)
    # Sentences an earlier answer in the conversation quoted (`quote_key`): not quoted
    # again while another sentence can answer. Retrieval ignores it.
    seen: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.sources and not self.jurisdiction and not self.as_of

    @cached_property
    def source_set(self) -> frozenset[str]:
        """The sources as a set: they can be thousands (as of a date; every document later than one)."""
        return frozenset(self.sources)

    def allows_document(self, doc: Document) -> bool:
        """The document-level part of `allows`: its id and its date."""
        return (not self.sources or doc.id in self.source_set) and (
            not self.as_of or dated_by(doc.published, self.as_of)
        )

    def allows(self, chunk: Chunk, doc: Document) -> bool:
        return self.allows_places(chunk.jurisdictions, doc)

    def allows_places(self, chunk_places: tuple[str, ...], doc: Document) -> bool:
        """`allows` for a chunk that speaks of `chunk_places`."""
        if not self.allows_document(doc):
            return False
        return applies(chunk_places, doc.jurisdictions, self.jurisdiction)


@dataclass
class RefreshReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    embedded_chunks: int = 0
    reused_chunks: int = 0
    seconds: float = 0.0
    generation: str = ""
    reason: str = ""  # why everything was re-embedded, when it was
    failed: dict[str, str] = field(default_factory=dict)  # id -> reason; their last indexed version is kept
    passages_added: dict[str, list[str]] = field(default_factory=dict)  # changed doc id -> new passage texts
    passages_removed: dict[str, list[str]] = field(default_factory=dict)
    first_build: bool = False  # there was no index before

    @property
    def nothing_changed(self) -> bool:
        return not (self.added or self.changed or self.removed or self.reason)

    @property
    def touched(self) -> list[str]:
        """Documents whose indexed text differs from before (what eval questions may depend on)."""
        return sorted({*self.added, *self.changed, *self.removed})

    def to_record(self) -> dict[str, Any]:
        """The line appended to ASSISTANT_HOME/changes.jsonl."""
        docs: list[dict[str, Any]] = [{"id": i, "status": "added"} for i in self.added]
        docs += [
            {
                "id": i,
                "status": "changed",
                "passages_added": self.passages_added.get(i, []),
                "passages_removed": self.passages_removed.get(i, []),
            }
            for i in self.changed
        ]
        docs += [{"id": i, "status": "removed"} for i in self.removed]
        docs += [{"id": i, "status": "failed", "reason": r} for i, r in self.failed.items()]
        docs += [{"id": i, "status": "unchanged"} for i in self.unchanged if i not in self.failed]
        return {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "generation": self.generation,
            "reason": self.reason,
            "embedded_chunks": self.embedded_chunks,
            "reused_chunks": self.reused_chunks,
            "seconds": round(self.seconds, 3),
            "documents": docs,
        }
