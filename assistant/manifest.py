"""The corpus manifest (corpus/sources.toml): reading it with line-numbered errors, adding to it."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import jurisdiction
from .files import write_atomic
from .types import AssistantError

MANIFEST = "sources.toml"
Kind = Literal["news", "help-page", "policy", "regulator", "advocacy", "other"]
KINDS: tuple[str, ...] = get_args(Kind)


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
    raw, data = _read_toml(path)
    items = data.get("source", [])
    lines = [i + 1 for i, text in enumerate(raw.splitlines()) if text.strip().startswith("[[source]]")]
    entries: list[SourceEntry] = []
    first_line: dict[str, int] = {}
    for n, item in enumerate(items):
        line = lines[n] if n < len(lines) else None
        label = str(item.get("id", f"#{n + 1}")) if isinstance(item, dict) else f"#{n + 1}"
        entry = _entry(path, item, label, line, first_line)
        if isinstance(entry, SourceEntry):
            first_line[entry.id] = line or 0
            entries.append(entry)
        elif problems is None:
            raise entry
        else:
            problems[label if label not in problems else f"{label}@{line}"] = str(entry)
    return entries


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The manifest's text and table; any syntax or shape error names file and line."""
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
    if not isinstance(data.get("source", []), list):
        raise _problem(path, None, "'source' must be an array of tables: write [[source]]")
    return raw, data


def _entry(
    path: Path, item: object, label: str, line: int | None, first_line: dict[str, int]
) -> SourceEntry | AssistantError:
    """One [[source]] table validated, or the one-line problem with it."""
    try:
        entry = SourceEntry.model_validate(item)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "entry"
        return _problem(path, line, f"source {label!r}: {field}: {err['msg']}")
    except ValueError as exc:  # from jurisdiction.parse_code
        return _problem(path, line, f"source {label!r}: {exc}")
    if entry.id in first_line:
        return _problem(path, line, f"duplicate id {entry.id!r} (first at line {first_line[entry.id]})")
    return entry


def slug(rel: str) -> str:
    """A document id from a file name or URL path: lower case, [a-z0-9-]."""
    stem = rel.rsplit(".", 1)[0]
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:100] or "document"


def docs_dir(corpus: Path) -> Path:
    """Where loose files live: corpus/docs/ when it exists, else the corpus folder itself."""
    return corpus / "docs" if (corpus / "docs").is_dir() else corpus


def _toml_str(value: str) -> str:
    """A TOML basic string: JSON's escapes without \\u surrogate pairs (TOML has none), DEL escaped."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


# complexity: checks each field of the new entry in order, one message each
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
    from urllib.parse import urlparse

    is_url = urlparse(target).scheme in ("http", "https")
    if not is_url and not Path(target).is_file():
        raise AssistantError(f"{target}: not a URL (http/https) and not an existing file")
    stem = (
        urlparse(target).path.rstrip("/").rsplit("/", 1)[-1] or urlparse(target).netloc if is_url else Path(target).stem
    )
    doc_id = id or slug(stem)
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
    try:
        tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise AssistantError(f"{manifest}: the new entry would not parse ({exc})") from None
    write_atomic(manifest, new)
    return entry
