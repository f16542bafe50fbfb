"""The quick no-change check of a refresh: the corpus files' sizes and modification times,
with the embedding model and the code that reads documents, recorded at the last complete
refresh (ASSISTANT_HOME/corpus-stat.json). When all match, nothing needs reading."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .config import Settings
from .files import write_json
from .generation import GenerationFiles
from .index import live_generation
from .types import Document

# The modules that turn corpus files into indexed documents: a change to any of them (an
# upgrade) must re-read the corpus even when no file changed.
READING_CODE = ("manifest.py", "sources.py", "readers.py", "cleaning.py", "dating.py", "chunking.py")


def file_stats(folder: Path) -> dict[str, list[int]]:
    """Size and modification time of every file under `folder`, by relative path."""
    files: dict[str, list[int]] = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            with contextlib.suppress(OSError):
                st = path.stat()
                files[path.relative_to(folder).as_posix()] = [st.st_size, st.st_mtime_ns]
    return files


def generation_sizes(settings: Settings, generation: str) -> dict[str, int]:
    """The sizes of the generation's files, its vector store's among them (BM25, chunks,
    sentence vectors, Chroma's files). Sizes only: Chroma rewrites its files in place (same
    sizes, new times) whenever a reader opens the store; the rest are written once."""
    return {name: size for name, (size, _) in file_stats(settings.index_dir / generation).items()}


def corpus_stat(corpus: Path, model: str) -> dict[str, Any]:
    """Size and modification time of every corpus file, the embedding model, and a hash of
    the document-reading code."""
    files = file_stats(corpus)
    code = hashlib.sha256()
    for name in READING_CODE:
        code.update((Path(__file__).parent / name).read_bytes())
    return {"model": model, "reading_code": code.hexdigest()[:16], "files": files}


def record_stat(settings: Settings, stat: dict[str, Any], generation: str, documents: list[Document]) -> None:
    """Remember what a complete refresh saw (not with a Chroma server: another host may refresh)."""
    if settings.chroma_url:
        return
    live = live_generation(settings)
    if live is None or live.name != generation:
        return
    stat = {
        **stat,
        "generation": generation,
        "generation_files": generation_sizes(settings, generation),
        "documents": sorted(d.id for d in documents),
        "url_sources": any(d.url for d in documents),
    }
    write_json(settings.corpus_stat_path, stat)


def unchanged_since_last(settings: Settings, stat: dict[str, Any], fetch: bool) -> tuple[str, list[str]] | None:
    """(live generation, its documents) when nothing changed since the last complete refresh,
    decided from `stat` alone; None when the full check must run: a file, the model or the
    reading code differs, a `url` source is to be fetched, the index is shared through a
    Chroma server, or the live generation's files (its store's among them) differ from the
    last complete refresh (a truncated or deleted file). The vector store is not opened."""
    if settings.chroma_url:
        return None
    try:
        last = json.loads(settings.corpus_stat_path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(last, dict) or (fetch and last.get("url_sources", True)):
        return None
    if any(last.get(k) != stat[k] for k in ("model", "reading_code", "files")):
        return None
    live = live_generation(settings)
    if live is None or live.name != last.get("generation"):
        return None
    if not GenerationFiles(settings.index_dir / live.name).complete():
        return None
    if generation_sizes(settings, live.name) != last.get("generation_files"):
        return None  # truncated or deleted: the full check sees the damage and rebuilds
    return live.name, list(last.get("documents", []))
