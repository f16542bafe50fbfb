"""Fetching `url` sources into their local snapshots, politely and within limits."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .cleaning import clean_text
from .files import write_atomic
from .manifest import SourceEntry
from .readers import read_html
from .types import AssistantError

if TYPE_CHECKING:
    import httpx

USER_AGENT = "policy-assistant/0.1 (corpus refresh; +https://example.invalid/policy-assistant)"
MAX_BYTES = 5_000_000
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


class Fetcher:
    """Fetches `url` sources into their local snapshots, politely and within limits.

    Remembers ETag / Last-Modified per source in ASSISTANT_HOME/fetch.json so an
    unchanged page costs a 304, and records when each source was last fetched, the date
    the page's metadata gives (trafilatura), and since when its text is what it is now
    (a page with no date of its own is dated by that, marked "fetched": sources.py).
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

    def dates(self, source_id: str) -> tuple[str, str]:
        """(the page's own date from its metadata, the day its current text was first fetched)."""
        known = self.state.get(source_id, {})
        return known.get("page_date", ""), known.get("content_since", "")[:10]

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
                    return self._remember(entry, known, known.get("etag", ""), known.get("last_modified", ""))
                if response.status_code >= 400:
                    raise AssistantError(f"{entry.url}: HTTP {response.status_code}")
                kind, body = self._body(entry.url, response)
                etag = response.headers.get("etag", "")
                modified = response.headers.get("last-modified", "")
                encoding = response.encoding or "utf-8"
        except httpx.TooManyRedirects:
            raise AssistantError(f"{entry.url}: too many redirects (a redirect loop?)") from None
        except httpx.TimeoutException:
            raise AssistantError(f"{entry.url}: timed out after {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise AssistantError(f"{entry.url}: unreachable ({type(exc).__name__})") from None
        text, page_date = self._text(entry, snapshot, kind, body, encoding)
        same = snapshot.exists() and snapshot.read_text("utf-8", errors="replace") == text
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(snapshot, text)  # a person sees the change with `git diff corpus/`
        return self._remember(entry, known if same else {}, etag, modified, page_date)

    @staticmethod
    def _text(entry: SourceEntry, snapshot: Path, kind: str, body: bytes, encoding: str) -> tuple[str, str]:
        """The page's main text as the snapshot holds it, and the date its metadata gives."""
        if b"\x00" in body[:4096]:
            raise AssistantError(f"{entry.url}: binary content, not a web page")
        raw = body.decode(encoding, errors="replace")
        text, _, page_date = (raw, "", "") if kind == "text/plain" else read_html(snapshot, raw)
        text = clean_text(text, entry.title)
        if not text.strip():
            raise AssistantError(f"{entry.url}: no main text found on the page")
        return text + "\n", page_date

    def _body(self, url: str, response: httpx.Response) -> tuple[str, bytes]:
        """The response's content type and bytes: a web page or plain text, within the size limit."""
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and kind not in TEXT_TYPES:
            raise AssistantError(f"{url}: not a web page (content type {kind})")
        length = int(response.headers.get("content-length") or 0)
        if length > self.max_bytes:
            raise AssistantError(f"{url}: page is {length:,} bytes; the limit is {self.max_bytes:,}")
        body = bytearray()
        for part in response.iter_bytes():
            body.extend(part)
            if len(body) > self.max_bytes:
                raise AssistantError(f"{url}: page is larger than the limit of {self.max_bytes:,} bytes")
        return kind, bytes(body)

    def _remember(
        self, entry: SourceEntry, unchanged: dict[str, str], etag: str, modified: str, page_date: str | None = None
    ) -> str:
        """Record a fetch. `unchanged`: the previous record when the text is the same (its
        "content_since" and, for a 304, its page date carry over), else {}."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.state[entry.id] = {
            "url": entry.url,
            "etag": etag,
            "last_modified": modified,
            "fetched_at": now,
            "page_date": unchanged.get("page_date", "") if page_date is None else page_date,
            "content_since": unchanged.get("content_since") or now,
        }
        return now

    def save(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.state_path, json.dumps(self.state, indent=1))
