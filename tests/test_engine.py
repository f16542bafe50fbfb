"""The whole engine over a synthetic corpus with a hashing encoder: fast specifications.

No model is loaded (tests/fakes.py), so these run in seconds (`pytest -m fast`). The
corpus under tests/fixtures/policies is fictional; the questions below are written
for it and appear in no eval set.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant import jurisdiction as jur
from assistant.answer import ExtractiveAnswerer, open_answerer
from assistant.config import RETRIEVERS, Settings
from assistant.generation import Generation
from assistant.index import open_index
from assistant.question import answer_type
from assistant.refresh import refresh
from assistant.retrieve import Retriever, make_retriever
from assistant.types import AssistantError, Filters
from tests.fakes import HashingEncoder

pytestmark = pytest.mark.fast

FIXTURE = Path(__file__).parent / "fixtures" / "policies"


def settings_for(tmp: Path) -> Settings:
    shutil.copytree(FIXTURE, tmp / "corpus")
    return Settings(home=tmp / "home", corpus=tmp / "corpus")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, HashingEncoder]:
    encoder = HashingEncoder()
    settings = settings_for(tmp_path_factory.mktemp("engine"))
    refresh(settings, embedder=encoder, fetch=False)
    return settings, encoder


@pytest.fixture(scope="module")
def answerer(built: tuple[Settings, HashingEncoder]) -> ExtractiveAnswerer:
    settings, encoder = built
    # The calibrated threshold is for MiniLM cosines; hashed bags of words score lower.
    answerer = open_answerer(settings, embedder=encoder)
    answerer.threshold = 0.15
    return answerer


@pytest.fixture(scope="module")
def real_model_answerer(tmp_path_factory: pytest.TempPathFactory, embedder) -> ExtractiveAnswerer:
    """The fixture corpus under the real model: the fitted scorer weighs the asker's place
    against similarities as MiniLM gives them (a hashed bag of words makes a sentence that
    shares more words look far closer than any real model does)."""
    settings = settings_for(tmp_path_factory.mktemp("engine-real"))
    refresh(settings, embedder=embedder, fetch=False)
    return open_answerer(settings, embedder=embedder)


def test_every_citation_is_an_exact_slice_of_its_document(answerer):
    for question in ("How long are payment records kept?", "How do I delete my Quillnote account?"):
        answer = answerer.answer(question)
        assert not answer.abstained and answer.citations, question
        for c in answer.citations:
            doc = answerer.index.documents[c.doc_id]
            assert doc.text[c.start : c.end] == c.quote
            assert f"[{c.n}]" in answer.text


def test_the_sentence_that_shares_the_question_s_words_is_cited_first(answerer):
    answer = answerer.answer("How long are support chats kept before they are deleted?")
    assert "Support chats are deleted after 90 days." in answer.citations[0].quote


@pytest.mark.parametrize(
    "question, place, wanted, unwanted",
    [
        ("Can I switch off marketing profiles in the US?", "US", "United States", "European Union"),
        ("Can I switch off marketing profiles in the EU?", "EU", "European Union", "United States"),
        # places no table in the code names: the gazetteers place them
        ("I live in Tulsa. Can I switch off marketing profiles?", "US", "United States", "European Union"),
        ("Can I switch off marketing profiles from Bratislava?", "EU", "European Union", "United States"),
    ],
)
def test_the_asker_s_place_decides_between_sentences_that_share_words(
    real_model_answerer, question, place, wanted, unwanted
):
    answer = real_model_answerer.answer(question)
    assert answer.jurisdiction == place and not answer.abstained
    quotes = " ".join(c.quote for c in answer.citations)
    assert wanted in answer.citations[0].quote
    assert unwanted not in quotes


def test_a_typo_is_read_as_the_documents_word(answerer):
    right = answerer.answer("How long are support chats kept before they are deleted?")
    typo = answerer.answer("how long are suport chats kept befor they are deleted")
    assert not typo.abstained
    assert typo.citations[0].quote == right.citations[0].quote


def test_each_part_of_a_multi_part_question_is_cited(answerer):
    parts = ("How long are support chats kept?", "can I switch off marketing profiles in the US?")
    single = [answerer.answer(p).citations[0].quote for p in parts]
    both = answerer.answer(f"{parts[0][:-1]}, and {parts[1]}")
    quotes = [c.quote for c in both.citations]
    assert all(q in quotes for q in single), (single, quotes)


def test_source_filter_is_obeyed_by_a_real_answer(answerer):
    answer = answerer.answer("Is my data used to train models?", Filters(sources=("quillnote-data-policy",)))
    assert not answer.abstained
    assert {c.doc_id for c in answer.citations} == {"quillnote-data-policy"}


def test_an_as_of_date_answers_from_the_documents_dated_up_to_then(answerer):
    answer = answerer.answer("Is my data used to train models?", Filters(as_of="2024-12"))
    assert not answer.abstained
    assert {c.doc_id for c in answer.citations} == {"quillnote-data-policy"}  # the only one dated by then
    with pytest.raises(AssistantError, match="no document is dated on or before 2023"):
        answerer.answer("Is my data used to train models?", Filters(as_of="2023"))


def test_a_question_that_names_a_time_is_answered_as_of_then(answerer):
    answer = answerer.answer("Back in 2024, was my data used to train models?")
    assert not answer.abstained and answer.text.startswith("As of 2024:")
    assert not answer.unanswered  # "Back in 2024" is the question's time, not a part of it
    assert {c.doc_id for c in answer.citations} == {"quillnote-data-policy"}  # the only one dated by then
    # No document is dated by 2023: an answer from all of them, with a note, not an error.
    early = answerer.answer("Back in 2023, was my data used to train models?")
    assert not early.abstained and early.text.startswith("No document is dated by 2023;")
    plain = answerer.answer("Was my data used to train models?")
    assert [c.quote for c in early.citations] == [c.quote for c in plain.citations]


def test_unknown_source_is_a_clear_error(answerer):
    with pytest.raises(AssistantError, match="unknown source 'nope'"):
        answerer.answer("Is my data sold?", Filters(sources=("nope",)))


def test_a_name_no_document_mentions_is_an_abstention_that_says_so(answerer):
    answer = answerer.answer("Does Zorblax keep my payment records?")
    assert answer.abstained and not answer.citations
    assert "Zorblax" in answer.text


def test_a_question_in_words_the_corpus_lacks_abstains(answerer):
    answer = answerer.answer("What is the boiling point of mercury?")
    assert answer.abstained and not answer.citations


@pytest.mark.parametrize("kind", RETRIEVERS)
def test_retriever_contract(answerer, kind):
    retriever: Retriever = make_retriever(answerer.index, kind, answerer.encode)
    index = answerer.index
    target = "We share crash reports with our hosting provider, Cirrus Cloud."
    passages = retriever.retrieve(target, 3)
    assert 1 <= len(passages) <= 3
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert target in passages[0].chunk.text
    only = Filters(sources=("lumenpay-privacy",))
    assert {p.chunk.doc_id for p in retriever.retrieve(target, 5, only)} <= {"lumenpay-privacy"}
    uk = Filters(jurisdiction="UK")
    for p in retriever.retrieve("marketing profiles consent", 10, uk):
        assert uk.allows(p.chunk, index.documents[p.chunk.doc_id])


def test_sentence_vectors_line_up_with_the_sentences(built):
    settings, encoder = built
    index = open_index(settings, encoder)
    try:
        for chunk in index.chunks:
            doc = index.documents[chunk.doc_id]
            expected = encoder.encode([doc.text[s.start : s.end] for s in chunk.sentences])
            assert np.allclose(index.sentences_of(chunk).astype(np.float32), expected, atol=1e-2)
    finally:
        index.close()


def test_generation_state_round_trips(built):
    settings, encoder = built
    index = open_index(settings, encoder)
    try:
        generation = index.generation
        assert Generation.from_dict(generation.to_dict()) == generation
        assert generation.chunk_count == len(index.chunks)
        assert Generation.from_dict({**generation.to_dict(), "format": 999}) is None
    finally:
        index.close()


def test_an_index_built_with_another_encoder_is_refused(built):
    settings, _ = built
    with pytest.raises(AssistantError, match="re-embed"):
        open_index(settings, _Renamed())


class _Renamed(HashingEncoder):
    name = "another-encoder"


def test_refresh_reembeds_only_what_changed(tmp_path):
    encoder = HashingEncoder()
    settings = settings_for(tmp_path)
    first = refresh(settings, embedder=encoder, fetch=False)
    assert first.first_build and len(first.added) == 3
    again = refresh(settings, embedder=encoder, fetch=False)
    assert again.nothing_changed and again.embedded_chunks == 0
    path = settings.corpus / "docs" / "quillnote-data-policy.md"
    path.write_text(path.read_text("utf-8").replace("30 days", "14 days"), "utf-8")
    changed = refresh(settings, embedder=encoder, fetch=False)
    assert changed.changed == ["quillnote-data-policy"] and not changed.added and not changed.removed
    assert 0 < changed.embedded_chunks < first.embedded_chunks
    assert changed.reused_chunks > 0
    assert any("14 days" in text for text in changed.passages_added["quillnote-data-policy"])
    answerer = open_answerer(settings, embedder=encoder)
    try:
        answerer.threshold = 0.15
        answer = answerer.answer("How many days until account deletion is complete?")
        assert any("14 days" in c.quote for c in answer.citations)
    finally:
        answerer.index.close()


def test_the_jurisdiction_rule_is_one_rule():
    """Filters.allows, the store's where-clause and the ranking weight all read jurisdiction.relation."""
    doc_places = ("EU", "US", jur.OTHER)
    assert jur.relation(("US",), doc_places, "US") is jur.Relation.MATCH
    assert jur.relation((jur.OTHER,), doc_places, "US") is jur.Relation.MISMATCH  # the document names the US
    assert jur.relation((jur.OTHER,), doc_places, "BR") is jur.Relation.GENERAL_RULE
    assert jur.relation((), doc_places, "BR") is jur.Relation.NEUTRAL
    assert jur.applies((jur.OTHER,), doc_places, "BR") and not jur.applies(("EU",), doc_places, "US")


def test_a_later_document_s_statement_on_the_best_sentence_s_point_is_found_and_quoted_first(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "docs").mkdir(parents=True)
    texts = {
        "wire-2024": ("2024-07-19", "# Tracker pause\n\nThe agency has not fined Acme over the tracker programme yet."),
        "post-2025": (
            "2025-04-09",
            "# Tracker restart\n\nThe agency fined Acme 6 million dollars over the tracker programme.",
        ),
    }
    entries = []
    for doc_id, (published, text) in texts.items():
        (corpus / "docs" / f"{doc_id}.md").write_text(text, "utf-8")
        entries.append(
            f'[[source]]\nid = "{doc_id}"\ntitle = "{doc_id}"\npublisher = "{doc_id}"\n'
            f'path = "docs/{doc_id}.md"\npublished = {published}\nkind = "news"\n'
        )
    (corpus / "sources.toml").write_text("\n".join(entries), "utf-8")
    settings = Settings(home=tmp_path / "home", corpus=corpus)
    encoder = HashingEncoder()
    refresh(settings, embedder=encoder, fetch=False)
    answerer = open_answerer(settings, embedder=encoder)
    question = "Has the agency fined Acme over the tracker programme?"
    # The question's own search reached only the older report.
    old = [p for p in answerer.retriever.retrieve(question, 8) if p.chunk.doc_id == "wire-2024"]
    found = answerer._with_later(question, answerer.candidates(question, old, None), old, Filters(), None)
    assert {c.chunk.doc_id for c in found} == {"wire-2024", "post-2025"}
    newest = answerer._select(found)
    assert newest[0].chunk.doc_id == "post-2025"
    # Nothing later than the best sentence: the candidates are left as they are.
    new = [p for p in answerer.retriever.retrieve(question, 8) if p.chunk.doc_id == "post-2025"]
    cands = answerer.candidates(question, new, None)
    assert answerer._with_later(question, cands, new, Filters(), None) == cands
    # As of a date, a later document is not searched, and no sentence stated after it comes back.
    as_of = Filters(as_of="2024-12")
    before = answerer.candidates(question, old, None)
    assert all(c.chunk.doc_id == "wire-2024" for c in answerer._with_later(question, before, old, as_of, None))


# A question that asks for a figure or a date is answered only by quotes that hold one.
@pytest.mark.parametrize(
    "question",
    [
        "How many UK customers have given consent to marketing profiles?",
        "How many customers has the Harbor Data Commission fined?",
        "How long are support chats kept?",
        "When must apps ask UK customers for consent?",
        "How big is the fine the Commission can give an app?",
    ],
)
def test_a_typed_question_is_answered_by_quotes_of_its_type(answerer, question):
    answer = answerer.answer(question)
    wanted = answer_type(question)
    assert wanted is not None
    if answer.abstained:
        assert "no figure" in answer.text or "no date" in answer.text or answer.text == "The documents don't say."
    else:
        assert any(wanted.search(c.quote) for c in answer.citations), answer.text


def test_a_figure_elsewhere_in_the_passages_does_not_answer_a_how_many_question(answerer):
    answer = answerer.answer("How many UK customers have given consent to marketing profiles?")
    assert answer.abstained and "no figure" in answer.text


def test_a_part_whose_quotes_hold_no_figure_is_said_to_be_unanswered(answerer):
    answer = answerer.answer("How long are support chats kept, and how many UK customers have given consent?")
    assert not answer.abstained and any("90 days" in c.quote for c in answer.citations)
    assert answer.unanswered == ("how many UK customers have given consent?",)
