"""Questions that name a time: answered as of the end of that period."""

from __future__ import annotations

import pytest

from assistant.timeframe import asked_as_of, asked_time, without_time
from assistant.types import Document, Filters

pytestmark = pytest.mark.fast


@pytest.mark.parametrize(
    ("question", "as_of"),
    [
        ("What could members in Europe do in June 2024?", "2024-06"),
        ("Back in 2024, could I object?", "2024"),
        ("As of March 2025, who can object?", "2025-03"),
        ("what was the rule as of 3 Sept 2024", "2024-09-03"),
        ("Before June 2024, could members object?", "2024-05"),  # the period just before
        ("Before 2025, could members object?", "2024"),
        ("In autumn 2024, could a member in Canada object?", "2024-11"),
        ("Who could object by 2024-11-15?", "2024-11-15"),
        ("In mid-2025, how quickly was content deleted?", "2025-08"),  # a year's middle third
        ("Back in early 2024, could I object?", "2024-04"),
        ("When the policy first changed in June 2024, how long were datasets kept?", "2024-06"),
        ("Under the November 2024 privacy policy, who was opted in?", "2024-11"),
        ("Under Parlay's November 2024 policy, were my prompts used?", "2024-11"),
        ("What did the ICO say in September 2024 about the pause?", "2024-09"),  # when it was said
    ],
)
def test_a_preposition_and_a_date_set_the_time_of_the_question(question, as_of):
    found = asked_as_of(question)
    assert found is not None and found[0] == as_of


@pytest.mark.parametrize(
    "question",
    [
        "When did training start in 2024?",  # the date is what is asked
        "Did training start in June 2024?",  # whether it happened then
        "Does the training data include posts from before 2022?",  # the date qualifies the posts
        "What did the policy say before the 2025 restart?",  # an event, not a date
        "When did the ICO say in September 2024 that it would pause?",  # the date is what is asked
        "In winter 2024, could I object?",  # winter spans two years
        "I was born in 1990, can I object?",  # neither opens nor closes the question
        "Can I object?",
    ],
)
def test_a_date_that_does_not_set_the_time_is_not_read(question):
    assert asked_as_of(question) is None


def test_the_filters_and_the_note_follow_the_documents_dates():
    documents = {
        "old": Document("old", "Old", "text", published="2024-03-14"),
        "new": Document("new", "New", "text", published="2025-06-10"),
    }
    filters, note = asked_time("What could I do in June 2024?", Filters(), documents)
    assert filters.as_of == "2024-06" and note == "As of June 2024:"
    filters, note = asked_time("What could I do in 2020?", Filters(), documents)
    assert filters.as_of is None and note.startswith("No document is dated by 2020;")
    given = Filters(as_of="2025")
    assert asked_time("What could I do in June 2024?", given, documents) == (given, "")  # --as-of wins
    # a time still to come is no as-of date: the answer is what the documents say now
    assert asked_time("Back in 2099, could I object?", Filters(), documents) == (Filters(), "")


def test_the_phrase_that_names_the_time_is_taken_out_of_the_question():
    assert without_time("Back in 2024, could I object?") == "could I object?"
    assert without_time("What could members in Europe do in June 2024?") == "What could members in Europe do?"
    assert (
        without_time("When did training start in 2024?") == "When did training start in 2024?"
    )  # not a time of reference
