"""Invariants checked on generated input (hypothesis): citations, filters, the manifest."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant import jurisdiction as jur
from assistant.manifest import add_source, load_manifest
from assistant.retrieve import make_retriever
from assistant.types import AssistantError, Filters

_WORDS = st.sampled_from(
    "can I opt out Meta US EU UK Canada my posts photos private messages object form proof when did "
    "announce chatbot family friends reject reason email Germany Brazil what how why".split()
)
_QUESTIONS = st.one_of(
    st.lists(_WORDS, min_size=1, max_size=14).map(lambda ws: " ".join(ws) + "?"),
    st.text(min_size=0, max_size=300),  # any unicode: emoji, mixed scripts, control characters
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=_QUESTIONS)
def test_every_answer_quotes_the_documents_exactly(answerer, question):
    try:
        answer = answerer.answer(question)
    except AssistantError as exc:  # empty, too long: a one-line message, nothing else
        assert "\n" not in str(exc) and str(exc)
        return
    docs = answerer.index.documents
    assert answer.text
    for n, c in enumerate(answer.citations, start=1):
        assert c.n == n and f"[{n}]" in answer.text
        assert docs[c.doc_id].text[c.start : c.end] == c.quote
    if answer.abstained:
        assert not answer.citations


_SOURCES = ("cnet-2024-06-opt-out", "ttcsirt-2024-meta-public-posts")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    question=st.lists(_WORDS, min_size=1, max_size=10).map(" ".join),
    sources=st.lists(st.sampled_from(_SOURCES), max_size=2, unique=True),
    place=st.one_of(st.none(), st.sampled_from(["US", "EU", "UK", "CA", "IN", "TT", "OTHER"])),
    kind=st.sampled_from(["hybrid", "dense", "bm25"]),
)
def test_retrieval_never_leaves_the_filter(answerer, question, sources, place, kind):
    index = answerer.index
    filters = Filters(tuple(sources), place)
    retriever = make_retriever(index, kind, answerer.encode)
    for p in retriever.retrieve(question, 10, filters):
        assert filters.allows(p.chunk, index.documents[p.chunk.doc_id])
    answer = answerer.answer(question, filters)
    for c in answer.citations:
        chunk = index.chunks[index.position[c.chunk_id]]
        assert filters.allows(chunk, index.documents[c.doc_id])


_FIELD = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(
    lambda s: s.strip() != ""
)


@settings(max_examples=40, deadline=None)
@given(
    title=_FIELD,
    publisher=st.one_of(st.just(""), _FIELD),
    published=st.sampled_from(["", "2024", "2024-06-03"]),
    kind=st.sampled_from(["news", "help-page", "policy", "regulator", "advocacy", "other"]),
    places=st.lists(st.sampled_from(["US", "EU", "UK", "CA", "Germany", "OTHER"]), max_size=3),
)
def test_the_manifest_round_trips(title, publisher, published, kind, places):
    corpus = Path(tempfile.mkdtemp())
    try:
        (corpus / "docs").mkdir()
        (corpus / "docs" / "note.txt").write_text("A note.\n", "utf-8")
        entry = add_source(
            corpus,
            str(corpus / "docs" / "note.txt"),
            id="note",
            title=title,
            publisher=publisher,
            published=published,
            kind=kind,
            jurisdictions=places,
        )
        (loaded,) = load_manifest(corpus)
        assert loaded == entry
        assert loaded.title == title and loaded.publisher == publisher
        assert loaded.jurisdictions == tuple(jur.parse_code(p) for p in places)
    finally:
        shutil.rmtree(corpus)


@pytest.mark.parametrize("title", ["emoji 😀 title", 'quote " and \\ backslash', "line\nbreak", "tab\there"])
def test_awkward_titles_round_trip(tmp_path, title):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "note.txt").write_text("A note.\n", "utf-8")
    entry = add_source(tmp_path, str(tmp_path / "docs" / "note.txt"), id="note", title=title)
    assert load_manifest(tmp_path) == [entry]
