"""Stage 1: read the corpus manifest and files, clean page furniture, hash -> Document."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import jurisdiction
from .types import AssistantError, Document

MANIFEST = "sources.toml"
SUPPORTED = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
Kind = Literal["news", "help-page", "policy", "regulator", "advocacy", "other"]


class SourceEntry(BaseModel):
    """One `[[source]]` of corpus/sources.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)
    title: str = Field(min_length=1)
    path: str = Field(min_length=1)
    publisher: str = ""
    url: str = ""
    published: str = ""
    kind: Kind = "news"
    jurisdictions: tuple[str, ...] = ()

    @field_validator("published", mode="before")
    @classmethod
    def _date_to_str(cls, value: object) -> object:
        if isinstance(value, (dt.date, int)):
            return str(value)
        return value

    @field_validator("jurisdictions", mode="before")
    @classmethod
    def _codes(cls, value: object) -> object:
        if isinstance(value, list):
            return tuple(jurisdiction.parse_code(str(v)) for v in value)
        return value


def _problem(path: Path, line: int | None, message: str) -> AssistantError:
    where = f"{path}:{line}" if line else str(path)
    return AssistantError(f"{where}: {message}")


def load_manifest(corpus: Path, problems: dict[str, str] | None = None) -> list[SourceEntry]:
    """Parse corpus/sources.toml (absent = no entries).

    A syntax error raises AssistantError naming file and line. A bad entry (invalid
    field, duplicate id) raises too, unless `problems` is given: then it is recorded
    there (key: the entry's id or position) and skipped, and the other entries load.
    """
    path = corpus / MANIFEST
    if not path.exists():
        return []
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _problem(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11 puts the position in the message only: "... (at line 3, column 22)".
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        if m:
            message += f" (column {m.group(2)})"
        raise _problem(path, int(m.group(1)) if m else None, f"TOML syntax error: {message}") from None
    unknown = set(data) - {"source"}
    if unknown:
        raise _problem(path, None, f"unknown table(s) {sorted(unknown)}; expected [[source]] entries")
    items = data.get("source", [])
    if not isinstance(items, list):
        raise _problem(path, None, "'source' must be an array of tables: write [[source]]")
    lines = [i + 1 for i, text in enumerate(raw.splitlines()) if text.strip().startswith("[[source]]")]
    entries: list[SourceEntry] = []
    first_line: dict[str, int] = {}
    for n, item in enumerate(items):
        line = lines[n] if n < len(lines) else None
        label = str(item.get("id", f"#{n + 1}")) if isinstance(item, dict) else f"#{n + 1}"
        try:
            entry = SourceEntry.model_validate(item)
            if entry.id in first_line:
                raise _problem(path, line, f"duplicate id {entry.id!r} (first at line {first_line[entry.id]})")
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "entry"
            error = _problem(path, line, f"source {label!r}: {field}: {err['msg']}")
        except ValueError as exc:  # from jurisdiction.parse_code
            error = _problem(path, line, f"source {label!r}: {exc}")
        except AssistantError as exc:
            error = exc
        else:
            first_line[entry.id] = line or 0
            entries.append(entry)
            continue
        if problems is None:
            raise error
        problems[label if label not in problems else f"{label}@{line}"] = str(error)
    return entries


# ---------------------------------------------------------------- cleaning

_FURNITURE_LINE = re.compile(
    r"^(?:scroll (?:to )?top|back to top|related (?:posts|articles|stories|content)|you may also like"
    r"|share(?: this(?: article| post)?| on \w+)?|advertisement|skip to (?:main )?content|read more"
    r"|subscribe(?: now)?|sign up for (?:our|the) newsletter.*|print|email|tweet|follow us.*"
    r"|all rights reserved.*|©.*|copyright ©.*|we use cookies.*|accept (?:all )?cookies"
    r"|table of contents|menu|search|home)\W*$",
    re.IGNORECASE,
)
_GLUED_TAIL = re.compile(r"(?<=[.!?\u201d\"')])\s*(?:scroll (?:to )?top|back to top|related posts)\s*$", re.IGNORECASE)
_EDITOR_NOTE = re.compile(
    r"^(?:editors?[\u2019']?s?[\u2019']? note|note from the editor|disclosure)\s*:", re.IGNORECASE
)
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str, title: str = "") -> str:
    """Remove page furniture; keep every sentence of the article itself verbatim."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", _ZERO_WIDTH.sub("", text)).replace("\t", " ")
    lines = [_GLUED_TAIL.sub("", line.rstrip()) for line in text.split("\n")]
    lines = [line for line in lines if not _FURNITURE_LINE.match(line.strip())]
    lines = _drop_leading_banner(lines, title)
    # Editor's notes about the publisher's own practices sit at the very start or end.
    content = [i for i, line in enumerate(lines) if line.strip()]
    edges = set(content[:2] + content[-2:])
    lines = [line for i, line in enumerate(lines) if not (i in edges and _EDITOR_NOTE.match(line.strip()))]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return out.strip()


def _drop_leading_banner(lines: list[str], title: str) -> list[str]:
    """A site banner above the article title ("Republic of ...", a site name) is not content."""
    want = _norm_title(title)
    if not want:
        return lines
    for i, line in enumerate(lines[:8]):
        if _norm_title(line) == want:
            head = [x for x in lines[:i] if x.strip()]
            if all(len(x.strip()) < 80 for x in head):
                return lines[i:]
            return lines
    return lines


def _norm_title(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lstrip("# ").casefold()).strip()


# ---------------------------------------------------------------- reading files


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AssistantError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); convert it to UTF-8"
        ) from None


def _read_html(path: Path, raw: str) -> tuple[str, str, str]:
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


def read_document(corpus: Path, rel_path: str, entry: SourceEntry | None = None, doc_id: str = "") -> Document:
    """Read and clean one file. Raises AssistantError (one line) for unreadable input."""
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
    found_title = found_date = ""
    if suffix == ".pdf":
        raw = _read_pdf(path, data)
    else:
        raw = _decode(path, data)
        if suffix in (".html", ".htm"):
            raw, found_title, found_date = _read_html(path, raw)
    title = entry.title if entry else (found_title or _guess_title(path, raw))
    text = clean_text(raw, title)
    if not text:
        raise AssistantError(f"{path}: no text left after cleaning (empty document)")
    detected = tuple(c for c in jurisdiction.detect(text))
    return Document(
        id=entry.id if entry else doc_id,
        title=title,
        text=text,
        publisher=entry.publisher if entry else "",
        url=entry.url if entry else "",
        published=entry.published if entry else found_date,
        kind=entry.kind if entry else ("help-page" if suffix in (".html", ".htm") else "other"),
        jurisdictions=entry.jurisdictions if entry and entry.jurisdictions else detected,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        path=rel_path,
    )


def _slug(rel: str) -> str:
    stem = rel.rsplit(".", 1)[0]
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:100] or "document"


def docs_dir(corpus: Path) -> Path:
    """Where loose files live: corpus/docs/ when it exists, else the corpus folder itself."""
    return corpus / "docs" if (corpus / "docs").is_dir() else corpus


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
        fetched = ""
        if entry.url and fetcher is not None:
            try:
                fetched = fetcher.fetch(entry, corpus)
            except AssistantError as exc:
                failed[entry.id] = f"{exc} (kept the last snapshot)"
                fetched = fetcher.last_fetched(entry.id)
        elif fetcher is not None:
            fetched = fetcher.last_fetched(entry.id)
        try:
            doc = read_document(corpus, entry.path, entry)
            docs.append(replace(doc, fetched=fetched) if fetched else doc)
        except AssistantError as exc:
            failed[entry.id] = str(exc) if entry.id not in failed else f"{failed[entry.id]}; {exc}"
    ids = {e.id for e in entries}
    for rel in _loose_files(corpus, (e.path for e in entries)):
        doc_id = _slug(rel.removeprefix("docs/"))
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


# ---------------------------------------------------------------- fetching

USER_AGENT = "policy-assistant/0.1 (corpus refresh; +https://example.invalid/policy-assistant)"
MAX_BYTES = 5_000_000
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


class Fetcher:
    """Fetches `url` sources into their local snapshots, politely and within limits.

    Remembers ETag / Last-Modified per source in ASSISTANT_HOME/fetch.json so an
    unchanged page costs a 304, and records when each source was last fetched.
    """

    def __init__(self, state_path: Path, timeout: float = 10.0, max_bytes: int = MAX_BYTES) -> None:
        self.state_path = state_path
        self.timeout = timeout
        self.max_bytes = max_bytes
        try:
            self.state: dict[str, dict[str, str]] = json.loads(state_path.read_text("utf-8"))
        except (OSError, ValueError):
            self.state = {}

    def last_fetched(self, source_id: str) -> str:
        return self.state.get(source_id, {}).get("fetched_at", "")

    def fetch(self, entry: SourceEntry, corpus: Path) -> str:
        """Fetch entry.url into corpus/entry.path; returns the fetch time. AssistantError on failure."""
        import httpx

        if Path(entry.path).suffix.lower() not in (".md", ".txt"):
            raise AssistantError(f"source {entry.id!r}: a url source needs a .md or .txt path for its snapshot")
        known = self.state.get(entry.id, {}) if self.state.get(entry.id, {}).get("url") == entry.url else {}
        headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9"}
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("last_modified"):
            headers["If-Modified-Since"] = known["last_modified"]
        snapshot = corpus / entry.path
        try:
            with (
                httpx.Client(timeout=self.timeout, follow_redirects=True, max_redirects=5) as client,
                client.stream("GET", entry.url, headers=headers) as response,
            ):
                if response.status_code == 304 and snapshot.exists():
                    return self._remember(entry, known.get("etag", ""), known.get("last_modified", ""))
                if response.status_code >= 400:
                    raise AssistantError(f"{entry.url}: HTTP {response.status_code}")
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if kind and kind not in TEXT_TYPES:
                    raise AssistantError(f"{entry.url}: not a web page (content type {kind})")
                length = int(response.headers.get("content-length") or 0)
                if length > self.max_bytes:
                    raise AssistantError(f"{entry.url}: page is {length:,} bytes; the limit is {self.max_bytes:,}")
                body = bytearray()
                for part in response.iter_bytes():
                    body.extend(part)
                    if len(body) > self.max_bytes:
                        raise AssistantError(f"{entry.url}: page is larger than the limit of {self.max_bytes:,} bytes")
                etag = response.headers.get("etag", "")
                modified = response.headers.get("last-modified", "")
                encoding = response.encoding or "utf-8"
        except httpx.TooManyRedirects:
            raise AssistantError(f"{entry.url}: too many redirects (a redirect loop?)") from None
        except httpx.TimeoutException:
            raise AssistantError(f"{entry.url}: timed out after {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise AssistantError(f"{entry.url}: unreachable ({type(exc).__name__})") from None
        if b"\x00" in bytes(body[:4096]):
            raise AssistantError(f"{entry.url}: binary content, not a web page")
        raw = bytes(body).decode(encoding, errors="replace")
        text = raw if kind == "text/plain" else _read_html(snapshot, raw)[0]
        text = clean_text(text, entry.title)
        if not text.strip():
            raise AssistantError(f"{entry.url}: no main text found on the page")
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        tmp = snapshot.with_name(snapshot.name + ".tmp")
        tmp.write_text(text + "\n", "utf-8")
        os.replace(tmp, snapshot)  # a person sees the change with `git diff corpus/`
        return self._remember(entry, etag, modified)

    def _remember(self, entry: SourceEntry, etag: str, modified: str) -> str:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.state[entry.id] = {"url": entry.url, "etag": etag, "last_modified": modified, "fetched_at": now}
        return now

    def save(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        tmp.write_text(json.dumps(self.state, indent=1), "utf-8")
        os.replace(tmp, self.state_path)


def _toml_str(value: str) -> str:
    """A TOML basic string: JSON's escapes without \\u surrogate pairs (TOML has none), DEL escaped."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def add_source(
    corpus: Path,
    target: str,
    *,
    id: str | None = None,
    title: str | None = None,
    publisher: str = "",
    published: str = "",
    kind: str = "news",
    jurisdictions: Iterable[str] = (),
) -> SourceEntry:
    """Append a [[source]] for a URL or a local file to corpus/sources.toml.

    A URL gets a snapshot path docs/<id>.md, filled by the next refresh. A file outside
    the corpus is copied into corpus/docs/. The manifest is rewritten atomically and
    only when the new entry validates.
    """
    import shutil
    from urllib.parse import urlparse

    is_url = urlparse(target).scheme in ("http", "https")
    if not is_url and not Path(target).is_file():
        raise AssistantError(f"{target}: not a URL (http/https) and not an existing file")
    stem = (
        urlparse(target).path.rstrip("/").rsplit("/", 1)[-1] or urlparse(target).netloc if is_url else Path(target).stem
    )
    doc_id = id or _slug(stem)
    existing = load_manifest(corpus)
    if any(e.id == doc_id for e in existing):
        raise AssistantError(f"id {doc_id!r} is already in {corpus / MANIFEST}; choose another with --id")
    if is_url:
        rel = f"docs/{doc_id}.md"
        url = target
    else:
        source = Path(target).resolve()
        try:
            rel = str(source.relative_to(corpus.resolve()))
        except ValueError:
            dest = docs_dir(corpus) / source.name
            if dest.exists():
                raise AssistantError(f"{dest}: a file of that name is already in the corpus") from None
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
            rel = str(dest.relative_to(corpus))
        url = ""
    entry = SourceEntry.model_validate(
        {
            "id": doc_id,
            "title": title or (stem.replace("-", " ").replace("_", " ").strip() or doc_id),
            "path": rel,
            "url": url,
            "publisher": publisher,
            "published": published,
            "kind": kind,
            "jurisdictions": list(jurisdictions),
        }
    )
    lines = ["", "[[source]]", f"id = {_toml_str(entry.id)}", f"title = {_toml_str(entry.title)}"]
    for key in ("publisher", "url", "path", "published", "kind"):
        lines.append(f"{key} = {_toml_str(getattr(entry, key))}")
    if entry.jurisdictions:
        lines.append(f"jurisdictions = [{', '.join(_toml_str(j) for j in entry.jurisdictions)}]")
    manifest = corpus / MANIFEST
    old = manifest.read_text("utf-8") if manifest.exists() else ""
    new = old.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
    tmp = manifest.with_name(manifest.name + ".tmp")
    tmp.write_text(new, "utf-8")
    try:
        tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        tmp.unlink()
        raise AssistantError(f"{manifest}: the new entry would not parse ({exc})") from None
    os.replace(tmp, manifest)
    return entry
