"""Dated, attributed answers: who said it and when, and what a newer statement supersedes."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.attribution import compose, later
from assistant.dating import date_in_text, display
from assistant.evidence import Candidate
from assistant.types import Chunk, Document

pytestmark = pytest.mark.fast

TEXTS = {
    "v1": "Members cannot object to training. Training starts on 1 May 2024.",
    "v2": "Members can object to training with a form. Training starts on 1 May 2024.",
    "news": "A critic says the form is hard to find.",
}
DATES = {"v1": "2024-03-14", "v2": "2024-09-02", "news": "2024-09-10"}


def docs() -> dict[str, Document]:
    return {
        k: Document(k, f"Policy {k}", text, publisher="Lumora" if k != "news" else "TechLedger", published=DATES[k])
        for k, text in TEXTS.items()
    }


def cand(doc: str, sentence: str, vector: list[float], places: tuple[str, ...] = ()) -> tuple[Candidate, int]:
    text = TEXTS[doc]
    start = text.index(sentence)
    chunk = Chunk(f"{doc}#0", doc, text, 0, len(text), "", places)
    v = np.array(vector, dtype=np.float32)
    return Candidate(chunk, start, start + len(sentence), v / np.linalg.norm(v), 1.0, 1.0, 0), start + len(sentence)


def test_a_newer_statement_on_the_same_point_comes_first_and_the_older_is_marked_earlier():
    new = cand("v2", "Members can object to training with a form.", [1, 0.1, 0])
    old = cand("v1", "Members cannot object to training.", [1, 0, 0])
    other = cand("news", "A critic says the form is hard to find.", [0, 0, 1])
    composed = compose([old, new, other], docs())
    quotes = [c.quote for c in composed.citations]
    assert quotes == [
        TEXTS["v2"].split(". ")[0] + ".",
        "A critic says the form is hard to find.",
        "Members cannot object to training.",
    ]
    assert composed.earlier == (3,)
    assert composed.text.index("Earlier:") < composed.text.index("Lumora, 14 March 2024: Members cannot")
    assert composed.text.startswith("Lumora, 2 September 2024: Members can object")
    assert "TechLedger, 10 September 2024: A critic" in composed.text


def test_statements_about_different_places_do_not_supersede_each_other():
    new = cand("v2", "Members can object to training with a form.", [1, 0.1, 0], ("EU",))
    old = cand("v1", "Members cannot object to training.", [1, 0, 0], ("US",))
    assert compose([old, new], docs()).earlier == ()


def test_one_source_of_one_date_is_quoted_without_attribution():
    a = cand("v1", "Members cannot object to training.", [1, 0, 0])
    b = cand("v1", "Training starts on 1 May 2024.", [0, 1, 0])
    composed = compose([a, b], docs())
    assert composed.text == "Members cannot object to training. [1] Training starts on 1 May 2024. [2]"


def test_dates_compare_only_at_the_precision_both_have():
    assert later("2024-09-02", "2024-03-14")
    assert not later("2024-06-03", "2024")  # a day in 2024 is not after "2024"
    assert later("2025", "2024-12-31")


def test_a_document_s_own_date_is_read_from_its_opening():
    text = "# Notice to Lumora\n\nReference: CDP/2024/117\n\nIssued on 24 April 2024 by the Commission.\n\nOn 14 March 2024, Lumora published a policy."
    assert date_in_text(text) == "2024-04-24"
    assert date_in_text("A policy with no date in it at all.") == ""
    assert display("2024-06-03") == "3 June 2024" and display("2024") == "2024" and display("2024-06") == "June 2024"


def test_an_as_of_date_keeps_documents_not_later_at_the_precision_both_have():
    from assistant.dating import check_as_of, dated_by

    assert dated_by("2024-06-03", "2024-07-01") and not dated_by("2024-09-02", "2024-07-01")
    assert dated_by("2024", "2024-07-01")  # cannot be ruled out
    assert dated_by("", "2024-07-01")  # undated
    assert check_as_of(" 2024-07 ") == "2024-07"
    with pytest.raises(ValueError, match="not a date"):
        check_as_of("June")
