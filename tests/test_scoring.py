"""The fitted sentence scorer and decision to answer (assistant/scoring.py, `make fit`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.answer import ExtractiveAnswerer
from assistant.coverage import Uncovered
from assistant.scoring import (
    DECISION_INPUTS,
    FEATURES,
    N_FEATURES,
    SCORER_FILE,
    Decision,
    Scorer,
    decision,
    fitted,
)
from assistant.types import AssistantError


def test_committed_scorer_reads_the_features_the_answerer_computes():
    scorer = fitted()
    data = json.loads(SCORER_FILE.read_text("utf-8"))
    assert data["features"] == list(FEATURES)
    assert data["questions"] > 1000  # fitted on the PolicyQA fit policies and the seed-corpus fit sets
    # A sentence closer to the question, or using more of its words, is more likely to answer.
    coef = dict(zip(FEATURES, scorer.coef, strict=True))
    assert coef["sentence_sim"] > 0
    assert coef["overlap"] > 0


def test_scores_are_probabilities_that_rise_with_similarity():
    scorer = fitted()
    rows = np.tile(scorer.mean, (2, 1))
    rows[1, FEATURES.index("sentence_sim")] += 0.3
    p = scorer(rows)
    assert ((p > 0) & (p < 1)).all()
    assert p[1] > p[0]
    assert scorer(np.zeros((0, N_FEATURES))).shape == (0,)


def test_decision_to_answer_rises_with_the_best_sentence_and_falls_with_uncovered_words():
    decide = decision()
    assert 0 < decide.threshold < 1
    assert set(decide.features) <= set(DECISION_INPUTS)
    none, half, all_ = Uncovered(0.0, 0.0), Uncovered(0.8, 0.0), Uncovered(1.0, 0.0)
    assert decide(0.6, none, 0.5) > decide(0.6, half, 0.5)  # the corpus lacks words of the question
    if "best" in decide.features:
        assert decide(0.6, none, 0.5) > decide(0.01, none, 0.5)
    assert decide(0.9, none, 1.0) >= decide.threshold > decide(0.01, all_, 0.0)


def test_a_scorer_fitted_on_other_features_is_refused(tmp_path: Path):
    data = json.loads(SCORER_FILE.read_text("utf-8"))
    data["features"] = data["features"][:-1]
    with pytest.raises(AssistantError, match="make fit"):
        Scorer.from_dict(data)
    damaged = tmp_path / "scorer.json"
    damaged.write_text("{not json", "utf-8")
    with pytest.raises(AssistantError, match="cannot read the fitted scorer"):
        fitted(damaged)


def test_answers_carry_their_confidence(answerer: ExtractiveAnswerer):
    answered = answerer.answer("Can people in the EU object to Meta using their posts for AI training?")
    assert not answered.abstained
    assert answered.confidence is not None and answered.confidence >= answerer.threshold
    assert answered.to_dict()["confidence"] == answered.confidence
    unrelated = answerer.answer("What is the boiling point of water at sea level?")
    assert unrelated.abstained
    assert unrelated.confidence is not None and unrelated.confidence < answered.confidence


def test_a_threshold_of_ones_own_overrides_the_fitted_one(answerer: ExtractiveAnswerer):
    strict = ExtractiveAnswerer(answerer.index, answerer.settings, answerer.retriever, answerer.encode, threshold=1.0)
    assert strict.answer("Can people in the EU object to Meta using their posts for AI training?").abstained
    assert isinstance(strict.decide, Decision)


def test_a_part_the_documents_do_not_answer_is_named(answerer: ExtractiveAnswerer):
    answer = answerer.answer("Can people in the EU object, and does TikTok do the same?")
    assert not answer.abstained and answer.citations  # the part about the EU is answered
    assert answer.unanswered == ("does TikTok do the same?",)
    assert answer.text.endswith("The documents don't say: “does TikTok do the same?”")
    whole = answerer.answer("Can people in the EU object to Meta using their posts for AI training?")
    assert whole.unanswered == () and "don't say" not in whole.text


def test_threshold_is_the_lowest_that_holds_the_stated_precision():
    from assistant.calibration import ANSWER_PRECISION, answer_cut

    answerable = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    other = [0.1, 0.2, 0.4]
    # answered from 0.3: 7 of 8 answerable (0.875); from 0.4: 6 of 7 (0.857); from 0.5: all
    assert answer_cut(answerable, other, 0.85) == pytest.approx(0.3)
    assert answer_cut(answerable, other, 0.88) == pytest.approx(0.5)
    assert answer_cut(other, answerable, 0.99) == 1.0  # never reached: answer nothing
    committed = json.loads(SCORER_FILE.read_text("utf-8"))["decision"]
    assert committed["answer_precision"] == ANSWER_PRECISION


def test_calibration_that_cannot_hold_the_precision_says_so(answerer):
    from assistant.calibration import calibrate
    from assistant.eval_set import EvalQuestion

    # Answerable and unanswerable questions the decision cannot tell apart: the same question.
    asked = "Can users in the EU object to Meta using their posts?"
    questions = [EvalQuestion(id=f"q{i}", question=asked, answerable=i % 2 == 0) for i in range(4)]
    with pytest.raises(AssistantError, match="no threshold makes"):
        calibrate(answerer, questions)  # raised before assistant eval --calibrate writes calibration.json
