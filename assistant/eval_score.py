"""Scoring one answer against its eval question, and summing a set's scores.

The rules count failures rather than hide them:

- `answer_correct`: the decision to answer is right and, when the question is
  answerable, the first citation holds an evidence string, every `facts` phrase is
  in the answer, every answerable part of a multi-part question is cited, and (on
  an evolving corpus) the first citation is the current statement.
- `citation_precision` is per citation: every citation of an answer to an
  unanswerable question counts as wrong. The per-question mean, which ignores
  abstentions and lets one good citation hide a bad one, is kept as
  `citation_precision_per_question`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from .eval_set import EvalQuestion
from .text import normalize
from .types import Answer

HIT_KS = (1, 3, 5)
MRR_DEPTH = 10

SUMMARY_KEYS = (
    "answer_correct",
    "citation_precision",
    "abstention_precision",
    "abstention_recall",
    "evidence_hit@1",
    "evidence_hit@3",
    "evidence_hit@5",
    "mrr",
    "citation_precision_per_question",
    "citation_recall",
    "source_recall",
    "fact_recall",
    "parts_cited",
    "current_first",
    "stale_unmarked",
    "conflicts_shown",
    "latency_p50_ms",
    "latency_p95_ms",
)
LOWER_IS_BETTER = ("latency_p50_ms", "latency_p95_ms", "stale_unmarked", "false_abstention_rate")


def contains(haystack: str, needle: str) -> bool:
    return normalize(needle) in normalize(haystack)


def has_phrase(text: str, phrase: str) -> bool:
    """Phrase match on whole words, after normalisation ("no" does not match "not"); a
    number may carry its ordinal suffix ("June 26" is in "June 26th")."""
    needle = normalize(phrase)
    ordinal = "(?:st|nd|rd|th)?" if needle[-1:].isdigit() else ""
    return re.search(rf"(?<!\w){re.escape(needle)}{ordinal}(?!\w)", normalize(text)) is not None


def holds(quote: str, evidence: Iterable[str]) -> bool:
    """A quote holds the evidence when it contains an evidence string, or is part of a longer
    one (an annotated span that runs over several sentences)."""
    q = normalize(quote)
    return any(normalize(e) in q or (len(q) >= 20 and q in normalize(e)) for e in evidence)


def _quotes(answer: Answer) -> list[str]:
    return [c.quote for c in answer.citations]


def _marked_earlier(answer: Answer, n: int) -> bool:
    """True when citation n is shown as superseded ("Earlier:") rather than as current."""
    return n in answer.earlier


def _conflict_shown(answer: Answer, sides: Sequence[Sequence[str]]) -> bool:
    """Both sides of a disagreement are quoted under "Sources differ"."""
    for conflict in answer.conflicts:
        quotes = [c.quote for c in answer.citations if c.n in conflict.citations]
        if all(any(holds(q, side) for q in quotes) for side in sides):
            return True
    return False


# complexity: one condition per clause of the definition in evals/README.md, in that order
def answer_correct(q: EvalQuestion, answer: Answer) -> bool | None:
    """None when the question does not say whether it is answerable."""
    if q.answerable is None:
        return None
    if not q.answerable:
        return answer.abstained
    if answer.abstained or not answer.citations:
        return False
    first = answer.citations[0].quote
    if q.evidence and not holds(first, q.evidence):
        return False
    if q.current_evidence and not holds(first, q.current_evidence):
        return False
    if q.facts and not all(has_phrase(answer.text, f) for f in q.facts):
        return False
    quotes = _quotes(answer)
    return all(any(holds(c, p.evidence) for c in quotes) for p in q.parts or [] if p.answerable and p.evidence)


def score(q: EvalQuestion, answer: Answer, ranked: list[str], ranked_docs: list[str]) -> dict[str, float | None]:
    """Per-question scores; None where the question does not carry the field a metric needs.

    Args:
        ranked: the texts of the retrieved passages, best first (for hit@k and MRR).
        ranked_docs: their document ids.
    """
    s: dict[str, float | None] = {}
    s.update(_retrieval_scores(q, answer, ranked))
    s.update(_citation_scores(q, answer))
    correct = answer_correct(q, answer)
    if correct is not None:
        s["answer_correct"] = float(correct)
        s["abstention_correct"] = float(answer.abstained == (not q.answerable))
    s.update(_currency_scores(q, answer))
    if answer.generated:
        s.update(_generation_scores(q, answer))
    return s


def _retrieval_scores(q: EvalQuestion, answer: Answer, ranked: list[str]) -> dict[str, float | None]:
    """Where the first passage holding the evidence ranks; whether any citation holds it."""
    evidence = q.evidence or []
    if not evidence:
        return {}
    s: dict[str, float | None] = {}
    first = next((i for i, text in enumerate(ranked[:MRR_DEPTH]) if any(contains(text, e) for e in evidence)), None)
    for k in HIT_KS:
        s[f"evidence_hit@{k}"] = float(first is not None and first < k)
    s["rr"] = 0.0 if first is None else 1.0 / (first + 1)
    s["citation_recall"] = float(any(holds(c, evidence) for c in _quotes(answer)))
    return s


def _citation_scores(q: EvalQuestion, answer: Answer) -> dict[str, float | None]:
    """Counts per citation: right only when it holds an evidence string of an answerable question."""
    s: dict[str, float | None] = {}
    evidence = q.evidence or []
    quotes = _quotes(answer)
    good = [q.answerable is not False and bool(evidence) and holds(c, evidence) for c in quotes]
    if quotes and (evidence or q.answerable is False):
        s["citations"] = float(len(good))
        s["citations_correct"] = float(sum(good))
        s["citation_precision_per_question"] = sum(good) / len(good) if q.answerable is not False else None
    return s | _coverage_scores(q, answer, quotes)


def _coverage_scores(q: EvalQuestion, answer: Answer, quotes: list[str]) -> dict[str, float | None]:
    """Sources cited, facts stated, parts of a multi-part question cited."""
    s: dict[str, float | None] = {}
    if q.sources:
        cited = {c.doc_id for c in answer.citations}
        s["source_recall"] = sum(src in cited for src in q.sources) / len(q.sources)
    if q.facts:
        s["fact_recall"] = 0.0 if answer.abstained else sum(has_phrase(answer.text, f) for f in q.facts) / len(q.facts)
    wanted = [p for p in q.parts or [] if p.answerable and p.evidence]
    if wanted:
        s["parts_cited"] = sum(any(holds(c, p.evidence) for c in quotes) for p in wanted) / len(wanted)
    return s


def _currency_scores(q: EvalQuestion, answer: Answer) -> dict[str, float | None]:
    """Newest statement first, superseded ones marked, disagreements shown."""
    s: dict[str, float | None] = {}
    quotes = _quotes(answer)
    if q.current_evidence:
        s["current_first"] = float(bool(quotes) and holds(quotes[0], q.current_evidence))
    if q.stale_evidence:
        stale = [c.n for c in answer.citations if holds(c.quote, q.stale_evidence) and not _marked_earlier(answer, c.n)]
        s["stale_unmarked"] = float(bool(stale))
    if q.conflict_sides:
        s["conflicts_shown"] = float(_conflict_shown(answer, q.conflict_sides))
    return s


def _generation_scores(q: EvalQuestion, answer: Answer) -> dict[str, float | None]:
    """The model's answer as it was before the claim check."""
    s: dict[str, float | None] = {}
    claim_quotes = [c.quote for c in answer.claims if c.cites]
    if q.evidence and claim_quotes:
        s["citation_precision_unchecked"] = sum(holds(c, q.evidence) for c in claim_quotes) / len(claim_quotes)
    if q.facts:
        s["fact_recall_unchecked"] = sum(has_phrase(answer.generated, f) for f in q.facts) / len(q.facts)
    return s


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[rank]


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary keys over a list of per-question results."""

    def col(key: str) -> list[float]:
        return [r["scores"][key] for r in results if r["scores"].get(key) is not None]

    summary: dict[str, Any] = {"answer_correct": _mean(col("answer_correct"))}
    cited = sum(col("citations"))
    summary["citation_precision"] = sum(col("citations_correct")) / cited if cited else None
    for k in HIT_KS:
        summary[f"evidence_hit@{k}"] = _mean(col(f"evidence_hit@{k}"))
    summary["mrr"] = _mean(col("rr"))
    for key in (
        "citation_precision_per_question",
        "citation_recall",
        "source_recall",
        "fact_recall",
        "parts_cited",
        "current_first",
        "stale_unmarked",
        "conflicts_shown",
    ):
        summary[key] = _mean(col(key))
    summary.update(_abstention_summary(results))
    summary["citations"] = int(cited)
    summary.update(_generation_summary(results))
    latencies = [r["latency_ms"] for r in results]
    summary["latency_p50_ms"] = percentile(latencies, 50)
    summary["latency_p95_ms"] = percentile(latencies, 95)
    summary["n"] = len(results)
    return summary


def _abstention_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    rated = [r for r in results if r.get("answerable") is not None]
    abstained = [r for r in rated if r["abstained"]]
    unanswerable = [r for r in rated if not r["answerable"]]
    answerable = [r for r in rated if r["answerable"]]
    return {
        "abstention_precision": _mean([float(not r["answerable"]) for r in abstained]),
        "abstention_recall": _mean([float(r["abstained"]) for r in unanswerable]),
        "false_abstention_rate": _mean([float(r["abstained"]) for r in answerable]),
        "answered_unanswerable": sum(not r["abstained"] for r in unanswerable),
    }


def _generation_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Claim-check and model-server figures, present only when they apply."""
    out: dict[str, Any] = {}
    for key in ("citation_precision_unchecked", "fact_recall_unchecked"):
        values = [r["scores"][key] for r in results if r["scores"].get(key) is not None]
        if values:
            out[key] = _mean(values)
    claims = [c for r in results for c in r.get("claims", [])]
    if claims:  # sentences put through the claim check (generated, or the extractive self-test)
        out["claims_checked"] = len(claims)
        out["claims_removed"] = sum(not c["supported"] for c in claims)
        out["claims_removed_share"] = out["claims_removed"] / len(claims)
    kinds = [r.get("answerer") for r in results if not r["abstained"]]
    if "llm" in kinds or "extractive-fallback" in kinds:
        out["fallback_rate"] = kinds.count("extractive-fallback") / len(kinds)
        firsts = [r["first_token_ms"] for r in results if r.get("first_token_ms") is not None]
        out["first_token_p50_ms"] = percentile(firsts, 50)
        out["first_token_p95_ms"] = percentile(firsts, 95)
    return out
