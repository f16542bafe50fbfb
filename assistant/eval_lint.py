"""The evidence lint: every evidence string must name a few sentences, each of which answers.

An evidence string is matched against every sentence of the set's corpus with the
same rule the scoring uses (`eval_score.holds`). The lint fails when a string
matches no sentence, matches more than MAX_MATCHES, when a question accepts more
than MAX_PER_QUESTION sentences in all, or when a matched sentence has not been
judged by a person in the review file, or was judged not to answer.

The review file (evals/evidence_review.jsonl) records those judgements, one per
line: {"set", "id", "sentence", "answers": true|false, "note"}. A new document that
brings a new match makes the lint fail until someone reads it and records a verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .chunking import chunk_document
from .eval_score import holds
from .eval_set import EvalQuestion
from .text import normalize, one_line
from .types import AssistantError, Document

MAX_MATCHES = 3  # sentences one evidence string may match
MAX_PER_QUESTION = (
    8  # sentences a question's `evidence` may accept in all ("what data is used" has 8 real answers here)
)


@dataclass
class LintReport:
    problems: list[str] = field(default_factory=list)
    unreviewed: list[dict[str, Any]] = field(default_factory=list)  # review lines to fill in
    matches: int = 0
    stale_reviews: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.unreviewed


def corpus_sentences(documents: list[Document]) -> list[str]:
    """Every sentence an answer can cite, as one line of text."""
    return [one_line(d.text[s.start : s.end]) for d in documents for c in chunk_document(d) for s in c.sentences]


def load_review(path: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(set, question id, normalised sentence) -> the review record."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        return out
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            key = (str(r["set"]), str(r["id"]), normalize(r["sentence"]))
            if not isinstance(r["answers"], bool):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise AssistantError(f"{path}:{n}: not a review record (set, id, sentence, answers: true|false)") from None
        out[key] = r
    return out


# complexity: one branch per verdict an evidence match can get
def lint(
    set_name: str,
    questions: list[EvalQuestion],
    documents: list[Document],
    review: dict[tuple[str, str, str], dict[str, Any]],
) -> LintReport:
    report = LintReport()
    sentences = corpus_sentences(documents)
    used: set[tuple[str, str, str]] = set()
    for q in questions:
        accepted: set[str] = set()
        for e in q.evidence_strings():
            hits = [s for s in sentences if holds(s, [e])]
            if not hits:
                report.problems.append(f"{set_name}/{q.id}: evidence {e!r} matches no sentence of the corpus")
                continue
            if len(hits) > MAX_MATCHES:
                report.problems.append(
                    f"{set_name}/{q.id}: evidence {e!r} matches {len(hits)} sentences (at most {MAX_MATCHES})"
                )
            if e in (q.evidence or []):
                accepted.update(hits)
            for s in hits:
                key = (set_name, q.id, normalize(s))
                report.matches += 1
                used.add(key)
                verdict = review.get(key)
                if verdict is None:
                    report.unreviewed.append(
                        {"set": set_name, "id": q.id, "question": q.question, "sentence": s, "answers": None}
                    )
                elif not verdict["answers"]:
                    report.problems.append(
                        f"{set_name}/{q.id}: evidence {e!r} matches a sentence judged not to answer: {s[:90]!r}"
                    )
        if len(accepted) > MAX_PER_QUESTION:
            report.problems.append(
                f"{set_name}/{q.id}: its evidence accepts {len(accepted)} sentences (at most {MAX_PER_QUESTION})"
            )
    report.stale_reviews = sum(
        1 for key, r in review.items() if key[0] == set_name and r["answers"] and key not in used
    )
    # one line per (question, sentence), however many of its strings matched it
    report.unreviewed = list({(u["id"], normalize(u["sentence"])): u for u in report.unreviewed}.values())
    return report
