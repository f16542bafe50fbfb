"""The scoring rules, on hand-made answers: every kind of failure must count."""

from __future__ import annotations

import pytest

from assistant.eval_score import answer_correct, holds, score, summarize
from assistant.eval_set import EvalQuestion
from assistant.types import Answer, Citation, Conflict

US_NO = "At the moment, no."
EU_FORM = "European users can go to the Settings page and use the Right to object form."
TEASER = "Here's what you need to know about Meta and your posts."


def answer(*quotes: str, abstained: bool = False, text: str | None = None, **kw) -> Answer:
    cites = tuple(Citation(n, "doc", f"doc#{n}", q, 0, len(q)) for n, q in enumerate(quotes, start=1))
    body = text if text is not None else " ".join(f"{q} [{n}]" for n, q in enumerate(quotes, start=1))
    return Answer("q", "The documents don't say." if abstained else body, cites, (), abstained, **kw)


def question(**fields) -> EvalQuestion:
    return EvalQuestion.model_validate({"id": "x", "question": "q", **fields})


def run(q: EvalQuestion, a: Answer) -> dict:
    s = score(q, a, [], [])
    return summarize([{"answerable": q.answerable, "abstained": a.abstained, "latency_ms": 1.0, "scores": s}])


def test_a_right_first_citation_is_correct():
    q = question(answerable=True, evidence=["At the moment, no"])
    assert answer_correct(q, answer(US_NO)) is True


def test_a_wrong_first_citation_is_wrong_even_when_a_later_one_is_right():
    q = question(answerable=True, evidence=["At the moment, no"])
    a = answer(TEASER, US_NO)
    assert answer_correct(q, a) is False
    summary = run(q, a)
    assert summary["answer_correct"] == 0.0
    assert summary["citation_precision"] == 0.5  # per citation: one of two


def test_a_false_abstention_is_wrong_and_lowers_abstention_precision():
    q = question(answerable=True, evidence=["At the moment, no"])
    summary = run(q, answer(abstained=True))
    assert summary["answer_correct"] == 0.0
    assert summary["abstention_precision"] == 0.0 and summary["false_abstention_rate"] == 1.0
    assert summary["citation_precision"] is None  # no citations at all: nothing to count


def test_every_citation_of_an_answered_unanswerable_question_counts_wrong():
    q = question(answerable=False)
    a = answer(US_NO, EU_FORM)
    summary = run(q, a)
    assert summary["answer_correct"] == 0.0
    assert summary["citation_precision"] == 0.0 and summary["citations"] == 2
    assert summary["abstention_recall"] == 0.0 and summary["answered_unanswerable"] == 1


def test_an_abstention_on_an_unanswerable_question_is_correct():
    assert run(question(answerable=False), answer(abstained=True))["answer_correct"] == 1.0


def test_citation_precision_is_per_citation_across_questions():
    q1 = question(answerable=True, evidence=["Right to object"])
    q2 = question(answerable=True, evidence=["Right to object"])
    rows = [
        {"answerable": True, "abstained": False, "latency_ms": 1.0, "scores": score(q1, answer(EU_FORM), [], [])},
        {
            "answerable": True,
            "abstained": False,
            "latency_ms": 1.0,
            "scores": score(q2, answer(TEASER, US_NO, EU_FORM), [], []),
        },
    ]
    s = summarize(rows)
    assert s["citation_precision"] == pytest.approx(2 / 4)
    assert s["citation_precision_per_question"] == pytest.approx((1 + 1 / 3) / 2)


def test_facts_must_be_whole_words_in_the_answer():
    q = question(answerable=True, evidence=["Right to object"], facts=["no"])
    assert answer_correct(q, answer(EU_FORM, text="It is no surprise: Right to object [1]")) is True
    assert answer_correct(q, answer(EU_FORM, text="Nothing noted here: Right to object [1]")) is False
    # a day may carry its ordinal suffix, but a number is not part of a longer one
    dated = question(answerable=True, evidence=["Right to object"], facts=["June 26"])
    assert answer_correct(dated, answer(EU_FORM, text="From June 26th: Right to object [1]")) is True
    assert answer_correct(dated, answer(EU_FORM, text="From June 260: Right to object [1]")) is False


def test_each_answerable_part_must_be_cited():
    q = question(
        answerable=True,
        evidence=["Right to object", "At the moment, no"],
        parts=[
            {"question": "EU?", "answerable": True, "evidence": ["Right to object"]},
            {"question": "US?", "answerable": True, "evidence": ["At the moment, no"]},
            {"question": "Deadline?", "answerable": False},
        ],
    )
    assert answer_correct(q, answer(EU_FORM)) is False
    assert answer_correct(q, answer(EU_FORM, US_NO)) is True
    assert score(q, answer(EU_FORM), [], [])["parts_cited"] == 0.5


def test_current_evidence_must_come_first_and_stale_quotes_must_be_marked():
    q = question(
        answerable=True,
        evidence=["Deadline removed", "within 30 days"],
        current_evidence=["Deadline removed"],
        stale_evidence=["within 30 days"],
    )
    old, new = "Objections must arrive within 30 days.", "Deadline removed in 2025."
    assert answer_correct(q, answer(old, new)) is False
    assert score(q, answer(new, old), [], [])["stale_unmarked"] == 1.0
    marked = answer(new, old, earlier=(2,))
    assert answer_correct(q, marked) is True and score(q, marked, [], [])["stale_unmarked"] == 0.0


def test_a_conflict_is_shown_only_when_both_sides_are_quoted_under_it():
    q = question(
        answerable=True, evidence=["are excluded", "still used"], conflict_sides=[["are excluded"], ["still used"]]
    )
    a_side, b_side = "Messages are excluded.", "Tests show messages are still used."
    assert score(q, answer(a_side, b_side), [], [])["conflicts_shown"] == 0.0
    shown = answer(a_side, b_side, conflicts=(Conflict(a_side, b_side, (1, 2)),))
    assert score(q, shown, [], [])["conflicts_shown"] == 1.0


def test_holds_compares_normalised_text_and_accepts_part_of_a_long_span():
    assert holds("Meta isn’t bound by GDPR", ["isn't BOUND by"])
    assert not holds("Meta is bound", ["isn't bound"])
    long_span = "first sentence of a span. second sentence of the same span."
    assert holds("second sentence of the same span.", [long_span])
    assert not holds("span.", [long_span])  # too short to count as part of it


def test_hit_at_k_and_mrr_come_from_the_ranked_passages():
    q = question(answerable=True, evidence=["Right to object"])
    s = score(q, answer(EU_FORM), ["unrelated", "the Right to object form", "x"], ["a", "b", "c"])
    assert s["evidence_hit@1"] == 0.0 and s["evidence_hit@3"] == 1.0 and s["rr"] == 0.5
