"""A document's newer versions, and what a quoted sentence became in the newest (versions.py)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.config import Settings
from assistant.evidence import Candidate
from assistant.index import Index, open_index
from assistant.refresh import refresh
from assistant.types import Filters
from assistant.versions import counterpart, newest_version
from tests.fakes import HashingEncoder

pytestmark = pytest.mark.fast

DOCS = {
    "acme-policy-2024": (
        "Acme Corp",
        "policy",
        "2024-01-10",
        "We use your public posts to train our models. Members in the EU can object to this training using a form on our website.",
    ),
    "acme-policy-2025": (
        "Acme Corp",
        "policy",
        "2025-03-01",
        "We use your public posts to train our models. Members in every country can object to this training using a form on our website.",
    ),
    "acme-help-2025": (
        "Acme Corp",
        "help-page",
        "2025-05-01",
        "Members can object to this training using a form on our website.",
    ),
    "ledger-2025": (
        "TechLedger",
        "news",
        "2025-04-01",
        "Acme says that members in every country can now object to this training.",
    ),
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    base = tmp_path_factory.mktemp("versions")
    corpus = base / "corpus"
    (corpus / "docs").mkdir(parents=True)
    entries = []
    for doc_id, (publisher, kind, date, text) in DOCS.items():
        (corpus / "docs" / f"{doc_id}.md").write_text(f"# {doc_id}\n\n{text}\n", "utf-8")
        entries.append(
            f'[[source]]\nid = "{doc_id}"\ntitle = "{doc_id}"\npublisher = "{publisher}"\n'
            f'path = "docs/{doc_id}.md"\npublished = {date}\nkind = "{kind}"\n'
        )
    (corpus / "sources.toml").write_text("\n".join(entries), "utf-8")
    settings = Settings(home=base / "home", corpus=corpus)
    encoder = HashingEncoder()
    refresh(settings, embedder=encoder, fetch=False)
    return open_index(settings, encoder)


def sentence(index: Index, doc_id: str, text: str) -> Candidate:
    for i in index.chunks.rows_of(doc_id):
        chunk = index.chunks[i]
        vectors = index.sentences_of(chunk).astype(np.float32)
        for j, s in enumerate(chunk.sentences):
            if index.documents[doc_id].text[s.start : s.end] == text:
                return Candidate(chunk, s.start, s.end, vectors[j], 0.9, 0.9, j)
    raise AssertionError(f"{text!r} is not a sentence of {doc_id}")


def quoted(index: Index, cand: Candidate | None) -> tuple[str, str] | None:
    return None if cand is None else (cand.chunk.doc_id, index.documents[cand.chunk.doc_id].text[cand.start : cand.end])


def test_the_newest_version_is_the_latest_document_of_the_same_publisher_and_kind(index):
    docs = index.documents
    assert newest_version(docs["acme-policy-2024"], docs, Filters()).id == "acme-policy-2025"
    assert newest_version(docs["acme-policy-2025"], docs, Filters()) is None  # the help page is another kind
    assert newest_version(docs["ledger-2025"], docs, Filters()) is None  # no other document of its publisher
    early = Filters(sources=("acme-policy-2024", "ledger-2025"))  # as of a date before the revision
    assert newest_version(docs["acme-policy-2024"], docs, early) is None


def test_a_changed_statement_is_found_in_the_newest_version_by_its_point(index):
    old = sentence(
        index, "acme-policy-2024", "Members in the EU can object to this training using a form on our website."
    )
    question = index.embedder.encode(["Who can object to the training?"])[0]
    assert quoted(index, counterpart(old, index, Filters(), question)) == (
        "acme-policy-2025",
        "Members in every country can object to this training using a form on our website.",
    )


def test_an_unchanged_statement_is_quoted_from_the_version_in_force(index):
    old = sentence(index, "acme-policy-2024", "We use your public posts to train our models.")
    question = index.embedder.encode(["Are my public posts used for training?"])[0]
    found = counterpart(old, index, Filters(), question)
    assert quoted(index, found) == ("acme-policy-2025", "We use your public posts to train our models.")
    assert found is not None and float(found.vector @ old.vector) > 0.99
    assert counterpart(old, index, Filters(sources=("acme-policy-2024",)), question) is None


def test_in_force_replaces_an_unchanged_statement_and_adds_a_changed_one(index):
    from assistant.versions import in_force

    question = index.embedder.encode(["Can members object to the training?"])[0]
    same = sentence(index, "acme-policy-2024", "We use your public posts to train our models.")
    quote, newer = in_force(same, None, index, Filters(), question)
    assert quoted(index, quote)[0] == "acme-policy-2025" and newer is None
    changed = sentence(
        index, "acme-policy-2024", "Members in the EU can object to this training using a form on our website."
    )
    quote, newer = in_force(changed, None, index, Filters(), question)
    assert quote is changed and quoted(index, newer)[0] == "acme-policy-2025"
    other = sentence(index, "ledger-2025", "Acme says that members in every country can now object to this training.")
    assert in_force(changed, other, index, Filters(), question) == (changed, other)  # a newer statement found already
