"""Where a newer statement on the best sentence's point may stand: the passages of documents
dated after it, searched with that sentence itself (the question's own words may not find a
pause lifted or a fine imposed), and the latest version of its policy or help page, searched
with the question and with the sentence (where the publisher's current wording stands).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from .attribution import later, latest_version, stated
from .evidence import Candidate
from .types import Document, Filters, Passage

if TYPE_CHECKING:
    from .retrieve import QueryEncoder, Retriever

# Passages of later documents searched with the best sentence itself. Chosen on the evolving
# fit sets over 0, 2, 4 and 8: at 8 (as many as a question's own search) answer_correct
# evolving 0.568 -> 0.595, evolving2 0.450 -> 0.500, current_first 0.533 -> 0.567 and
# 0.643 -> 0.786; the seed-corpus fit sets unchanged; evolving2's median answer 28 -> 46 ms.
LATER_PASSAGES = 8
# Passages of the latest version of the best sentence's policy or help page, per search.
VERSION_PASSAGES = 4
REMEMBERED = 256  # filters and versions kept per answerer: the same few dates recur
K = TypeVar("K")
V = TypeVar("V")


class LaterDocuments:
    """The later documents' passages for one index (`documents`), with what is worked out
    per date remembered: in a large corpus thousands of documents are compared once."""

    def __init__(self, documents: dict[str, Document], encode: QueryEncoder | None = None) -> None:
        self.documents = documents
        self.encode = encode  # given: the best sentence's vector is taken from the index, not encoded
        self._within: dict[tuple[str, Filters], Filters] = {}  # filters of the documents after a date
        self._versions: dict[tuple[str, str, Filters], tuple[str, ...]] = {}  # latest version by document and date

    def passages(
        self, retriever: Retriever, query: str, best: Candidate, have: set[str], filters: Filters, asker: str | None
    ) -> list[Passage]:
        """The passages (not among the chunk ids `have`) where a statement later than `best`
        on its point may stand; [] when no document allowed by `filters` is later."""
        key = (stated(best, self.documents), filters)
        within = self._later_than(key)
        if not within.sources:
            return []
        text = self.documents[best.chunk.doc_id].text[best.start : best.end]
        if self.encode is not None:
            self.encode.remember(text, best.vector)
        found = retriever.retrieve(text, LATER_PASSAGES, within, asker=asker)
        version = self._latest_version(best.chunk.doc_id, key, within)  # () when there is none
        for search in (query, text) if version else ():
            found += retriever.retrieve(search, VERSION_PASSAGES, replace(within, sources=version), asker=asker)
        return list({p.chunk.id: p for p in found if p.chunk.id not in have}.values())

    def _later_than(self, key: tuple[str, Filters]) -> Filters:
        """key's filters narrowed to the documents dated after key's date."""
        within = self._within.get(key)
        if within is None:
            when, filters = key
            newer = tuple(
                d.id for d in self.documents.values() if filters.allows_document(d) and later(d.published, when)
            )
            within = replace(filters, sources=newer)
            self._within = _with(self._within, key, within)
        return within

    def _latest_version(self, doc_id: str, key: tuple[str, Filters], within: Filters) -> tuple[str, ...]:
        """attribution.latest_version of `doc_id` among `within`'s documents (it reads each)."""
        remembered = (doc_id, *key)
        found = self._versions.get(remembered)
        if found is None:
            found = latest_version(self.documents[doc_id], within.sources, self.documents)
            self._versions = _with(self._versions, remembered, found)
        return found


def _with(table: dict[K, V], key: K, value: V) -> dict[K, V]:
    """A new table: `table`'s last REMEMBERED - 1 entries and `value`. The answering threads
    share it, so it is replaced whole, never changed in place."""
    return {**dict(list(table.items())[1 - REMEMBERED :]), key: value}
