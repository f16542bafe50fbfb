"""Reading one document file (Markdown, text, HTML, PDF; .docx, .pptx, .epub through llama-index)
into a cleaned Document."""

from __future__ import annotations

import hashlib
from pathlib import Path

from . import jurisdiction, llama_readers
from .cleaning import clean_text
from .dating import date_in_text
from .manifest import SourceEntry
from .types import AssistantError, Document

# read by the project itself, then by llama-index's file readers (llama_readers.py)
SUPPORTED = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", *llama_readers.FORMATS)


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AssistantError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); convert it to UTF-8"
        ) from None


def read_html(path: Path, raw: str) -> tuple[str, str, str]:
    """Main text (as Markdown, headings kept), title and date of an HTML page."""
    import trafilatura

    text = (
        trafilatura.extract(
            raw,
            output_format="markdown",
            include_comments=False,
            include_tables=True,
            favor_recall=True,
            with_metadata=False,
        )
        or ""
    )
    meta = trafilatura.extract_metadata(raw)
    title = (meta.title if meta and meta.title else "") or ""
    date = (meta.date if meta and meta.date else "") or ""
    return text, title, date


def _read_pdf(path: Path, data: bytes) -> str:
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover - pypdf is a declared dependency
        raise AssistantError(f"{path}: reading PDF needs the 'pypdf' package") from None
    import io

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as exc:  # pypdf raises many types for broken files
        raise AssistantError(f"{path}: unreadable PDF ({exc})") from None


def _guess_title(path: Path, text: str) -> str:
    for line in text.splitlines()[:10]:
        line = line.strip()
        if line.startswith("#"):
            return line.lstrip("#").strip()
    for line in text.splitlines()[:3]:
        line = line.strip()
        if line and len(line) <= 120 and not line.endswith("."):
            return line
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize() or path.name


def _dated(entry: SourceEntry | None, found_date: str, text: str, fetched_since: str = "") -> tuple[str, str]:
    """(published, where it comes from): the manifest, else the page's metadata, else the
    text, else the day a fetched page's current text was first fetched ("fetched")."""
    if entry and entry.published:
        return entry.published, "manifest"
    if found_date:
        return found_date, "page"
    found = date_in_text(text)
    if found:
        return found, "text"
    return (fetched_since, "fetched") if fetched_since else ("", "")


# complexity: one branch per file format and per way a file can be unreadable
def read_document(
    corpus: Path, rel_path: str, entry: SourceEntry | None = None, doc_id: str = "", fetched: tuple[str, str] = ("", "")
) -> Document:
    """Read and clean one file. Raises AssistantError (one line) for unreadable input.
    `fetched`: for a fetched page's snapshot, the date its metadata gave and the day its
    current text was first fetched (Fetcher.dates)."""
    path = corpus / rel_path
    if not path.is_file():
        raise AssistantError(f"{path}: file does not exist" + (f" (source {entry.id!r})" if entry else ""))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise AssistantError(f"{path}: unsupported file type {suffix!r} (use {', '.join(SUPPORTED)})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AssistantError(f"{path}: cannot read ({exc.strerror})") from None
    found_title, found_date = "", fetched[0]
    if suffix == ".pdf":
        raw = _read_pdf(path, data)
    elif suffix in llama_readers.FORMATS:
        raw = llama_readers.read_text(path)
    else:
        raw = _decode(path, data)
        if suffix in (".html", ".htm"):
            raw, found_title, found_date = read_html(path, raw)
    title = entry.title if entry else (found_title or _guess_title(path, raw))
    text = clean_text(raw, title)
    if not text:
        raise AssistantError(f"{path}: no text left after cleaning (empty document)")
    detected = tuple(c for c in jurisdiction.detect(text))
    published, dated = _dated(entry, found_date, text, fetched[1])
    return Document(
        id=entry.id if entry else doc_id,
        title=title,
        text=text,
        publisher=entry.publisher if entry else "",
        url=entry.url if entry else "",
        published=published,
        dated=dated,
        kind=entry.kind if entry else ("help-page" if suffix in (".html", ".htm") else "other"),
        jurisdictions=entry.jurisdictions if entry and entry.jurisdictions else detected,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        path=rel_path,
    )
