from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.eval_report import check, compare
from assistant.eval_score import summarize
from assistant.eval_set import load_questions, load_sets
from assistant.evaluation import run
from assistant.types import AssistantError

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "evals" / "questions.jsonl"


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": "a", "question": "ok"', r"q\.jsonl:2: bad JSON"),
        ('{"id": "a"}', r"q\.jsonl:2: question: Field required"),
        ('{"id": "a", "question": "x", "evidence": "not a list"}', r"q\.jsonl:2: evidence"),
        ('{"id": "a", "question": "x", "filters": {"jurisdiction": "Narnia"}}', r"q\.jsonl:2: filters\.jurisdiction"),
        ('["a list"]', r"q\.jsonl:2: each line must be a JSON object"),
        ('{"id": "first", "question": "again"}', r"q\.jsonl:2: duplicate id 'first' \(first at line 1\)"),
    ],
)
def test_malformed_lines_are_named_before_anything_runs(tmp_path, line, message):
    path = _write(tmp_path, '{"id": "first", "question": "Can I opt out?"}', line)
    with pytest.raises(AssistantError, match=message):
        load_questions(path)


def test_empty_file_is_an_error(tmp_path):
    with pytest.raises(AssistantError, match="no questions"):
        load_questions(_write(tmp_path, ""))


def test_unknown_fields_are_kept_in_the_results(answerer, us_quote, tmp_path):
    path = _write(
        tmp_path,
        json.dumps(
            {
                "id": "x",
                "question": "Can I opt out from the US?",
                "answerable": True,
                "evidence": [us_quote],
                "facts": [next(w for w in us_quote.split() if w.isalpha() and len(w) > 3)],
                "owner": "team-a",
            }
        ),
    )
    report = run(answerer, load_questions(path))
    result = report["results"][0]
    assert result["owner"] == "team-a"
    assert result["scores"]["evidence_hit@5"] == 1.0 and result["scores"]["fact_recall"] == 1.0
    assert report["summary"]["n"] == 1


def test_report_writes_markdown_and_plots(answerer, tmp_path):
    from assistant.eval_report import write_report

    lines = [
        json.dumps({"id": f"q{i}", "question": q, "category": c, "answerable": a})
        for i, (q, c, a) in enumerate(
            [("Can I opt out from the US?", "direct", True), ("Does TikTok train on my videos?", "none", False)]
        )
    ]
    report = run(answerer, load_questions(_write(tmp_path, *lines)))
    path = write_report(report, tmp_path / "out", "two questions")
    text = path.read_text("utf-8")
    assert "| abstention_recall | 1.000 |" in text and "| direct | 1 |" in text
    assert "| answer_correct |" in text
    for png in ("metrics_by_category.png", "latency.png"):
        assert (tmp_path / "out" / png).read_bytes().startswith(b"\x89PNG")


def test_every_hand_written_set_passes_the_evidence_lint():
    """Each evidence string names a few sentences, each read and judged to answer (evals/evidence_review.jsonl)."""
    from assistant.eval_lint import lint, load_review
    from assistant.sources import load_corpus

    review = load_review(ROOT / "evals" / "evidence_review.jsonl")
    for evalset in load_sets(ROOT / "evals" / "sets.toml").values():
        if not evalset.lint:
            continue
        report = lint(evalset.name, load_questions(evalset.questions), load_corpus(evalset.corpus).documents, review)
        assert report.ok, (report.problems, report.unreviewed[:3])


def test_the_blind_set_has_the_kinds_of_questions_it_was_written_for():
    questions = load_questions(ROOT / "evals" / "blind.jsonl")
    kinds = {c: sum(q.category == c for q in questions) for c in ("casual", "places", "multi-part", "unanswerable")}
    assert len(questions) >= 50 and kinds["casual"] >= 12 and kinds["places"] >= 10
    assert kinds["multi-part"] >= 8 and kinds["unanswerable"] >= 12


def test_metrics_are_computed_over_questions_that_carry_the_field():
    rows = [
        {
            "answerable": True,
            "abstained": False,
            "latency_ms": 10.0,
            "scores": {"evidence_hit@1": 1.0, "citations": 2.0, "citations_correct": 1.0},
        },
        {"answerable": False, "abstained": True, "latency_ms": 30.0, "scores": {}},
        {"answerable": None, "abstained": True, "latency_ms": 20.0, "scores": {}},
    ]
    s = summarize(rows)
    assert s["evidence_hit@1"] == 1.0 and s["citation_precision"] == 0.5 and s["fact_recall"] is None
    assert s["abstention_precision"] == 1.0 and s["abstention_recall"] == 1.0
    assert s["latency_p50_ms"] == 20.0 and s["n"] == 3


def test_compare_lists_questions_that_got_worse():
    old = {"summary": {"citation_precision": 0.9}, "results": [{"id": "a", "scores": {"citation_precision": 1.0}}]}
    new = {"summary": {"citation_precision": 0.5}, "results": [{"id": "a", "scores": {"citation_precision": 0.5}}]}
    lines = compare(new, old)
    assert any(line.startswith("citation_precision") and "worse" in line for line in lines)
    assert "  a: citation_precision" in lines


def test_golden_eval_meets_the_floors(answerer, tmp_path):
    """The eval set, through the real assistant, against evals/thresholds.toml (what CI gates on)."""
    report = run(answerer, load_questions(QUESTIONS))
    (tmp_path / "report.json").write_text(json.dumps(report["summary"], indent=2))
    failures = check(report["summary"], ROOT / "evals" / "thresholds.toml", "visible")
    assert not failures, failures


def test_unknown_source_in_filters_stops_before_running(answerer, tmp_path):
    path = _write(tmp_path, json.dumps({"id": "x", "question": "Can I opt out?", "filters": {"source": ["nope"]}}))
    with pytest.raises(AssistantError, match=r"question 'x': filters.source names unknown document\(s\) \['nope'\]"):
        run(answerer, load_questions(path))
