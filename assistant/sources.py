"""Stage 1: the corpus as Documents: manifest entries (fetched when they have a url), then
loose files. The parts: manifest (sources.toml), fetching, readers, cleaning."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from .fetching import Fetcher
from .manifest import MANIFEST, SourceEntry, docs_dir, load_manifest, slug
from .readers import SUPPORTED, read_document
from .types import AssistantError, Document


def _loose_files(corpus: Path, taken: Iterable[str]) -> list[str]:
    taken_set = {str(Path(t)) for t in taken}
    base = docs_dir(corpus)
    found = []
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(corpus)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() in SUPPORTED and str(rel) not in taken_set:
            found.append(str(rel))
    return found


@dataclass
class LoadedCorpus:
    documents: list[Document]
    failed: dict[str, str]  # document id (or entry label) -> one-line reason


# complexity: manifest entries, then loose files, each with its failure path; the order is the contract
def load_corpus(corpus: Path, fetcher: Fetcher | None = None, strict: bool = True) -> LoadedCorpus:
    """Every document of the corpus: manifest entries first, then loose files.

    Entries with a `url` are fetched first when a fetcher is given; a failed fetch
    leaves the last snapshot in place and is reported. With strict=True any failure
    raises AssistantError (one line per failure); otherwise failures are returned
    beside the documents that did load. A manifest syntax error always raises.
    """
    if not corpus.is_dir():
        raise AssistantError(f"{corpus}: corpus folder does not exist")
    failed: dict[str, str] = {}
    entries = load_manifest(corpus, None if strict else failed)
    docs: list[Document] = []
    for entry in entries:
        fetched = _fetch(entry, corpus, fetcher, failed)
        try:
            dates = fetcher.dates(entry.id) if fetcher is not None and entry.url else ("", "")
            doc = read_document(corpus, entry.path, entry, fetched=dates)
            docs.append(replace(doc, fetched=fetched) if fetched else doc)
        except AssistantError as exc:
            failed[entry.id] = str(exc) if entry.id not in failed else f"{failed[entry.id]}; {exc}"
    ids = {e.id for e in entries}
    for rel in _loose_files(corpus, (e.path for e in entries)):
        doc_id = slug(rel.removeprefix("docs/"))
        while doc_id in ids:
            doc_id += "-file"
        ids.add(doc_id)
        try:
            docs.append(read_document(corpus, rel, None, doc_id))
        except AssistantError as exc:
            failed[doc_id] = str(exc)
    if fetcher is not None:
        fetcher.save()
    if failed and strict:
        raise AssistantError("\n".join(failed.values()))
    if not docs and not failed:
        raise AssistantError(f"{corpus}: no documents found (add files to {docs_dir(corpus)} or entries to {MANIFEST})")
    return LoadedCorpus(docs, failed)


def _fetch(entry: SourceEntry, corpus: Path, fetcher: Fetcher | None, failed: dict[str, str]) -> str:
    """Fetch a URL entry (a failure keeps the last snapshot and is recorded); the fetch date."""
    if fetcher is None:
        return ""
    if not entry.url:
        return fetcher.last_fetched(entry.id)
    try:
        return fetcher.fetch(entry, corpus)
    except AssistantError as exc:
        failed[entry.id] = f"{exc} (kept the last snapshot)"
        return fetcher.last_fetched(entry.id)
