"""Presenting eval results: the terminal summary, floors, comparisons, the Markdown report."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from .eval_score import LOWER_IS_BETTER, SUMMARY_KEYS
from .types import AssistantError

# The figures a maintainer reads first, in this order, for every set side by side.
HEADLINE = (
    "answer_correct",
    "citation_precision",
    "abstention_precision",
    "abstention_recall",
    "evidence_hit@1",
    "evidence_hit@5",
    "fact_recall",
    "parts_cited",
    "current_first",
    "stale_unmarked",
    "conflicts_shown",
    "latency_p50_ms",
)
EXTRA = (
    "claims_checked",
    "claims_removed",
    "claims_removed_share",
    "citation_precision_unchecked",
    "fact_recall_unchecked",
    "fallback_rate",
    "first_token_p50_ms",
    "first_token_p95_ms",
)


def fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) and not signed:
        return str(value)
    if abs(value) >= 10:
        return f"{value:+.0f}" if signed else f"{value:.0f}"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def check(summary: dict[str, Any], thresholds_path: Path, set_name: str) -> list[str]:
    """Failures against the set's [NAME.floors] minimums and [NAME.ceilings] maximums."""
    try:
        data = tomllib.loads(thresholds_path.read_text("utf-8"))
    except FileNotFoundError:
        raise AssistantError(f"{thresholds_path}: file does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise AssistantError(f"{thresholds_path}: TOML syntax error: {exc}") from None
    table = data.get(set_name)
    if not isinstance(table, dict):
        raise AssistantError(f"{thresholds_path}: no [{set_name}.floors] for the set {set_name!r}")
    failures = []
    for key, floor in table.get("floors", {}).items():
        value = summary.get(key)
        if value is None or value < floor:
            failures.append(f"{set_name}: {key} = {fmt(value)} is below the floor {floor}")
    for key, ceiling in table.get("ceilings", {}).items():
        value = summary.get(key)
        if value is None or value > ceiling:
            failures.append(f"{set_name}: {key} = {fmt(value)} is above the ceiling {ceiling}")
    return failures


# complexity: one branch per kind of change the comparison reports
def compare(new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    """Lines: per-metric deltas, then the questions that got worse."""
    lines = ["metric                            old      new      delta"]
    for key in SUMMARY_KEYS:
        a, b = old.get("summary", {}).get(key), new["summary"].get(key)
        if a is None and b is None:
            continue
        delta = (b - a) if a is not None and b is not None else None
        worse = delta is not None and ((delta > 0) if key in LOWER_IS_BETTER else (delta < 0))
        lines.append(f"{key:32} {fmt(a):>8} {fmt(b):>8} {fmt(delta, signed=True):>9}" + ("  worse" if worse else ""))
    before = {r["id"]: r for r in old.get("results", [])}
    worse_rows = []
    for r in new["results"]:
        o = before.get(r["id"])
        if not o:
            continue
        drops = [
            k
            for k, v in r["scores"].items()
            if k not in ("citations", "citations_correct")
            and v is not None
            and o["scores"].get(k) is not None
            and ((v > o["scores"][k]) if k in LOWER_IS_BETTER else (v < o["scores"][k]))
        ]
        if drops:
            worse_rows.append(f"  {r['id']}: {', '.join(drops)}")
    lines.append(f"questions that got worse: {len(worse_rows)}")
    lines.extend(worse_rows)
    return lines


def format_summary(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = [f"{s['n']} questions, {s.get('citations', 0)} citations"]
    for key in (*SUMMARY_KEYS, "false_abstention_rate", "answered_unanswerable"):
        if s.get(key) is not None:
            lines.append(f"  {key:32} {fmt(s.get(key))}")
    if "claims_checked" in s:
        lines.append(
            f"  claim check: {s['claims_removed']} of {s['claims_checked']} sentences removed "
            f"({s['claims_removed_share']:.1%})"
        )
    for key in ("citation_precision_unchecked", "fact_recall_unchecked", "fallback_rate"):
        if key in s:
            lines.append(f"  {key:32} {fmt(s[key])}")
    for key in ("first_token_p50_ms", "first_token_p95_ms"):
        if s.get(key) is not None:
            lines.append(f"  {key:32} {s[key]:.0f}")
    return "\n".join(lines)


def side_by_side(reports: dict[str, dict[str, Any]]) -> str:
    """A Markdown table: one row per headline metric, one column per set."""
    names = list(reports)
    rows = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    rows.append("| questions | " + " | ".join(str(reports[n]["summary"]["n"]) for n in names) + " |")
    for key in HEADLINE:
        values = [reports[n]["summary"].get(key) for n in names]
        if all(v is None for v in values):
            continue
        rows.append(f"| {key} | " + " | ".join(fmt(v) for v in values) + " |")
    return "\n".join(rows)


def _plot_categories(report: dict[str, Any], out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cats = report["by_category"]
    shown = ["answer_correct", "citation_precision", "abstention_recall"]
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


RELIABILITY_BINS = 5


def reliability(results: list[dict[str, Any]]) -> list[tuple[float, float, float, int]]:
    """(bin low, mean predicted, observed share answerable, n) for the questions that say
    whether they are answerable: how well the answerer's confidence is calibrated."""
    rated = [r for r in results if r.get("answerable") is not None and r.get("confidence") is not None]
    rows = []
    for b in range(RELIABILITY_BINS):
        lo, hi = b / RELIABILITY_BINS, (b + 1) / RELIABILITY_BINS
        inbin = [r for r in rated if lo <= r["confidence"] < hi or (b == RELIABILITY_BINS - 1 and r["confidence"] == 1)]
        if inbin:
            mean = sum(r["confidence"] for r in inbin) / len(inbin)
            rows.append((lo, mean, sum(bool(r["answerable"]) for r in inbin) / len(inbin), len(inbin)))
    return rows


def _plot_reliability(rows: list[tuple[float, float, float, int]], threshold: float | None, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="perfectly calibrated")
    ax.plot([r[1] for r in rows], [r[2] for r in rows], marker="o", label="this set")
    for _, x, y, n in rows:
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    if threshold is not None:
        ax.axvline(threshold, color="tab:red", linestyle=":", label=f"answers at >= {threshold:.2f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("predicted P(the documents answer)")
    ax.set_ylabel("observed share answerable")
    ax.set_title("Reliability of the decision to answer")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(out_dir / "reliability.png", dpi=110)
    plt.close(fig)


def write_report(report: dict[str, Any], out_dir: Path, title: str) -> Path:
    """report.md with tables, plus metrics_by_category.png and latency.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _plot_categories(report, out_dir)
    summary = report["summary"]
    lines = [f"# Evaluation: {title}", "", "## Summary", "", "| metric | value |", "|---|---|"]
    keys = (*SUMMARY_KEYS, "false_abstention_rate", "answered_unanswerable", "n", "citations", *EXTRA)
    lines += [f"| {k} | {fmt(summary.get(k))} |" for k in keys if summary.get(k) is not None]
    removed = [(r["id"], c) for r in report["results"] for c in r.get("claims", []) if not c["supported"]]
    if removed:
        lines += ["", f"## Sentences the claim check removed ({len(removed)})", ""]
        lines += [f"- **{qid}**: {c['text'][:200]}  \n  _{c['reason']}_" for qid, c in removed]
    lines += [
        "",
        "## Per category",
        "",
        "| category | n | answer correct | cit. precision | abst. recall | hit@1 |",
        "|---|---|---|---|---|---|",
    ]
    for c, s in report["by_category"].items():
        lines.append(
            f"| {c} | {s['n']} | {fmt(s['answer_correct'])} | {fmt(s['citation_precision'])} | "
            f"{fmt(s['abstention_recall'])} | {fmt(s['evidence_hit@1'])} |"
        )
    lines += ["", "![metrics per category](metrics_by_category.png)", "", "![latency](latency.png)", ""]
    rows = reliability(report["results"])
    if rows:
        threshold = report.get("config", {}).get("abstain_threshold")
        _plot_reliability(rows, threshold, out_dir)
        lines += [
            "## Reliability of the decision to answer",
            "",
            "Questions binned by the answerer's confidence (the fitted P(the documents answer));",
            "a calibrated answerer's observed share is close to its mean prediction.",
            "",
            "| confidence | n | mean predicted | observed answerable |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {lo:.1f}-{lo + 1 / RELIABILITY_BINS:.1f} | {n} | {fmt(mean)} | {fmt(obs)} |"
            for lo, mean, obs, n in rows
        ]
        lines += ["", "![reliability](reliability.png)", ""]
    lines += ["## Questions answered wrongly", ""]
    for r in report["results"]:
        if r["scores"].get("answer_correct") == 0.0:
            lines.append(f"- **{r['id']}**: {r['question']}  \n  answer: {r['answer'][:300]}")
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path
