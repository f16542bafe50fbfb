"""Running eval sets through the assistant: `assistant eval`.

A set is a question file and its corpus (eval_set); each answer is scored
(eval_score) and the results are presented (eval_report). A named set whose corpus
is not the configured one gets its own index under ASSISTANT_HOME/eval/NAME,
refreshed from that corpus before it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .answer import Answerer, ExtractiveAnswerer, answerer_over, open_answerer
from .calibration import calibrate, calibrate_claims
from .config import Settings
from .dating import display
from .embedder import Embedder, TextEncoder
from .eval_report import check, compare, format_summary, side_by_side, write_report
from .eval_score import MRR_DEPTH, score, summarize
from .eval_set import EvalQuestion, EvalSet, load_questions, load_sets
from .generate import GenerativeAnswerer, choose
from .generation import Generation
from .index import open_index
from .progress import progress
from .text import one_line
from .types import Answer, AssistantError


# complexity: the per-question loop records every outcome (answer, abstention, error, claims) in one place
def run(answerer: Answerer, questions: list[EvalQuestion], quiet: bool = True) -> dict[str, Any]:
    """Answer every question and score it. Returns {"summary", "by_category", "results"}.

    Generated answers carry the claim check's verdict on each sentence; extractive
    answers are put through the same check as a self-test (every sentence should pass).
    """
    checker = answerer.checker
    known = answerer.index.documents
    for q in questions:  # fail before running anything, not halfway through
        missing = [src for src in q.to_filters().sources if src not in known]
        if missing:
            raise AssistantError(f"question {q.id!r}: filters.source names unknown document(s) {missing}")
    answerer.answer("warm-up question about the documents")  # first call loads the model; not a latency sample
    results: list[dict[str, Any]] = []
    for q in progress(questions, quiet, "eval"):
        filters = q.to_filters()
        t0 = time.perf_counter()
        answer = answerer.answer(q.question, filters)
        latency = (time.perf_counter() - t0) * 1000
        ranked = answerer.retriever.retrieve(q.question, MRR_DEPTH, filters, asker=answer.jurisdiction)
        results.append(
            {
                **q.extra,
                "id": q.id,
                "question": q.question,
                "category": q.category or "uncategorised",
                "answerable": q.answerable,
                "abstained": answer.abstained,
                "confidence": answer.confidence,
                "answer": answer.text,
                "jurisdiction": answer.jurisdiction,
                "citations": [
                    {k: getattr(c, k) for k in ("n", "doc_id", "chunk_id", "quote", "start", "end")}
                    for c in answer.citations
                ],
                "passages": [p.chunk.doc_id for p in ranked],
                "passage_ids": [p.chunk.id for p in ranked],
                "scores": score(q, answer, [p.chunk.text for p in ranked], [p.chunk.doc_id for p in ranked]),
                "latency_ms": latency,
                "answerer": answer.answerer,
                "claims": [asdict(c) for c in (answer.claims or checker.check_answer(answer))],
                "first_token_ms": answer.timings.get("first_token_ms"),
            }
        )
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_category[r["category"]].append(r)
    return {
        "summary": summarize(results),
        "by_category": {cat: summarize(rs) for cat, rs in sorted(by_category.items())},
        "results": results,
    }


def settings_for(settings: Settings, evalset: EvalSet) -> Settings:
    """The configured settings when the set is asked of the configured corpus; otherwise the
    set's corpus with an index of its own under ASSISTANT_HOME/eval/NAME."""
    if evalset.corpus.resolve() == settings.corpus.resolve():
        return settings
    return settings.model_copy(update={"corpus": evalset.corpus, "home": settings.home / "eval" / evalset.name})


def open_for_set(
    settings: Settings,
    evalset: EvalSet,
    retriever: str,
    quiet: bool,
    scorer: Callable[[np.ndarray], np.ndarray] | None = None,
) -> ExtractiveAnswerer:
    """The answerer over the set's corpus, its index brought up to date first (no fetching)."""
    from .refresh import refresh

    for path in (evalset.questions, evalset.corpus):
        if not path.exists():
            hint = f"; run `{evalset.prepare}` first" if evalset.prepare else ""
            raise AssistantError(f"set {evalset.name!r}: {path} does not exist{hint}")
    own = settings_for(settings, evalset)
    if own is not settings:
        report = refresh(own, fetch=False)
        if not quiet and not report.nothing_changed:
            print(f"{evalset.name}: indexed {evalset.corpus} ({report.embedded_chunks} chunks)", file=sys.stderr)
    return open_answerer(own, retriever, None if quiet else lambda m: print(m, file=sys.stderr), scorer=scorer)


def affected_questions(path: Path, doc_ids: Iterable[str]) -> list[str]:
    """Ids of the questions in `path` whose expected sources include any of doc_ids."""
    touched = set(doc_ids)
    try:
        return [q.id for q in load_questions(path) if touched & set(q.sources or ())]
    except AssistantError:
        return []


@dataclass(frozen=True)
class ChangedAnswer:
    """An eval question whose cited answer a refresh changed: a quote it had and one it now has."""

    question: str
    before: str
    after: str


def said(answer: Answer) -> list[str]:
    """What an answer says, quote by quote, each with its source and date; or that it abstains."""
    if answer.abstained or not answer.citations:
        return ["the documents don't say"]
    return [
        f"\u201c{one_line(c.quote)}\u201d ({c.publisher or c.title}, {display(c.published) if c.published else 'undated'})"
        for c in answer.citations
    ]


def changed_answers(
    settings: Settings, before: Generation, questions_path: Path, embedder: TextEncoder | None = None
) -> list[ChangedAnswer]:
    """The questions of a question file whose cited answer differs between the generation
    `before` (still on disk after a refresh) and the live one."""
    questions = load_questions(questions_path)
    embedder = embedder or Embedder.for_settings(settings)  # one model for both generations
    old, new = open_index(settings, embedder, before), open_index(settings, embedder)
    try:
        was, now = answerer_over(old, settings), answerer_over(new, settings)
        out = []
        for q in questions:
            filters = q.to_filters()
            a, b = (said(x.answer(q.question, filters)) for x in (was, now))
            if a != b:  # shown: the first quote that is new, and the first that is gone
                out.append(ChangedAnswer(q.question, _first_not_in(a, b), _first_not_in(b, a)))
        return out
    finally:
        old.close()
        new.close()


def _first_not_in(quotes: list[str], other: list[str]) -> str:
    return next((q for q in quotes if q not in other), quotes[0])


def last_touched(settings: Settings) -> list[str]:
    """Documents added, changed or removed by the last refresh (from changes.jsonl)."""
    path = settings.changes_path
    try:
        last = path.read_text("utf-8").strip().splitlines()[-1]
        record = json.loads(last)
    except (OSError, IndexError, ValueError):
        raise AssistantError(f"{path}: no refresh recorded yet; run 'assistant refresh'") from None
    return [d["id"] for d in record.get("documents", []) if d.get("status") in ("added", "changed", "removed")]


# ---------------------------------------------------------------- the command


def _chosen_sets(args: argparse.Namespace) -> list[EvalSet] | None:
    """The named sets the command runs (--set / --all), or None for a plain --questions file."""
    if not (args.all or args.set):
        return None
    sets = load_sets(args.sets)
    if args.all:
        return list(sets.values())
    unknown = [n for n in args.set if n not in sets]
    if unknown:
        raise AssistantError(f"unknown eval set {', '.join(map(repr, unknown))}; {args.sets} has: {', '.join(sets)}")
    return [sets[n] for n in args.set]


def _lint(settings: Settings, sets: list[EvalSet], review_path: Path) -> int:
    from .eval_lint import MAX_MATCHES, lint, load_review
    from .sources import load_corpus

    review = load_review(review_path)
    failed = False
    for evalset in sets:
        if not evalset.lint:
            print(f"{evalset.name}: not linted (its evidence is the benchmark's own annotation)")
            continue
        documents = load_corpus(evalset.corpus, strict=False).documents
        report = lint(evalset.name, load_questions(evalset.questions), documents, review)
        for problem in report.problems:
            print(f"evidence: {problem}")
        for row in report.unreviewed:
            print("unreviewed: " + json.dumps(row, ensure_ascii=False))
        print(
            f"{evalset.name}: {report.matches} evidence matches (at most {MAX_MATCHES} sentences a string), "
            f"{len(report.problems)} problems, {len(report.unreviewed)} not reviewed in {review_path}"
            + (f", {report.stale_reviews} review lines no longer matched" if report.stale_reviews else "")
        )
        failed = failed or not report.ok
    return 1 if failed else 0


def _calibrate(settings: Settings, args: argparse.Namespace) -> int:
    questions = load_questions(args.questions)
    extractive = open_answerer(settings, args.retriever, on_build=lambda m: print(m, file=sys.stderr))
    result = calibrate(extractive, questions, quiet=args.quiet)
    result.update(calibrate_claims(extractive, questions, quiet=args.quiet))
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.calibration_path.write_text(
        json.dumps({**result, "calibrated_on": str(args.questions)}, indent=2), "utf-8"
    )
    print(
        f"abstain_threshold {result['abstain_threshold']} (the lowest at which "
        f"{result['answer_precision']:.0%} of the questions answered are answerable; balanced accuracy "
        f"{result['balanced_accuracy']} on {result['n']} questions); "
        f"claim_threshold {result['claim_threshold']} (balanced accuracy {result['claim_balanced_accuracy']} "
        f"on {result['claim_pairs']} claim/passage pairs); saved to {settings.calibration_path}"
    )
    return 0


def _run_one(
    extractive: ExtractiveAnswerer, settings: Settings, args: argparse.Namespace, questions_path: Path
) -> dict:
    questions = load_questions(questions_path)
    if getattr(args, "only_affected", False):
        touched = set(last_touched(settings))
        questions = [q for q in questions if touched & set(q.sources or ())]
        if not questions:
            print("No eval question depends on the documents the last refresh changed.")
            return {}
        print(f"{len(questions)} questions depend on the documents the last refresh changed: {sorted(touched)}")
    answerer: Answerer = extractive
    if choose(settings, getattr(args, "answerer", None) or "extractive") == "llm":
        answerer = GenerativeAnswerer(extractive, settings)
    report = run(answerer, questions, quiet=args.quiet)
    report["config"] = {
        "questions": str(questions_path),
        "corpus": str(extractive.settings.corpus),
        "retriever": args.retriever,
        "answerer": answerer.kind,
        "llm_url": settings.llm_url if answerer.kind == "llm" else None,
        "llm_model": settings.llm_model if answerer.kind == "llm" else None,
        "embed_model": settings.embed_model,
        "abstain_threshold": extractive.threshold,
        "claim_threshold": extractive.checker.threshold,
    }
    return report


def _write(report: dict[str, Any], json_out: Path | None, report_dir: Path | None, title: str) -> None:
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
    if report_dir:
        print(f"report: {write_report(report, report_dir, title)}")


# complexity: dispatches the modes of `assistant eval` (lint, calibrate, one set, all sets), one branch each
def main(settings: Settings, args: argparse.Namespace) -> int:
    """`assistant eval`: see the command's --help."""
    sets = _chosen_sets(args)
    if args.lint_evidence:
        if sets is None:
            sets = [EvalSet(args.questions.stem, args.questions, settings.corpus)]
        return _lint(settings, sets, args.review)
    if args.calibrate:
        return _calibrate(settings, args)
    if sets is None:  # one question file over the configured corpus
        extractive = open_answerer(settings, args.retriever, on_build=lambda m: print(m, file=sys.stderr))
        report = _run_one(extractive, settings, args, args.questions)
        if not report:
            return 0
        print(format_summary(report))
        _write(report, args.json_out, args.report, str(args.questions))
        return _compare_and_check(report, args, "visible" if args.questions.name == "questions.jsonl" else None)
    reports: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    for evalset in sets:
        extractive = open_for_set(settings, evalset, args.retriever, args.quiet)
        try:
            report = _run_one(extractive, settings, args, evalset.questions)
        finally:
            extractive.index.close()
        if not report:
            continue
        reports[evalset.name] = report
        print(f"\n== {evalset.name} ({evalset.questions}) ==\n{format_summary(report)}")
        out = args.report / evalset.name if args.report else None
        json_out = (args.json_out.parent / f"{evalset.name}.json") if args.json_out and len(sets) > 1 else args.json_out
        _write(report, json_out, out, f"{evalset.name}: {evalset.about or evalset.questions}")
        if args.check:
            failures += check(report["summary"], args.thresholds, evalset.name)
    if len(reports) > 1:
        table = side_by_side(reports)
        print("\n" + table)
        if args.report:
            args.report.mkdir(parents=True, exist_ok=True)
            (args.report / "sets.md").write_text("# All eval sets\n\n" + table + "\n", "utf-8")
    return _report_failures(failures, args) if args.check else 0


def _compare_and_check(report: dict[str, Any], args: argparse.Namespace, set_name: str | None) -> int:
    if args.compare:
        try:
            old = json.loads(args.compare.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise AssistantError(f"{args.compare}: cannot read an earlier report ({exc})") from None
        print("\n".join(compare(report, old)))
    if not args.check:
        return 0
    if set_name is None:
        raise AssistantError("--check needs a named set (--set NAME) to know which floors apply")
    return _report_failures(check(report["summary"], args.thresholds, set_name), args)


def _report_failures(failures: list[str], args: argparse.Namespace) -> int:
    for f in failures:
        print(f"below floor: {f}", file=sys.stderr)
    if failures:
        return 1
    print(f"all floors in {args.thresholds} met")
    return 0
