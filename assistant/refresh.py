"""Stage 3 (writing): bring the index in line with the corpus, re-embedding only what changed.

A refresh builds a new generation (its own Chroma store and files) beside the live
one and switches state.json to it last, atomically. A refresh killed at any point
leaves the old generation serving; the next refresh removes the leftovers. One
refresh runs at a time (a lock); a second waits.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import numpy as np

from . import store
from .chunk_table import ChunkColumns
from .chunking import chunk_document, embedding_text, twins
from .config import Settings
from .corpus_stat import corpus_stat, record_stat, unchanged_since_last
from .embedder import Embedder, TextEncoder
from .files import fsync_dir, write_json
from .generation import (
    STATE,
    DocumentRecord,
    Generation,
    GenerationFiles,
    Vocabulary,
    fingerprint,
    now,
    remove_generations,
)
from .index import complete, live_generation
from .lexical import lexical_tokens
from .text import content_words
from .types import AssistantError, Chunk, Document, RefreshReport
from .vectors import make_vectors


@contextlib.contextmanager
def refresh_lock(settings: Settings, wait: bool = True) -> Iterator[None]:
    """One refresh at a time per index; a second one waits (or refuses when wait=False)."""
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.index_dir / "refresh.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise AssistantError(
                    f"another refresh of {settings.index_dir} is running; try again when it ends"
                ) from None
            print(
                f"another refresh of {settings.index_dir} is running; waiting for it to end",
                file=sys.stderr,
                flush=True,
            )
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def diff(old: Generation | None, documents: list[Document], model: str, vectors: str = "two-pass") -> RefreshReport:
    """Which documents were added, changed, removed or kept, by fingerprint."""
    report = RefreshReport(first_build=old is None)
    before = {k: v.fingerprint for k, v in (old.documents if old else {}).items()}
    for doc in documents:
        if doc.id not in before:
            report.added.append(doc.id)
        elif before[doc.id] != fingerprint(doc):
            report.changed.append(doc.id)
        else:
            report.unchanged.append(doc.id)
    now_ids = {d.id for d in documents}
    report.removed = sorted(k for k in before if k not in now_ids)
    if old and old.embed_model != model:
        report.reason = f"embedding model changed from {old.embed_model!r} to {model!r}"
    elif old and old.vectors != vectors:
        report.reason = f"the way vectors are made changed from {old.vectors} to {vectors}"
    return report


def build(
    settings: Settings, documents: list[Document], embedder: TextEncoder | None = None, force: bool = False
) -> RefreshReport:
    """Bring the index in line with `documents`, re-embedding only what changed.

    Args:
        documents: the whole corpus, already loaded and validated.
        force: build a new generation even when nothing changed.
    Returns:
        What was added, changed, removed, and how many chunks were embedded.
    """
    t0 = time.perf_counter()
    embedder = embedder or Embedder.for_settings(settings)
    with refresh_lock(settings):
        old = live_generation(settings)
        report = diff(old, documents, embedder.name, settings.vectors)
        if old and report.nothing_changed and not force:
            if complete(settings, old):
                report.unchanged = sorted(d.id for d in documents)
                report.generation = old.name
                report.seconds = time.perf_counter() - t0
                return report
            report.reason = f"the live index {old.name} is damaged or incomplete; rebuilding it"
        try:
            with contextlib.ExitStack() as stack:  # closes the Chroma clients the build opens
                _Build(settings, documents, embedder, old, report, stack).run()
        except BaseException as exc:
            # The live generation is untouched; drop what this attempt wrote.
            _collect_garbage(settings, keep={old.name} if old else set())
            if isinstance(exc, Exception) and not isinstance(exc, AssistantError):
                live = f"the live index {old.name} is unchanged" if old else "no index was written"
                why = _describe_failure(exc, settings.index_dir)
                raise AssistantError(f"writing the new index failed ({why}); {live}") from exc
            raise
    report.seconds = time.perf_counter() - t0
    return report


def _describe_failure(exc: Exception, index_dir: Path) -> str:
    import errno

    text = " ".join(str(exc).split())
    full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    with contextlib.suppress(OSError):
        full = full or shutil.disk_usage(index_dir).free < 1_000_000
    if full or "disk is full" in text or "No space left" in text:
        return f"no space left on the device holding {index_dir}"
    return f"{type(exc).__name__}: {text[:160]}"


def _collect_garbage(settings: Settings, keep: set[str]) -> None:
    """Remove generations other than `keep` (the live one), left by earlier or killed refreshes."""
    remove_generations(settings.index_dir, keep)
    store.drop_collections(settings, keep)


class _Build:
    """One new generation, in phases: start, chunk, reuse, embed, write vectors, write tables, switch."""

    def __init__(
        self,
        settings: Settings,
        documents: list[Document],
        embedder: TextEncoder,
        old: Generation | None,
        report: RefreshReport,
        stack: contextlib.ExitStack,
    ) -> None:
        self.settings = settings
        self.documents = documents
        self.by_id = {d.id: d for d in documents}
        self.embedder = embedder
        self.old = old
        self.old_files = GenerationFiles(settings.index_dir / old.name) if old else None
        self.report = report
        self.stack = stack
        self.name = old.successor() if old else "g000001"
        self.files = GenerationFiles(settings.index_dir / self.name)

    def run(self) -> None:
        self.start()
        chunks = [c for d in self.documents for c in chunk_document(d)]
        self.report.passages_added, self.report.passages_removed = self.passage_diff(chunks)
        chunk_vectors, old_sentences = self.reuse(chunks)
        fresh = [c for c in chunks if c.id not in chunk_vectors]
        self.report.reused_chunks = len(chunks) - len(fresh)
        self.report.embedded_chunks = len(fresh)
        fresh_sentences = self.embed(fresh, chunk_vectors)
        dim = self.dimension(chunk_vectors)
        sentences = self.sentence_matrix(chunks, fresh_sentences, old_sentences, dim)
        collection = self.write_vectors(chunks, chunk_vectors)
        self.write_tables(chunks, sentences)
        self.switch(chunks, collection, dim)

    def start(self) -> None:
        """A fresh folder for the new generation; leftovers of killed refreshes removed."""
        _collect_garbage(self.settings, keep={self.old.name} if self.old else set())
        shutil.rmtree(self.files.path, ignore_errors=True)
        self.files.path.mkdir(parents=True)

    # complexity: old and new passages of each changed document compared in one pass
    def passage_diff(self, chunks: list[Chunk]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """For each changed document: the passages it gained and lost."""
        changed = set(self.report.changed)
        if not self.old_files or not changed:
            return {}, {}
        try:
            old_docs, old = self.old_tables
        except (OSError, ValueError, KeyError):
            return {}, {}
        before: dict[str, dict[str, str]] = {d: {} for d in changed}
        for cid, doc_id, start, end in zip(old.ids, old.doc_ids, old.starts, old.ends, strict=True):
            if doc_id in changed:
                before[doc_id][cid] = old_docs[doc_id].text[start:end]
        after: dict[str, dict[str, str]] = {d: {} for d in changed}
        for c in chunks:
            if c.doc_id in changed:
                after[c.doc_id][c.id] = c.text
        added = {d: [t for i, t in after[d].items() if i not in before[d]] for d in self.report.changed}
        removed = {d: [t for i, t in before[d].items() if i not in after[d]] for d in self.report.changed}
        return added, removed

    def reuse(self, chunks: list[Chunk]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Chunk and sentence vectors the previous generation has for the same chunk ids, or
        for the same heading and text in another document (chunking.twins), when it was made by this
        model and is intact (else nothing: everything is embedded)."""
        old, files = self.old, self.old_files
        if not self.reusable or old is None or files is None:
            return {}, {}
        try:
            c = self.stack.enter_context(store.opened(self.settings, store.local_store(self.settings, old)))
            rows = self.old_tables[1].sentence_rows()
            vectors = files.sentence_vectors()
            source = {x.id: x.id for x in chunks if x.id in rows} | twins(chunks, rows)
            found = store.chunk_vectors(c.get_collection(old.collection), sorted(set(source.values())))
        except Exception:  # a damaged old generation: embed everything again
            return {}, {}
        chunk_vectors = {new: found[was] for new, was in source.items() if was in found}
        sentences = {new: vectors[slice(*rows[was])].astype(np.float32) for new, was in source.items() if was in found}
        return chunk_vectors, sentences

    def embed(self, fresh: list[Chunk], chunk_vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Vectors of the new chunks (into chunk_vectors) and of their sentences (returned),
        made as Settings.vectors says (vectors.py)."""
        texts = [embedding_text(c) for c in fresh]
        sentences = [[self.by_id[c.doc_id].text[s.start : s.end] for s in c.sentences] for c in fresh]
        known = self.known_sentences({s for group in sentences for s in group}) if self.reusable else {}
        made = make_vectors(self.embedder, self.settings.vectors, fresh, texts, sentences, known)
        out: dict[str, np.ndarray] = {}
        for c, (chunk_vector, sentence_vectors) in zip(fresh, made, strict=True):
            chunk_vectors[c.id] = chunk_vector
            out[c.id] = sentence_vectors
        return out

    def known_sentences(self, wanted: set[str]) -> dict[str, np.ndarray]:
        """Vectors the previous generation has for any of these sentence texts (a sentence an
        edited section or a new version of a policy keeps); {} when it cannot be read."""
        if not wanted or self.old_files is None or self.settings.vectors != "two-pass":
            return {}
        out: dict[str, np.ndarray] = {}
        try:
            vectors = self.old_files.sentence_vectors()
            documents, columns = self.old_tables
            for row, text in enumerate(columns.sentence_texts(documents)):
                if text in wanted and text not in out:
                    out[text] = np.asarray(vectors[row])
        except Exception:  # a damaged old generation: encode them again
            return {}
        return out

    @cached_property
    def reusable(self) -> bool:
        """The previous generation's vectors were made by this model, this way, and it is intact."""
        old = self.old
        return bool(
            old
            and self.old_files
            and old.embed_model == self.embedder.name
            and old.vectors == self.settings.vectors
            and complete(self.settings, old)
        )

    @cached_property
    def old_tables(self) -> tuple[dict[str, Document], ChunkColumns]:
        """The previous generation's documents and chunk table, read once (raises when they cannot be)."""
        assert self.old_files is not None
        return self.old_files.documents(), self.old_files.chunk_columns()

    def dimension(self, chunk_vectors: dict[str, np.ndarray]) -> int:
        return int(next(iter(chunk_vectors.values())).shape[0]) if chunk_vectors else self.embedder.dim

    @staticmethod
    def sentence_matrix(
        chunks: list[Chunk], fresh: dict[str, np.ndarray], old: dict[str, np.ndarray], dim: int
    ) -> np.ndarray:
        """Every sentence vector in chunk order (see ChunkColumns.sentence_rows), as float16."""
        blocks = [fresh[c.id] if c.id in fresh else old[c.id] for c in chunks]
        return (np.concatenate(blocks) if blocks else np.zeros((0, dim))).astype(np.float16)

    def write_vectors(self, chunks: list[Chunk], chunk_vectors: dict[str, np.ndarray]) -> str:
        """A new collection in a new store, so readers of the old one are never disturbed.

        The store path is never used before: Chroma keeps one client per path per process,
        and a path reused after a failed build could hand back a client of deleted files.
        """
        store_name = f"chroma-{os.getpid()}-{time.time_ns()}"
        try:
            c = self.stack.enter_context(store.opened(self.settings, self.files.path / store_name))
        except AssistantError as exc:  # a store that cannot be created is a write failure, not damage
            raise OSError(str(exc)) from None
        collection = store.create_collection(c, f"chunks-{self.name}", self.embedder.name)
        store.add_chunks(collection, c, chunks, chunk_vectors, self.by_id)
        self.store_name = f"{self.name}/{store_name}"
        return str(collection.name)

    def write_tables(self, chunks: list[Chunk], sentences: np.ndarray) -> None:
        """BM25, sentence vectors, vocabulary, documents and chunks."""
        import bm25s

        bm25 = bm25s.BM25()
        bm25.index([lexical_tokens(embedding_text(c)) or [""] for c in chunks], show_progress=False)
        bm25.save(str(self.files.bm25_dir))
        self.files.write_sentence_vectors(sentences)
        self.files.write_vocabulary(self.vocabulary(chunks))
        self.files.write_documents(self.documents)
        self.files.write_chunks(chunks)
        fsync_dir(self.files.path)

    def vocabulary(self, chunks: list[Chunk]) -> Vocabulary:
        """The corpus's words with their vectors (reused from the previous generation when it
        has them) and lexical document frequencies. The answerer uses them to tell whether a
        question's words are covered by the corpus, directly or through a close word."""
        words = sorted({w for d in self.documents for w in content_words(f"{d.title} {d.publisher} {d.text}")})
        known: dict[str, np.ndarray] = {}
        if self.old_files is not None:
            with contextlib.suppress(OSError, ValueError, KeyError):
                old = self.old_files.vocabulary()
                if old.embed_model == self.embedder.name:
                    known = dict(zip(old.words, old.vectors, strict=True))
        missing = [w for w in words if w not in known]
        known.update(zip(missing, self.embedder.encode(missing), strict=True))
        dim = next(iter(known.values())).shape[0] if known else self.embedder.dim
        matrix = np.stack([known[w] for w in words]).astype(np.float16) if words else np.zeros((0, dim), np.float16)
        df: Counter[str] = Counter()
        for c in chunks:
            df.update(set(lexical_tokens(embedding_text(c))))
        return Vocabulary(self.embedder.name, words, matrix, dict(df))

    def switch(self, chunks: list[Chunk], collection: str, dim: int) -> None:
        """Make the new generation the live one: from here on, readers see it."""
        per_doc = Counter(c.doc_id for c in chunks)
        generation = Generation(
            name=self.name,
            collection=collection,
            store=self.store_name,
            embed_model=self.embedder.name,
            dim=dim,
            built_at=now(),
            corpus=str(self.settings.corpus),
            vectors=self.settings.vectors,
            documents={d.id: DocumentRecord(d.content_hash, fingerprint(d), per_doc[d.id]) for d in self.documents},
        )
        if self.settings.chroma_url:
            store.publish(self.settings, self.files.path, generation)
        write_json(self.settings.index_dir / STATE, generation.to_dict())
        fsync_dir(self.settings.index_dir)
        self.report.generation = self.name


# ---------------------------------------------------------------- the command's entry point


def previous_documents(settings: Settings) -> dict[str, Document]:
    """The documents of the live generation (what a failed source falls back to)."""
    live = live_generation(settings)
    if not live:
        return {}
    try:
        return GenerationFiles(settings.index_dir / live.name).documents()
    except (OSError, ValueError):
        return {}


def refresh(
    settings: Settings,
    force: bool = False,
    embedder: TextEncoder | None = None,
    strict: bool = False,
    fetch: bool = True,
) -> RefreshReport:
    """Load (and fetch) the corpus and bring the index in line with it.

    A source that fails (unreachable URL, unreadable file, bad manifest entry) is
    reported and its last indexed version kept, so nothing is lost; with strict=True
    any failure stops the refresh before anything is written. Raises AssistantError
    when nothing at all could be indexed. Each refresh appends its report to
    ASSISTANT_HOME/changes.jsonl.
    """
    t0 = time.perf_counter()
    embedder = embedder or Embedder.for_settings(settings)  # not loaded until something is embedded
    stat = corpus_stat(settings.corpus, f"{embedder.name} ({settings.vectors} vectors)")
    if not force:
        with refresh_lock(settings):  # a refresh under way may be changing what is checked
            quick = unchanged_since_last(settings, stat, fetch)
        if quick is not None:
            report = RefreshReport(unchanged=quick[1], generation=quick[0], seconds=time.perf_counter() - t0)
            _append_change(settings, report)
            return report
    documents, failed = _load_documents(settings, fetch, strict)
    report = build(settings, documents, embedder, force=force)
    report.failed = failed
    if report.nothing_changed:
        _update_fetch_times(settings, documents)
    _append_change(settings, report)
    if not failed:
        record_stat(settings, stat, report.generation, documents)
    return report


def _load_documents(settings: Settings, fetch: bool, strict: bool) -> tuple[list[Document], dict[str, str]]:
    """The corpus's documents (fetched first), a failed source's last indexed version in its
    place, and the failures."""
    from .fetching import Fetcher
    from .sources import load_corpus

    fetcher = Fetcher(settings.fetch_state_path) if fetch else None
    loaded = load_corpus(settings.corpus, fetcher=fetcher, strict=strict)
    documents = list(loaded.documents)
    if loaded.failed:
        have = {d.id for d in documents}
        previous = previous_documents(settings)
        documents += [previous[i] for i in loaded.failed if i in previous and i not in have]
    if not documents:
        raise AssistantError("nothing could be indexed: " + "; ".join(loaded.failed.values()))
    return documents, dict(loaded.failed)


def _append_change(settings: Settings, report: RefreshReport) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.changes_path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(report.to_record(), ensure_ascii=False) + "\n")


def _update_fetch_times(settings: Settings, documents: list[Document]) -> None:
    """A no-change refresh still records when each source was fetched (metadata only)."""
    live = live_generation(settings)
    if not live:
        return
    files = GenerationFiles(settings.index_dir / live.name)
    try:
        stored = files.documents()
    except (OSError, ValueError):
        return
    fetched = {d.id: d.fetched for d in documents if d.fetched}
    if all(d.fetched == fetched.get(d.id, d.fetched) for d in stored.values()):
        return
    files.write_documents([replace(d, fetched=fetched.get(d.id, d.fetched)) for d in stored.values()])
