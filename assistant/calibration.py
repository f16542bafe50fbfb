"""Calibration: refit the abstention threshold and the claim check's threshold on an eval set.

`assistant eval --questions evals/dev.jsonl --calibrate` writes the result to
ASSISTANT_HOME/calibration.json (Settings.calibration_path), which the answerer reads.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from .answer import ExtractiveAnswerer
from .eval_score import contains
from .eval_set import EvalQuestion
from .progress import progress
from .types import AssistantError


def calibrate(answerer: ExtractiveAnswerer, questions: list[EvalQuestion], quiet: bool = True) -> dict[str, Any]:
    """Refit the abstention threshold on questions marked `answerable` (a corpus of one's own).

    The assistant abstains when the fitted probability that the documents answer
    (scoring.Decision) falls below abstain_threshold. `make fit` chooses it on the fit
    sets; this chooses it on the given questions, by the same rule (`answer_cut`: the
    stated precision ANSWER_PRECISION).
    """
    rated = [q for q in questions if q.answerable is not None]
    if not any(q.answerable for q in rated) or all(q.answerable for q in rated):
        raise AssistantError("calibration needs both answerable and unanswerable questions (field 'answerable')")
    pos: list[float] = []
    neg: list[float] = []
    for q in progress(rated, quiet, "calibrate"):
        p, other = answerer.evidence_score(q.question, q.to_filters())
        if other:
            continue  # another rule abstains whatever the threshold
        (pos if q.answerable else neg).append(p)
    if not pos or not neg:
        raise AssistantError("calibration needs answerable and unanswerable questions the probability decides")
    cut = answer_cut(pos, neg)
    if not any(p >= cut for p in pos):  # 1.0: no threshold holds the precision
        raise AssistantError(
            f"on these questions no threshold makes {ANSWER_PRECISION:.0%} of those answered answerable "
            "(no threshold was saved)"
        )
    return {
        "abstain_threshold": cut,
        "answer_precision": ANSWER_PRECISION,
        "balanced_accuracy": round(_balanced(pos, neg, cut), 4),
        "n": len(pos) + len(neg),
    }


# The precision the decision to answer is held to: of the questions it answers, at least this
# share are ones the documents answer. A product choice, stated rather than found: 9 answers
# in 10 are to questions the documents answer.
ANSWER_PRECISION = 0.90


def answer_cut(pos: Sequence[float], neg: Sequence[float], precision: float = ANSWER_PRECISION) -> float:
    """The abstention threshold on P(the documents answer) (pos: of answerable questions,
    neg: of the others): the lowest at which at least `precision` of the questions answered
    (P at or above it) are answerable; 1.0 when none is. Going up from the lowest, that
    share only rises in expectation, so the first that reaches it is the one; a few
    questions at the top, where one unanswerable question weighs most, do not decide it."""
    for cut in sorted({round(p, 4) for p in (*pos, *neg)}):
        answered = sum(p >= cut for p in pos)
        wrong = sum(p >= cut for p in neg)
        if answered + wrong and answered / (answered + wrong) >= precision:
            return float(cut)
    return 1.0


def calibrate_claims(answerer: ExtractiveAnswerer, questions: list[EvalQuestion], quiet: bool = True) -> dict[str, Any]:
    """Fit the claim check's support threshold.

    Each evidence string of an answerable question is a claim. Cited against a retrieved
    passage that holds it, it is supported; cited against a retrieved passage that holds
    none of the question's evidence (on topic, but not the source of that fact), it is
    not. The threshold maximises balanced accuracy over those two groups.
    """
    points: list[tuple[float, bool]] = []
    for q in progress([q for q in questions if q.answerable is not False and q.evidence], quiet, "claims"):
        points.extend(_claim_points(answerer, q))
    pos = [sc for sc, ok in points if ok]
    neg = [sc for sc, ok in points if not ok]
    if not pos or not neg:
        raise AssistantError("claim calibration needs answerable questions with evidence strings")
    cut, accuracy = _balanced_cut(pos, neg)
    return {"claim_threshold": cut, "claim_balanced_accuracy": accuracy, "claim_pairs": len(points)}


def _claim_points(answerer: ExtractiveAnswerer, q: EvalQuestion) -> list[tuple[float, bool]]:
    """(support score, supported?) for each evidence string against its own and two other passages."""
    checker = answerer.checker
    evidence = q.evidence or []
    passages = tuple(answerer.retriever.retrieve(q.question, answerer.settings.top_k, q.to_filters()))
    holding = [any(contains(p.chunk.text, e) for e in evidence) for p in passages]
    others = [n for n, h in enumerate(holding, start=1) if not h][:2]
    points: list[tuple[float, bool]] = []
    for e in evidence:
        own = next((n for n, p in enumerate(passages, start=1) if contains(p.chunk.text, e)), None)
        if own is None:
            continue
        points.append((checker.support(e, (own,), passages).score, True))
        points.extend((checker.support(e, (n,), passages).score, False) for n in others)
    return points


def _balanced_cut(pos: list[float], neg: list[float]) -> tuple[float, float]:
    """The cut maximising balanced accuracy (middle of the best plateau), and that accuracy."""
    scores = sorted(set(pos) | set(neg))
    cuts = [(a + b) / 2 for a, b in itertools.pairwise(scores)] or scores

    values = [_balanced(pos, neg, c) for c in cuts]
    top = max(values)
    plateau = [c for c, v in zip(cuts, values, strict=True) if v == top]
    return round(plateau[len(plateau) // 2], 4), round(top, 4)


def _balanced(pos: Sequence[float], neg: Sequence[float], cut: float) -> float:
    """Balanced accuracy of a cut: the share of `pos` at or above it and of `neg` below it."""
    return (sum(sc >= cut for sc in pos) / len(pos) + sum(sc < cut for sc in neg) / len(neg)) / 2
