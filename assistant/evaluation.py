"""Evaluation: run a question set through the assistant and score it.

File format and report keys follow DESIGN.md ("Eval set format"). A metric is
computed over the questions that carry its field; `category` groups questions in
the report. Unknown fields are kept and copied into the per-question results.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import sys
import time
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .answer import ExtractiveAnswerer, open_answerer
from .config import Settings
from .generate import ClaimChecker, GenerativeAnswerer, choose
from .text import normalize
from .types import Answer, AssistantError, Filters

HIT_KS = (1, 3, 5)
MRR_DEPTH = 10
SUMMARY_KEYS = (
    "evidence_hit@1",
    "evidence_hit@3",
    "evidence_hit@5",
    "mrr",
    "citation_precision",
    "citation_recall",
    "source_recall",
    "fact_recall",
    "abstention_precision",
    "abstention_recall",
    "latency_p50_ms",
    "latency_p95_ms",
)
LOWER_IS_BETTER = ("latency_p50_ms", "latency_p95_ms")


class EvalFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: list[str] | None = None
    jurisdiction: str | None = None


class EvalQuestion(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answerable: bool | None = None
    evidence: list[str] | None = None
    facts: list[str] | None = None
    sources: list[str] | None = None
    filters: EvalFilters | None = None
    category: str | None = None

    def to_filters(self) -> Filters:
        from .jurisdiction import parse_code

        if not self.filters:
            return Filters()
        code = parse_code(self.filters.jurisdiction) if self.filters.jurisdiction else None
        return Filters(tuple(self.filters.source or ()), code)

    @property
    def extra(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def load_questions(path: Path) -> list[EvalQuestion]:
    """Parse and validate a whole eval file before anything runs; errors name file and line."""
    try:
        raw = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise AssistantError(f"{path}: file does not exist") from None
    except UnicodeDecodeError as exc:
        raise AssistantError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    questions: list[EvalQuestion] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssistantError(f"{path}:{n}: bad JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise AssistantError(f"{path}:{n}: each line must be a JSON object")
        try:
            q = EvalQuestion.model_validate(data)
            q.to_filters()
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "line"
            raise AssistantError(f"{path}:{n}: {field}: {err['msg']}") from None
        except ValueError as exc:
            raise AssistantError(f"{path}:{n}: filters.jurisdiction: {exc}") from None
        if q.id in seen:
            raise AssistantError(f"{path}:{n}: duplicate id {q.id!r} (first at line {seen[q.id]})")
        seen[q.id] = n
        questions.append(q)
    if not questions:
        raise AssistantError(f"{path}: no questions in the file")
    return questions


# ---------------------------------------------------------------- scoring


def _contains(haystack: str, needle: str) -> bool:
    return normalize(needle) in normalize(haystack)


def _has_phrase(text: str, phrase: str) -> bool:
    """Phrase match on whole words, after normalisation ("no" does not match "not")."""
    return re.search(rf"(?<!\w){re.escape(normalize(phrase))}(?!\w)", normalize(text)) is not None


def citation_supported(quote: str, evidence: Iterable[str]) -> bool:
    """A citation is correct when it contains an evidence string (or is part of a longer one)."""
    q = normalize(quote)
    return any(normalize(e) in q or (len(q) >= 20 and q in normalize(e)) for e in evidence)


def score(q: EvalQuestion, answer: Answer, ranked: list[str], ranked_docs: list[str]) -> dict[str, float | None]:
    """Per-question scores; None where the question does not carry the field a metric needs."""
    s: dict[str, float | None] = {}
    evidence = q.evidence or []
    if evidence:
        first = next(
            (i for i, text in enumerate(ranked[:MRR_DEPTH]) if any(_contains(text, e) for e in evidence)), None
        )
        for k in HIT_KS:
            s[f"evidence_hit@{k}"] = float(first is not None and first < k)
        s["rr"] = 0.0 if first is None else 1.0 / (first + 1)
        if answer.citations:
            good = [citation_supported(c.quote, evidence) for c in answer.citations]
            s["citation_precision"] = sum(good) / len(good)
        s["citation_recall"] = float(any(citation_supported(c.quote, evidence) for c in answer.citations))
    if q.sources:
        cited = {c.doc_id for c in answer.citations}
        s["source_recall"] = sum(src in cited for src in q.sources) / len(q.sources)
    if q.facts:
        s["fact_recall"] = 0.0 if answer.abstained else sum(_has_phrase(answer.text, f) for f in q.facts) / len(q.facts)
    if q.answerable is not None:
        s["abstention_correct"] = float(answer.abstained == (not q.answerable))
    if answer.generated:  # the model's answer as it was before the claim check
        # every sentence that cites something, counted by the closest sentence of what it cites
        # (a citation of a passage that does not exist counts as wrong)
        quotes = [c.quote for c in answer.claims if c.cites]
        if evidence and quotes:
            s["citation_precision_unchecked"] = sum(citation_supported(c, evidence) for c in quotes) / len(quotes)
        if q.facts:
            s["fact_recall_unchecked"] = sum(_has_phrase(answer.generated, f) for f in q.facts) / len(q.facts)
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
    """The DESIGN.md summary keys over a list of per-question results."""

    def col(key: str) -> list[float]:
        return [r["scores"][key] for r in results if r["scores"].get(key) is not None]

    summary: dict[str, Any] = {f"evidence_hit@{k}": _mean(col(f"evidence_hit@{k}")) for k in HIT_KS}
    summary["mrr"] = _mean(col("rr"))
    for key in ("citation_precision", "citation_recall", "source_recall", "fact_recall"):
        summary[key] = _mean(col(key))
    rated = [r for r in results if r.get("answerable") is not None]
    abstained = [r for r in rated if r["abstained"]]
    unanswerable = [r for r in rated if not r["answerable"]]
    summary["abstention_precision"] = (
        sum(not r["answerable"] for r in abstained) / len(abstained) if abstained else None
    )
    summary["abstention_recall"] = (
        sum(r["abstained"] for r in unanswerable) / len(unanswerable) if unanswerable else None
    )
    summary["false_abstention_rate"] = (
        sum(r["abstained"] for r in rated if r["answerable"]) / max(1, sum(1 for r in rated if r["answerable"]))
        if rated
        else None
    )
    for key in ("citation_precision_unchecked", "fact_recall_unchecked"):
        if col(key):
            summary[key] = _mean(col(key))
    claims = [c for r in results for c in r.get("claims", [])]
    if claims:  # sentences put through the claim check (generated, or the extractive self-test)
        summary["claims_checked"] = len(claims)
        summary["claims_removed"] = sum(not c["supported"] for c in claims)
        summary["claims_removed_share"] = summary["claims_removed"] / len(claims)
    kinds = [r.get("answerer") for r in results if not r["abstained"]]
    if "llm" in kinds or "extractive-fallback" in kinds:
        summary["fallback_rate"] = kinds.count("extractive-fallback") / len(kinds)
        firsts = [r["first_token_ms"] for r in results if r.get("first_token_ms") is not None]
        summary["first_token_p50_ms"] = percentile(firsts, 50)
        summary["first_token_p95_ms"] = percentile(firsts, 95)
    latencies = [r["latency_ms"] for r in results]
    summary["latency_p50_ms"] = percentile(latencies, 50)
    summary["latency_p95_ms"] = percentile(latencies, 95)
    summary["n"] = len(results)
    return summary


# ---------------------------------------------------------------- running


def _progress(items: list[Any], quiet: bool, desc: str) -> Iterable[Any]:
    if quiet:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="q", file=sys.stderr, mininterval=0.5, dynamic_ncols=True)


def run(
    answerer: ExtractiveAnswerer | GenerativeAnswerer, questions: list[EvalQuestion], quiet: bool = True
) -> dict[str, Any]:
    """Answer every question and score it. Returns {"summary", "by_category", "results"}.

    Generated answers carry the claim check's verdict on each sentence; extractive
    answers are put through the same check as a self-test (every sentence should pass).
    """
    checker = answerer.checker if isinstance(answerer, GenerativeAnswerer) else _self_test_checker(answerer)
    known = answerer.index.documents
    for q in questions:  # fail before running anything, not halfway through
        missing = [src for src in q.to_filters().sources if src not in known]
        if missing:
            raise AssistantError(f"question {q.id!r}: filters.source names unknown document(s) {missing}")
    answerer.answer("warm-up question about the documents")  # first call loads the model; not a latency sample
    results: list[dict[str, Any]] = []
    for q in _progress(questions, quiet, "eval"):
        filters = q.to_filters()
        t0 = time.perf_counter()
        answer = answerer.answer(q.question, filters)
        latency = (time.perf_counter() - t0) * 1000
        ranked = answerer.retriever.retrieve(q.question, MRR_DEPTH, filters, asker=answer.jurisdiction)
        texts = [p.chunk.text for p in ranked]
        docs = [p.chunk.doc_id for p in ranked]
        results.append(
            {
                **q.extra,
                "id": q.id,
                "question": q.question,
                "category": q.category or "uncategorised",
                "answerable": q.answerable,
                "abstained": answer.abstained,
                "answer": answer.text,
                "jurisdiction": answer.jurisdiction,
                "citations": [
                    {
                        "n": c.n,
                        "doc_id": c.doc_id,
                        "chunk_id": c.chunk_id,
                        "quote": c.quote,
                        "start": c.start,
                        "end": c.end,
                    }
                    for c in answer.citations
                ],
                "passages": docs,
                "passage_ids": [p.chunk.id for p in ranked],
                "scores": score(q, answer, texts, docs),
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


def calibrate(answerer: ExtractiveAnswerer, questions: list[EvalQuestion], quiet: bool = True) -> dict[str, Any]:
    """Fit the abstention rule on questions marked `answerable`.

    The assistant abstains when best_relevance - coverage_weight * uncovered_share falls
    below abstain_threshold. Both are chosen here to maximise balanced accuracy
    (answerable answered, unanswerable abstained); among equally good cuts the middle
    one is taken, the least sensitive to noise.
    """
    rated = [q for q in questions if q.answerable is not None]
    if not any(q.answerable for q in rated) or all(q.answerable for q in rated):
        raise AssistantError("calibration needs both answerable and unanswerable questions (field 'answerable')")
    points = []  # (best, uncovered, other rule abstains, answerable)
    for q in _progress(rated, quiet, "calibrate"):
        best, uncovered, other = answerer.evidence_score(q.question, q.to_filters())
        points.append((best, uncovered, other, bool(q.answerable)))

    def balanced(weight: float, cut: float) -> float:
        abstains = [other or best - weight * unc < cut for best, unc, other, _ in points]
        pos = [a for a, p in zip(abstains, points, strict=True) if not p[3]]
        neg = [a for a, p in zip(abstains, points, strict=True) if p[3]]
        return (sum(pos) / len(pos) + sum(not a for a in neg) / len(neg)) / 2

    best_fit = (-1.0, 0.0, 0.0)
    for step in range(0, 21):
        weight = step * 0.05
        scores = sorted({b - weight * u for b, u, _, _ in points})
        cuts = [(a + b) / 2 for a, b in itertools.pairwise(scores)] or [scores[0]]
        values = [balanced(weight, c) for c in cuts]
        top = max(values)
        if top > best_fit[0] + 1e-9:
            plateau = [c for c, v in zip(cuts, values, strict=True) if v == top]
            best_fit = (top, weight, plateau[len(plateau) // 2])
    accuracy, weight, cut = best_fit
    return {
        "abstain_threshold": round(cut, 4),
        "coverage_weight": round(weight, 2),
        "balanced_accuracy": round(accuracy, 4),
        "n": len(points),
    }


def calibrate_claims(answerer: ExtractiveAnswerer, questions: list[EvalQuestion], quiet: bool = True) -> dict[str, Any]:
    """Fit the claim check's support threshold.

    Each evidence string of an answerable question is a claim. Cited against a retrieved
    passage that holds it, it is supported; cited against a retrieved passage that holds
    none of the question's evidence (on topic, but not the source of that fact), it is
    not. The threshold maximises balanced accuracy over those two groups.
    """
    checker = _self_test_checker(answerer)
    points: list[tuple[float, bool]] = []
    for q in _progress([q for q in questions if q.answerable is not False and q.evidence], quiet, "claims"):
        evidence = q.evidence or []
        passages = tuple(answerer.retriever.retrieve(q.question, answerer.settings.top_k, q.to_filters()))
        holding = [any(_contains(p.chunk.text, e) for e in evidence) for p in passages]
        others = [n for n, h in enumerate(holding, start=1) if not h][:2]
        for e in evidence:
            for n, p in enumerate(passages, start=1):
                if _contains(p.chunk.text, e):
                    points.append((checker.support(e, (n,), passages).score, True))
                    break
            else:
                continue
            points.extend((checker.support(e, (n,), passages).score, False) for n in others)
    pos = [sc for sc, ok in points if ok]
    neg = [sc for sc, ok in points if not ok]
    if not pos or not neg:
        raise AssistantError("claim calibration needs answerable questions with evidence strings")
    scores = sorted({sc for sc, _ in points})
    cuts = [(a + b) / 2 for a, b in itertools.pairwise(scores)] or scores

    def balanced(cut: float) -> float:
        return (sum(sc >= cut for sc in pos) / len(pos) + sum(sc < cut for sc in neg) / len(neg)) / 2

    values = [balanced(c) for c in cuts]
    top = max(values)
    plateau = [c for c, v in zip(cuts, values, strict=True) if v == top]
    return {
        "claim_threshold": round(plateau[len(plateau) // 2], 4),
        "claim_balanced_accuracy": round(top, 4),
        "claim_pairs": len(points),
    }


def _self_test_checker(answerer: ExtractiveAnswerer | GenerativeAnswerer) -> ClaimChecker:
    from .answer import load_claim_threshold

    return ClaimChecker(answerer.index, answerer.encode, load_claim_threshold(answerer.settings))


# ---------------------------------------------------------------- checking and comparing


def check(summary: dict[str, Any], thresholds_path: Path) -> list[str]:
    """Failures against evals/thresholds.toml ([floors] minimums, [ceilings] maximums)."""
    try:
        data = tomllib.loads(thresholds_path.read_text("utf-8"))
    except FileNotFoundError:
        raise AssistantError(f"{thresholds_path}: file does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise AssistantError(f"{thresholds_path}: TOML syntax error: {exc}") from None
    failures = []
    for key, floor in data.get("floors", {}).items():
        value = summary.get(key)
        if value is None or value < floor:
            failures.append(f"{key} = {_fmt(value)} is below the floor {floor}")
    for key, ceiling in data.get("ceilings", {}).items():
        value = summary.get(key)
        if value is None or value > ceiling:
            failures.append(f"{key} = {_fmt(value)} is above the ceiling {ceiling}")
    return failures


def compare(new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    """Lines: per-metric deltas, then the questions that got worse."""
    lines = ["metric                  old      new      delta"]
    for key in SUMMARY_KEYS:
        a, b = old.get("summary", {}).get(key), new["summary"].get(key)
        if a is None and b is None:
            continue
        delta = (b - a) if a is not None and b is not None else None
        worse = delta is not None and ((delta > 0) if key in LOWER_IS_BETTER else (delta < 0))
        lines.append(f"{key:22} {_fmt(a):>8} {_fmt(b):>8} {_fmt(delta, signed=True):>9}" + ("  worse" if worse else ""))
    before = {r["id"]: r for r in old.get("results", [])}
    worse_rows = []
    for r in new["results"]:
        o = before.get(r["id"])
        if not o:
            continue
        drops = [
            k
            for k, v in r["scores"].items()
            if k != "latency_ms" and v is not None and o["scores"].get(k) is not None and v < o["scores"][k]
        ]
        if drops:
            worse_rows.append(f"  {r['id']}: {', '.join(drops)}")
    lines.append(f"questions that got worse: {len(worse_rows)}")
    lines.extend(worse_rows)
    return lines


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    if abs(value) >= 10:
        return f"{value:+.0f}" if signed else f"{value:.0f}"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def format_summary(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = [f"{s['n']} questions"]
    for key in (*SUMMARY_KEYS, "false_abstention_rate"):
        lines.append(f"  {key:22} {_fmt(s.get(key))}")
    if "claims_checked" in s:
        lines.append(
            f"  claim check: {s['claims_removed']} of {s['claims_checked']} sentences removed "
            f"({s['claims_removed_share']:.1%})"
        )
    for key in ("citation_precision_unchecked", "fact_recall_unchecked", "fallback_rate"):
        if key in s:
            lines.append(f"  {key:22} {_fmt(s[key])}")
    for key in ("first_token_p50_ms", "first_token_p95_ms"):
        if s.get(key) is not None:
            lines.append(f"  {key:22} {s[key]:.0f}")
    return "\n".join(lines)


def write_report(report: dict[str, Any], out_dir: Path, title: str) -> Path:
    """report.md with tables, plus metrics_by_category.png and latency.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    cats = report["by_category"]
    shown = ["evidence_hit@5", "citation_precision", "fact_recall", "abstention_recall"]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(cats)), 4))
    width = 0.8 / len(shown)
    for i, key in enumerate(shown):
        values = [cats[c].get(key) if cats[c].get(key) is not None else math.nan for c in cats]
        ax.bar([x + i * width for x in range(len(cats))], values, width, label=key)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(cats))], list(cats), rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title("Metrics per category")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(out_dir / "metrics_by_category.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist([r["latency_ms"] for r in report["results"]], bins=30)
    ax.set_xlabel("answer latency (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Latency distribution")
    fig.tight_layout()
    fig.savefig(out_dir / "latency.png", dpi=110)
    plt.close(fig)

    lines = [f"# Evaluation: {title}", "", "## Summary", "", "| metric | value |", "|---|---|"]
    summary = report["summary"]
    extra = (
        "claims_checked",
        "claims_removed",
        "claims_removed_share",
        "citation_precision_unchecked",
        "fact_recall_unchecked",
        "fallback_rate",
        "first_token_p50_ms",
        "first_token_p95_ms",
    )
    lines += [f"| {k} | {_fmt(summary.get(k))} |" for k in (*SUMMARY_KEYS, "n", *extra) if k in summary]
    removed = [(r["id"], c) for r in report["results"] for c in r.get("claims", []) if not c["supported"]]
    if removed:
        lines += ["", f"## Sentences the claim check removed ({len(removed)})", ""]
        lines += [f"- **{qid}**: {c['text'][:200]}  \n  _{c['reason']}_" for qid, c in removed]
    lines += [
        "",
        "## Per category",
        "",
        "| category | n | hit@5 | cit. precision | fact recall | abst. recall |",
        "|---|---|---|---|---|---|",
    ]
    for c, s in cats.items():
        lines.append(
            f"| {c} | {s['n']} | {_fmt(s['evidence_hit@5'])} | {_fmt(s['citation_precision'])} | "
            f"{_fmt(s['fact_recall'])} | {_fmt(s['abstention_recall'])} |"
        )
    lines += [
        "",
        "![metrics per category](metrics_by_category.png)",
        "",
        "![latency](latency.png)",
        "",
        "## Questions that missed",
        "",
    ]
    for r in report["results"]:
        bad = [k for k, v in r["scores"].items() if v is not None and v < 1]
        if bad:
            lines.append(f"- **{r['id']}** ({', '.join(bad)}): {r['question']}  \n  answer: {r['answer'][:300]}")
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def affected_questions(path: Path, doc_ids: Iterable[str]) -> list[str]:
    """Ids of the questions in `path` whose expected sources include any of doc_ids."""
    touched = set(doc_ids)
    try:
        return [q.id for q in load_questions(path) if touched & set(q.sources or ())]
    except AssistantError:
        return []


def last_touched(settings: Settings) -> list[str]:
    """Documents added, changed or removed by the last refresh (from changes.jsonl)."""
    path = settings.home / "changes.jsonl"
    try:
        last = path.read_text("utf-8").strip().splitlines()[-1]
        record = json.loads(last)
    except (OSError, IndexError, ValueError):
        raise AssistantError(f"{path}: no refresh recorded yet; run 'assistant refresh'") from None
    return [d["id"] for d in record.get("documents", []) if d.get("status") in ("added", "changed", "removed")]


def main(settings: Settings, args: argparse.Namespace) -> int:
    """`assistant eval`: see the command's --help."""
    questions = load_questions(args.questions)  # validate everything before running anything
    if getattr(args, "only_affected", False):
        touched = set(last_touched(settings))
        questions = [q for q in questions if touched & set(q.sources or ())]
        if not questions:
            print("No eval question depends on the documents the last refresh changed.")
            return 0
        print(f"{len(questions)} questions depend on the documents the last refresh changed: {sorted(touched)}")
    extractive = open_answerer(settings, args.retriever, on_build=lambda m: print(m, file=sys.stderr))
    if args.calibrate:
        result = calibrate(extractive, questions, quiet=args.quiet)
        result.update(calibrate_claims(extractive, questions, quiet=args.quiet))
        settings.home.mkdir(parents=True, exist_ok=True)
        (settings.home / "calibration.json").write_text(
            json.dumps({**result, "calibrated_on": str(args.questions)}, indent=2), "utf-8"
        )
        print(
            f"abstain_threshold {result['abstain_threshold']}, coverage_weight {result['coverage_weight']} "
            f"(balanced accuracy {result['balanced_accuracy']} on {result['n']} questions); "
            f"claim_threshold {result['claim_threshold']} (balanced accuracy {result['claim_balanced_accuracy']} "
            f"on {result['claim_pairs']} claim/passage pairs); saved to {settings.home / 'calibration.json'}"
        )
        return 0
    answerer: ExtractiveAnswerer | GenerativeAnswerer = extractive
    if choose(settings, getattr(args, "answerer", None) or "extractive") == "llm":
        answerer = GenerativeAnswerer(extractive, settings)
    report = run(answerer, questions, quiet=args.quiet)
    report["config"] = {
        "questions": str(args.questions),
        "retriever": args.retriever,
        "answerer": "llm" if isinstance(answerer, GenerativeAnswerer) else "extractive",
        "llm_url": settings.llm_url if isinstance(answerer, GenerativeAnswerer) else None,
        "llm_model": settings.llm_model if isinstance(answerer, GenerativeAnswerer) else None,
        "embed_model": settings.embed_model,
        "abstain_threshold": extractive.threshold,
        "coverage_weight": extractive.coverage_weight,
        "claim_threshold": _self_test_checker(extractive).threshold,
    }
    print(format_summary(report))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
    if args.report:
        print(f"report: {write_report(report, args.report, str(args.questions))}")
    if args.compare:
        try:
            old = json.loads(args.compare.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise AssistantError(f"{args.compare}: cannot read an earlier report ({exc})") from None
        print("\n".join(compare(report, old)))
    if args.check:
        failures = check(report["summary"], args.thresholds)
        for f in failures:
            print(f"below floor: {f}", file=sys.stderr)
        if failures:
            return 1
        print(f"all floors in {args.thresholds} met")
    return 0


# ---------------------------------------------------------------- feedback -> eval questions


def feedback_to_questions(feedback_path: Path, rating: str = "all") -> list[dict[str, Any]]:
    """Rated answers from the web chat as eval questions (the DESIGN.md format).

    Thumbs up: the answer was right, so its citations become the evidence (or, for an
    abstention, the question becomes an unanswerable one). Thumbs down: the question is
    kept with `needs_review` and the rejected answer, for a maintainer to fill in.
    The latest rating of a question wins.
    """
    import hashlib

    try:
        lines = feedback_path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        raise AssistantError(f"{feedback_path}: no feedback yet (rate answers in the web chat first)") from None
    latest: dict[str, dict[str, Any]] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = normalize(record["question"])
        except (ValueError, KeyError, TypeError):
            raise AssistantError(f"{feedback_path}:{n}: not a feedback record") from None
        latest[key] = record
    out = []
    for key, r in latest.items():
        if rating != "all" and r.get("rating") != rating:
            continue
        qid = "fb-" + hashlib.sha1(key.encode()).hexdigest()[:10]
        row: dict[str, Any] = {"id": qid, "question": r["question"], "category": "feedback"}
        if r.get("jurisdiction"):
            row["filters"] = {"jurisdiction": r["jurisdiction"]}
        if r.get("rating") == "up":
            row["answerable"] = not r.get("abstained", False)
            row["evidence"] = [c["quote"] for c in r.get("citations", [])]
            row["sources"] = sorted({c["doc_id"] for c in r.get("citations", [])})
        else:
            row["needs_review"] = True
            row["rejected_answer"] = r.get("answer", "")
        out.append(row)
    return out
