"""The vector store: Chroma clients, chunk metadata and filters, and server mode.

The only module that imports chromadb. By default each generation has its own
on-disk Chroma store; with ASSISTANT_CHROMA_URL every process uses one Chroma server,
where a refresh also publishes the generation's other files (documents, chunks,
sentence vectors, BM25, vocabulary) in a "files-gNNNNNN" collection and switches the
live generation in the metadata of the "assistant-live" collection. A replica
downloads a generation it has not seen once into its own ASSISTANT_HOME (a cache).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from . import jurisdiction
from .config import Settings
from .generation import Generation, GenerationFiles
from .types import AssistantError, Chunk, Document, Filters

LIVE_COLLECTION = "assistant-live"
PIECE = 1_000_000  # characters of base64 per stored piece of a published file
PIECES_PER_REQUEST = 16

# One HTTP client per Chroma server for the whole process: Chroma registers a new system
# for every HttpClient and does not let go of all of it on close(), so a replica that made
# one per poll would grow without end.
_HTTP_CLIENTS: dict[str, Any] = {}
_HTTP_LOCK = threading.Lock()


def local_store(settings: Settings, generation: Generation) -> Path:
    """The on-disk Chroma store of a generation: its own folder, so a damaged store is never
    reused and a half-written one never touches the live one."""
    return settings.index_dir / generation.store


def client(settings: Settings, store: Path | None = None) -> Any:
    """A Chroma client: the shared HTTP client in server mode, else one on `store`."""
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
                http = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or 8000,
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            except Exception as exc:
                raise AssistantError(f"Chroma server at {settings.chroma_url} is unreachable ({exc})") from None
            _HTTP_CLIENTS[settings.chroma_url] = http
            return http
    path = store or settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise AssistantError(
            f"the vector store {path} cannot be opened ({type(exc).__name__}); run 'assistant refresh'"
        ) from None


@contextlib.contextmanager
def opened(settings: Settings, store: Path | None = None) -> Iterator[Any]:
    """A Chroma client for one piece of work, closed after it.

    Chroma keeps each client's system (files, caches, an HTTP pool) until the client is
    closed; a long-running server that opened one per generation or per poll would grow.
    """
    c = client(settings, store)
    try:
        yield c
    finally:
        close(c)


def close(c: Any) -> None:
    if any(c is shared for shared in _HTTP_CLIENTS.values()):
        return  # shared by the whole process
    with contextlib.suppress(Exception):
        c.close()


def chunk_metadata(chunk: Chunk, doc: Document) -> dict[str, Any]:
    return {
        "doc_id": chunk.doc_id,
        "start": chunk.start,
        "end": chunk.end,
        "section": chunk.section,
        **jurisdiction.store_metadata(chunk.jurisdictions, doc.jurisdictions),
    }


def where(filters: Filters) -> dict[str, Any] | None:
    """Filters, as a Chroma where-clause over chunk_metadata."""
    parts: list[dict[str, Any]] = []
    if filters.sources:
        parts.append({"doc_id": {"$in": list(filters.sources)}})
    if filters.jurisdiction:
        parts.append(jurisdiction.store_where(filters.jurisdiction))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def create_collection(c: Any, name: str, embed_model: str) -> Any:
    with contextlib.suppress(Exception):
        c.delete_collection(name)
    return c.create_collection(
        name, metadata={"hnsw:space": "cosine", "embed_model": embed_model}, embedding_function=None
    )


def add_chunks(
    collection: Any, c: Any, chunks: list[Chunk], vectors: dict[str, np.ndarray], docs: dict[str, Document]
) -> None:
    step = max(1, min(1000, c.get_max_batch_size()))
    for i in range(0, len(chunks), step):
        batch = chunks[i : i + step]
        collection.add(
            ids=[x.id for x in batch],
            embeddings=np.stack([vectors[x.id] for x in batch]),
            metadatas=[chunk_metadata(x, docs[x.doc_id]) for x in batch],
        )


def chunk_vectors(collection: Any, ids: list[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for i in range(0, len(ids), 1000):
        got = collection.get(ids=ids[i : i + 1000], include=["embeddings"])
        for cid, vec in zip(got["ids"], got["embeddings"], strict=True):
            out[cid] = np.asarray(vec, dtype=np.float32)
    return out


def collection_ok(settings: Settings, generation: Generation) -> bool:
    """The generation's collection holds every chunk and answers a query."""
    try:
        with opened(settings, local_store(settings, generation)) as c:
            collection = c.get_collection(generation.collection)
            if collection.count() != generation.chunk_count:
                return False
            if generation.chunk_count:
                probe = collection.get(limit=1, include=["embeddings"])
                collection.query(query_embeddings=[list(probe["embeddings"][0])], n_results=1)
            return True
    except Exception:
        return False


def drop_collections(settings: Settings, keep: set[str]) -> None:
    """Delete collections of generations other than `keep` (a server, or the shared store of
    indexes older than per-generation stores). Best effort: leftovers cost only space."""
    if not settings.chroma_url and not (settings.index_dir / "chroma").is_dir():
        return
    try:
        with opened(settings) as c:
            for col in c.list_collections():
                name = col if isinstance(col, str) else col.name
                for prefix in ("chunks-", "files-"):
                    if name.startswith(prefix + "g") and name.removeprefix(prefix) not in keep:
                        c.delete_collection(name)
    except AssistantError:
        raise
    except Exception:
        pass


# ---------------------------------------------------------------- server mode


def remote_live(settings: Settings) -> Generation | None:
    """The live generation published on the Chroma server, or None."""
    try:
        with opened(settings) as c:
            live = c.get_collection(LIVE_COLLECTION)
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
        return Generation.from_dict(json.loads(raw) if raw else None)
    except ValueError:
        return None


def _unreachable(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in ("connect", "timeout", "refused", "unreachable"))


def publish(settings: Settings, gen_dir: Path, generation: Generation) -> None:
    """Put a built generation's files on the Chroma server, then make it the live one there."""
    with opened(settings) as c:
        name = f"files-{generation.name}"
        with contextlib.suppress(Exception):
            c.delete_collection(name)
        files = c.create_collection(name, embedding_function=None)
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
        step = PIECES_PER_REQUEST
        for i in range(0, len(ids), step):
            files.add(
                ids=ids[i : i + step],
                documents=docs[i : i + step],
                metadatas=metas[i : i + step],
                embeddings=[[1.0]] * len(ids[i : i + step]),
            )
        live = c.get_or_create_collection(LIVE_COLLECTION, embedding_function=None)
        live.modify(metadata={"state": json.dumps(generation.to_dict())})  # the switch, for every replica


def download(settings: Settings, generation: Generation) -> None:
    """Fetch a published generation into the local cache (atomically: all files or none)."""
    gen_dir = settings.index_dir / generation.name
    if GenerationFiles(gen_dir).complete():
        return
    try:
        with opened(settings) as c:
            files = c.get_collection(f"files-{generation.name}")
            total = files.count()
            pieces: dict[str, dict[int, str]] = {}
            for offset in range(0, total, PIECES_PER_REQUEST):
                got = files.get(limit=PIECES_PER_REQUEST, offset=offset, include=["documents", "metadatas"])
                for doc, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True):
                    pieces.setdefault(str(meta["file"]), {})[int(meta["part"])] = doc
    except AssistantError:
        raise
    except Exception as exc:
        raise AssistantError(
            f"cannot read index {generation.name} from the Chroma server ({type(exc).__name__}); "
            "run 'assistant refresh'"
        ) from None
    tmp = settings.index_dir / f".{generation.name}.{os.getpid()}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    for rel, parts in pieces.items():
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode("".join(parts[i] for i in sorted(parts))))
    if not GenerationFiles(tmp).complete():
        shutil.rmtree(tmp, ignore_errors=True)
        raise AssistantError(f"index {generation.name} on the Chroma server is incomplete; run 'assistant refresh'")
    with contextlib.suppress(OSError):
        os.rename(tmp, gen_dir)  # another process may have finished first; theirs is the same
    shutil.rmtree(tmp, ignore_errors=True)
