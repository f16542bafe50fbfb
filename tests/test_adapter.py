"""The fitted query adapter (assistant/adapter.py) and the uncovered share it works beside."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.adapter import ADAPTER_FILE, QueryAdapter, for_model
from assistant.answer import ExtractiveAnswerer
from assistant.config import DEFAULT_MODEL
from assistant.coverage import Term, importance, question_terms, share_uncovered
from assistant.scoring import SCORER_FILE, decision
from assistant.types import AssistantError


def _unit(rng: np.random.Generator, dim: int) -> np.ndarray:
    v = rng.normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def test_committed_adapter_is_for_the_packaged_model_and_moves_questions():
    adapter = for_model(DEFAULT_MODEL, 384)
    assert adapter is not None, "assistant/query_adapter.npz is missing; run 'make fit'"
    assert adapter.weights.shape == (384, 384)
    v = _unit(np.random.default_rng(0), 384)
    moved = adapter(v)
    assert moved.dtype == np.float32
    assert abs(float(np.linalg.norm(moved)) - 1.0) < 1e-5
    # It moves a question, but not far: the fit keeps W small.
    assert 0.5 < float(moved @ v) < 0.9999


def test_an_adapter_is_used_only_with_the_model_it_was_fitted_for():
    assert for_model("some-other-model", 384) is None
    assert for_model(DEFAULT_MODEL, 768) is None


def test_the_answerer_searches_with_the_adapted_vector_only_for_its_model(answerer: ExtractiveAnswerer):
    question = "Can people in the US opt out?"
    raw = answerer.encode(question)
    moved = answerer.encode.question(question)
    assert answerer.encode.adapter is not None  # the real packaged model
    assert not np.allclose(raw, moved)
    answerer.encode.adapter = None
    assert np.array_equal(answerer.encode.question(question), raw)
    answerer.encode.adapter = for_model(DEFAULT_MODEL, 384)


def test_save_and_load_round_trip(tmp_path: Path):
    w = np.random.default_rng(1).normal(scale=0.01, size=(8, 8)).astype(np.float32)
    path = tmp_path / "a.npz"
    QueryAdapter(w, "m").save(path)
    back = QueryAdapter.load(path)
    assert back.model == "m"
    assert np.allclose(back.weights, w, atol=1e-3)  # stored as float16
    zero = QueryAdapter(np.zeros((8, 8), dtype=np.float32), "m")
    v = _unit(np.random.default_rng(2), 8)
    assert np.allclose(zero(v), v)


@pytest.mark.parametrize("content", [b"not a numpy file", b"", ADAPTER_FILE.read_bytes()[:2000]])
def test_a_damaged_adapter_file_names_make_fit(tmp_path: Path, content: bytes):
    path = tmp_path / ADAPTER_FILE.name
    path.write_bytes(content)
    with pytest.raises(AssistantError, match="make fit"):
        QueryAdapter.load(path)


def test_uncovered_share_weighs_words_by_how_close_the_corpus_comes():
    near = (0.4, 0.8)
    used, far, close, between = Term(1.0, None, True), Term(1.0, 0.1, True), Term(1.0, 0.9, True), Term(1.0, 0.6, True)
    assert share_uncovered([], near) == (0.0, 0.0)
    assert share_uncovered([used, Term(2.0, None, True)], near) == (0.0, 0.0)  # the corpus uses every word
    assert share_uncovered([used, far], near).english == pytest.approx(0.5)  # nothing near
    assert share_uncovered([close], near).english == 0.0  # a close corpus word ("pictures" ~ "photos")
    assert share_uncovered([between], near).english == pytest.approx(0.5)
    assert share_uncovered([Term(3.0, 0.1, True), used], near).english == pytest.approx(0.75)  # IDF-weighted
    # Slang, abbreviations and names the corpus lacks are counted apart from dictionary words.
    assert share_uncovered([used, Term(1.0, 0.1, False)], near) == pytest.approx((0.0, 0.5))


def test_uncovered_share_weighs_words_by_their_importance_to_the_question():
    near = (0.4, 0.8)
    filler, topic = Term(3.0, 0.1, True, 0.01), Term(3.0, None, True, 0.3)
    # An uncovered word the question barely leans on ("based" in "I'm based in Porto") counts little.
    assert share_uncovered([filler, topic], near).english == pytest.approx(0.01 / 0.31)
    assert share_uncovered([filler._replace(importance=0.3), topic], near).english == pytest.approx(0.5)


def test_importance_is_how_far_a_word_moves_the_question(answerer):
    q = "I'm based in Porto, can Meta use my photos to train its AI?"
    values = dict(
        zip(["based", "photos"], importance(answerer.index, answerer.encode, q, ["based", "photos"]), strict=True)
    )
    assert values["photos"] > values["based"] > 0
    # a word not found as written takes the mean of the others
    assert importance(answerer.index, answerer.encode, q, ["based", "nowhere"])[1] == pytest.approx(values["based"])


def test_a_word_that_stems_to_a_stopword_or_names_the_answer_type_is_no_term(answerer):
    words = [t for t in question_terms(answerer.index, answerer.encode, "What date do the opt-outs start?")]
    assert len(words) == 2  # "opt" and "start": not "outs" (stems to "out") nor "date" (the answer's type)


def test_slang_is_told_from_dictionary_words(answerer):
    terms = question_terms(answerer.index, answerer.encode, "do ppl get paid for pics")
    assert [t.english for t in terms] == [False, True, True]  # "ppl" is no dictionary word; "paid", "pics" are
    assert all(t.nearest is not None for t in terms)  # the seed articles use none of the three


def test_importances_are_skipped_only_when_no_word_counts_as_uncovered(answerer):
    q = "do ppl get paid for pics"
    terms = question_terms(answerer.index, answerer.encode, q)
    nearest = min(t.nearest for t in terms if t.nearest is not None)
    covered = (0.0, nearest)  # every word the corpus lacks has a corpus word at least this near
    skipped = question_terms(answerer.index, answerer.encode, q, covered)
    assert all(t.importance == 1.0 for t in skipped)
    assert share_uncovered(skipped, covered) == share_uncovered(terms, covered) == (0.0, 0.0)
    partly = (0.0, nearest + 1e-3)  # now one word is not fully covered: the importances count
    assert question_terms(answerer.index, answerer.encode, q, partly) == terms


def test_the_decision_carries_its_fitted_coverage_cosines(tmp_path: Path):
    low, high = decision().near
    assert 0 <= low < high <= 1
    data = json.loads(SCORER_FILE.read_text("utf-8"))
    data["decision"]["near"] = [0.9, 0.2]
    bad = tmp_path / "scorer.json"
    bad.write_text(json.dumps(data), "utf-8")
    with pytest.raises(AssistantError, match="make fit"):
        decision(bad)
