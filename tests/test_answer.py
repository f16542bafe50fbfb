from __future__ import annotations

import json

import pytest

from assistant.cli import main
from assistant.coverage import unknown_names
from assistant.evidence import SHORT
from assistant.types import AssistantError, Filters


def ask_json(settings, capsys, *args: str) -> dict:
    code = main(["ask", *args, "--json", "--home", str(settings.home), "--corpus", str(settings.corpus)])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_us_question_answers_no_with_the_right_passage(seed_settings, capsys):
    answer = ask_json(seed_settings, capsys, "Can I opt out from the US?")
    assert not answer["abstained"] and answer["jurisdiction"] == "US"
    quotes = " ".join(c["quote"] for c in answer["citations"])
    assert "isn’t an option for users outside of Europe" in quotes or "don’t currently offer a feature" in quotes
    # a very short reply ("No.") is never a quote alone: the sentence that completes it joins it
    assert all(len(c["quote"]) >= SHORT for c in answer["citations"])
    # the answer is the quotes, each followed by its marker, and each names its source
    for c in answer["citations"]:
        assert f"[{c['n']}]" in answer["text"]
        assert c["title"] and c["publisher"]


def test_eu_question_cites_the_right_to_object_form(seed_settings, capsys):
    answer = ask_json(seed_settings, capsys, "How do I object in the EU?")
    assert not answer["abstained"]
    assert any("Right to object" in c["quote"] for c in answer["citations"])


def test_out_of_corpus_question_abstains_and_shows_related(seed_settings, capsys):
    answer = ask_json(seed_settings, capsys, "What is the capital of France?")
    assert answer["abstained"] and answer["citations"] == []
    assert answer["text"].startswith("The documents don't say.")
    assert answer["passages"]  # related passages, labelled as such by the front ends


def test_unknown_product_abstains_with_its_name(answerer):
    answer = answerer.answer("Does TikTok train on my videos?")
    assert answer.abstained and "TikTok" in answer.text


def test_a_name_in_the_possessive_is_still_a_name(answerer):
    assert unknown_names(answerer.index, answerer.encode, "Does TikTok's policy let me opt out?") == ["TikTok"]
    assert unknown_names(answerer.index, answerer.encode, "Does Meta’s form ask for a reason?") == []


def test_a_month_is_no_unknown_name(answerer):
    assert unknown_names(answerer.index, answerer.encode, "Moving to Amsterdam in September, can I object?") == []
    assert unknown_names(answerer.index, answerer.encode, "Does TikTok do this on Mondays?") == ["TikTok"]


def test_a_name_written_beside_a_place_as_an_address_is_no_unknown_name(answerer):
    def unknown(q):
        return unknown_names(answerer.index, answerer.encode, q)

    assert unknown("Messaging from KL, Malaysia. Can I object?") == []
    assert unknown("Living near Bergamo in Lombardy, can I object?") == []
    # a thing in a place, or a name after a phrase that ends with a place, is still unknown
    assert unknown("Is TikTok in the US the same?") == ["TikTok"]
    assert unknown("In Germany, TikTok asks me too. Can I object?") == ["TikTok"]


def test_a_capitals_abbreviation_of_a_name_the_documents_use_is_no_unknown_name(answerer):
    def unknown(q):
        return unknown_names(answerer.index, answerer.encode, q)

    assert unknown("Can I opt out of Meta training AI on my IG content?") == []  # Instagram
    assert unknown("Does FB read my messages?") == []  # Facebook
    assert unknown("What did the FTC say about it?") == ["FTC"]


def test_every_citation_quote_is_the_document_slice(answerer):
    docs = answerer.index.documents
    for q in (
        "Can I opt out from the US?",
        "How do I object in the EU?",
        "Are my private messages used?",
        "When did Meta announce this?",
        "I live in Canada, what can I do?",
        "Can relatives' posts about me be used?",
    ):
        answer = answerer.answer(q)
        assert 1 <= len(answer.citations) <= 4
        for n, c in enumerate(answer.citations, start=1):
            assert c.n == n and f"[{n}]" in answer.text
            assert docs[c.doc_id].text[c.start : c.end] == c.quote
            assert " ".join(c.quote.split()) in answer.text


def test_jurisdiction_detection_and_preference(answerer):
    germany = answerer.answer("I live in Germany, can I stop Meta using my posts?")
    assert germany.jurisdiction == "EU" and not germany.abstained
    canada = answerer.answer("I'm in Canada, what are my options?")
    assert canada.jurisdiction == "CA"
    assert "Canada" in canada.notice and canada.text.startswith(canada.notice)
    assert any("Other countries" in c.quote or "other regions" in c.quote for c in canada.citations)


@pytest.mark.parametrize(
    "question",
    [
        "What can people outside the EU and UK do about Meta using their data?",
        "I'm not in Europe. Is there anything I can request?",
    ],
)
def test_asking_from_outside_the_named_places_gets_the_general_rule(answerer, question):
    answer = answerer.answer(question)
    assert answer.jurisdiction == "OTHER" and not answer.abstained
    # every citation comes from what the documents say for other countries, none from the
    # EU/UK objection alone
    index = answerer.index
    assert answer.citations
    assert all("OTHER" in index.chunks[index.position[c.chunk_id]].jurisdictions for c in answer.citations)
    assert not any("EU and UK users to object" in c.quote for c in answer.citations)


def test_filters_restrict_the_citations(answerer):
    answer = answerer.answer("Can I opt out?", Filters(sources=("ttcsirt-2024-meta-public-posts",)))
    assert not answer.abstained
    assert {c.doc_id for c in answer.citations} == {"ttcsirt-2024-meta-public-posts"}


@pytest.mark.parametrize(
    "question, message",
    [
        ("", "the question is empty"),
        ("   \n\t ", "the question is empty"),
        ("x" * 100_000, "100,000 characters long; the limit is 2,000"),
    ],
)
def test_bad_questions_get_a_one_line_error(answerer, question, message):
    with pytest.raises(AssistantError, match=message):
        answerer.answer(question)


def test_control_characters_are_ignored(answerer):
    answer = answerer.answer("Can I opt out\x00 from the US?\x07")
    assert not answer.abstained


def test_unknown_source_filter_is_a_clear_error(answerer):
    with pytest.raises(AssistantError, match=r"unknown source 'nope'; the index has: cnet-2024-06-opt-out"):
        answerer.answer("Can I opt out?", Filters(sources=("nope",)))
