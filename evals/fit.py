"""Fit the sentence scorer and the decision to answer (`make fit`) on the fit sets only,
and print their held-out figures.

    python evals/fit.py [--reuse] [--quiet] [--no-write]

Fit data (never the report sets `blind`, `evolving-real`, `policyqa-report`):
  - the PolicyQA fit policies (evals/policyqa/split.toml), and
  - the fit sets `visible`, `dev`, `dev2`, `dev3`, `evolving` and `evolving2` (FIT_SETS;
    evals/README.md; `evolving` and `evolving2` have corpora of their own). `evolving3` and
    `dev4` are not fitted on: adding either lowered the out-of-fold figures.

0. The query adapter (fit_adapter.py, assistant/adapter.py): a linear map of the question's
   vector, fitted on (question, answering sentence) pairs. Each question's candidates below
   are gathered with an adapter fitted without its group, so the scorer learns from
   similarities as they will be on documents the adapter has not seen.

1. The sentence scorer. Every candidate sentence the answerer considers for a fit question
   is one row of features (assistant/scoring.py FEATURES), labelled by the eval's own
   credit rule: the sentence holds an evidence string of the question (questions the
   documents do not answer give rows labelled 0 only). A logistic regression (scikit-learn)
   on standardised features; its regularisation is chosen by cross-validation over whole
   groups (a PolicyQA policy, or a seed-corpus set), and the figures printed are out of
   fold: every question is scored by a model fitted without its group, beside the score the
   answerer used before (hand_score below) and cosine similarity alone.
2. The decision to answer. One row per question: DECISION_FEATURES below, from the
   scorer's out-of-fold probabilities; label: the question is answerable. A logistic
   regression in which the PolicyQA policies together weigh as much as one seed-corpus set
   (source_weights). Its threshold is chosen for a stated precision: the lowest at which,
   out of fold on the seed-corpus fit sets (the only fit sets with unanswerable questions),
   at least ANSWER_PRECISION (assistant/calibration.py) of the questions answered are
   answerable. Questions another rule decides (an unknown name; no date for a "when") are
   left out.

Both are written to assistant/scorer.json. The gathered rows are cached in
build/fit/rows.npz (--reuse skips the gathering when they have the current features).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "evals"))

import fit_adapter  # noqa: E402  (evals/fit_adapter.py)

BUILD = ROOT / "build" / "fit"
ROWS = BUILD / "rows.npz"
FIT_SETS = ("visible", "dev", "dev2", "dev3", "evolving", "evolving2")
# The inputs of the decision to answer (scoring.DECISION_INPUTS). Out of fold, adding
# "overlap" raised balanced accuracy on the seed-corpus sets (0.877 -> 0.892) but the
# PolicyQA fit questions answered fell from 0.918 to 0.768 and abstention precision on
# `visible` from 0.923 to 0.684; "uncovered" and "overlap" alone: 0.896, 0.947, 0.684.
# With the query adapter and the sets dev2 and evolving2, splitting the uncovered share into
# dictionary words and other words (slang, abbreviations, names) took the weighted balanced
# accuracy from 0.780 to 0.781 and, out of fold, abstention precision on visible from 0.667
# to 0.737 and on dev2 from 0.522 to 0.667 (recall 0.600 -> 0.500), PolicyQA fit questions
# answered from 91.7% to 94.2%; the other words' weight came out near zero.
DECISION_FEATURES = ("best", "uncovered", "uncovered_other")
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def gather(quiet: bool) -> dict[str, np.ndarray]:
    """Rows of every fit question's candidates: features, label, hand score, question and group."""
    import policyqa

    from assistant import jurisdiction as jur
    from assistant.adapter import QueryAdapter
    from assistant.answer import CANDIDATE_PASSAGES
    from assistant.config import Settings
    from assistant.coverage import question_terms, unknown_names
    from assistant.eval_score import holds
    from assistant.eval_set import EvalSet, load_questions, load_sets
    from assistant.evaluation import open_for_set
    from assistant.question import missing_answer_type
    from assistant.scoring import N_FEATURES

    policyqa.convert()
    sets = load_sets(ROOT / "evals" / "sets.toml")
    chosen = [EvalSet("policyqa-fit", policyqa.BUILD / "fit.jsonl", policyqa.BUILD / "corpus")]
    chosen += [sets[name] for name in FIT_SETS]
    settings = Settings.from_env()
    opened = []
    items: list[fit_adapter.Item] = []
    for evalset in chosen:
        answerer = open_for_set(settings, evalset, "hybrid", quiet, scorer=hand_score)
        questions = load_questions(evalset.questions)
        vectors, doc_ids, texts = fit_adapter.scope_sentences(answerer.index)
        for q in questions:
            evidence = q.evidence or []
            if q.answerable is False or not evidence:
                continue
            group = _group(evalset.name, q)
            scope = np.flatnonzero(doc_ids == group) if evalset.name == "policyqa-fit" else np.arange(len(texts))
            answers = np.array([holds(texts[i], evidence) for i in scope])
            if answers.any():
                question = answerer.encode(answerer.search_text(q.question))
                items.append(fit_adapter.Item(group, question, vectors[scope], answers))
        opened.append((evalset, answerer, questions))
    log(f"query adapter: {len(items)} questions; fitting it without each group in turn")
    t0 = time.perf_counter()
    folds = fit_adapter.out_of_fold(items)
    adapter = fit_adapter.train(items)
    log(f"  {time.perf_counter() - t0:.0f} s")
    model = str(getattr(opened[0][1].index.embedder, "model", ""))

    feats, labels, hand, qids, groups = [], [], [], [], []
    term_q, term_w, term_cos, term_en, term_imp, other, rated = [], [], [], [], [], [], []
    names: list[str] = []
    qn = 0
    for evalset, answerer, questions in opened:
        log(f"gather {evalset.name}: {len(questions)} questions")
        t0 = time.perf_counter()
        docs = answerer.index.documents
        for q in questions:
            group = _group(evalset.name, q)
            # Out of fold: the question is searched with an adapter fitted without its group.
            answerer.encode.adapter = QueryAdapter(folds.get(group, adapter), model)
            query = answerer.search_text(q.question)
            filters = answerer._as_of(q.to_filters())
            asker = filters.jurisdiction or jur.for_question(q.question, answerer.index.uses)
            passages = answerer.retriever.retrieve(query, CANDIDATE_PASSAGES, filters, asker=asker)
            found, rows = answerer.candidate_features(query, passages, asker)
            answerable = q.answerable is not False
            evidence = q.evidence or []
            for (chunk, start, end, _, _), _row in zip(found, rows, strict=True):
                labels.append(bool(answerable and evidence and holds(docs[chunk.doc_id].text[start:end], evidence)))
            feats.append(rows.reshape(-1, N_FEATURES))
            hand.append(hand_score(rows))
            qids += [qn] * len(found)
            groups += [group] * len(found)
            names.append(f"{evalset.name}:{q.id}")
            for term in question_terms(answerer.index, answerer.encode, query):
                term_q.append(qn)
                term_w.append(term.weight)
                term_cos.append(np.nan if term.nearest is None else term.nearest)
                term_en.append(term.english)
                term_imp.append(term.importance)
            order = np.argsort(-hand[-1], kind="stable")[:8]
            text = " ".join(docs[found[i][0].doc_id].text[found[i][1] : found[i][2]] for i in order)
            unknown = unknown_names(answerer.index, answerer.encode, query)
            other.append(bool(unknown) or missing_answer_type(query, text) is not None)
            rated.append(-1 if q.answerable is None else int(q.answerable))
            qn += 1
        log(f"  {time.perf_counter() - t0:.0f} s")
        answerer.index.close()
    adapter_report(items, folds)
    data = {
        "x": np.concatenate(feats),
        "y": np.asarray(labels, dtype=bool),
        "hand": np.concatenate(hand),
        "q": np.asarray(qids),
        "group": np.asarray(groups),
        "names": np.asarray(names),
        "term_q": np.asarray(term_q, dtype=int),
        "term_w": np.asarray(term_w),
        "term_cos": np.asarray(term_cos),
        "term_en": np.asarray(term_en, dtype=bool),
        "term_imp": np.asarray(term_imp),
        "other": np.asarray(other, dtype=bool),
        "answerable": np.asarray(rated),
        "adapter": adapter,
        "adapter_model": np.asarray(model),
    }
    BUILD.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(ROWS, **data)  # type: ignore[arg-type]
    return data


def _group(set_name: str, q: Any) -> str:
    """A question's fold: its PolicyQA policy, or its seed-corpus set."""
    return str(q.sources[0]) if set_name == "policyqa-fit" and q.sources else set_name


def adapter_report(items: list[Any], folds: dict[str, np.ndarray]) -> None:
    """Dense sentence hit@1 over each question's scope, with the question's own vector and
    with the adapter fitted without its group."""
    print(f"{'query adapter, out of fold':<28}{'own vector':>14}{'adapted':>14}")
    parts = {"PolicyQA fit": [it for it in items if it.group not in FIT_SETS]}
    parts.update({name: [it for it in items if it.group == name] for name in FIT_SETS})
    for part, chosen in parts.items():
        own = fit_adapter.hit_at_1(chosen, None)
        moved = [h for it in chosen for h in fit_adapter.hit_at_1([it], folds[it.group])]
        print(f"{part + f' ({len(chosen)} q)':<28}{np.mean(own):>14.3f}{np.mean(moved):>14.3f}")


def hand_score(rows: np.ndarray) -> np.ndarray:
    """The score the answerer used before a scorer was fitted, as a baseline `make fit`
    prints beside the fitted one: 0.6 sentence + 0.2 passage + 0.2 overlap similarity,
    +0.1 for a how-to step or a wanted date / figure, x1.5 / x1.3 / x0.7 by place."""
    from assistant.scoring import FEATURES

    if not len(rows):
        return np.zeros(0)
    f = {name: rows[:, i] for i, name in enumerate(FEATURES)}
    rel = (
        0.6 * f["sentence_sim"] + 0.2 * f["passage_sim"] + 0.2 * f["overlap"] + 0.1 * (f["procedure"] + f["type_match"])
    )
    weight = 1.0 + 0.5 * f["place_match"] + 0.3 * f["place_general"] - 0.3 * f["place_mismatch"]
    return rel * weight


def hit_at_1(score: np.ndarray, y: np.ndarray, q: np.ndarray, keep: np.ndarray) -> tuple[float, int]:
    """Share of the questions (with an answer among their candidates, within `keep`) whose
    best-scored candidate holds an answer."""
    hits = []
    for qn in np.unique(q[keep]):
        rows = np.flatnonzero(q == qn)
        if y[rows].any():
            hits.append(bool(y[rows[np.argmax(score[rows])]]))
    return (float(np.mean(hits)) if hits else float("nan")), len(hits)


def source_weights(group: np.ndarray) -> np.ndarray:
    """Each row's weight: the PolicyQA policies together weigh as much as one seed-corpus set,
    so that the product's own kind of documents is not outweighed by 13 privacy policies."""
    seed = np.isin(group, FIT_SETS)
    return np.where(seed, 1.0, seed.sum() / len(FIT_SETS) / max((~seed).sum(), 1))


def fit_model(x: np.ndarray, y: np.ndarray, c: float) -> Any:
    """The sentence scorer: every candidate row counts once (the PolicyQA rows are most of
    them). Rows weighted by source (each seed-corpus set and the PolicyQA policies alike, as
    the decision is) raised the out-of-fold sentence hit@1 averaged over the sources from
    0.526 to 0.548 (PolicyQA fit 0.284 -> 0.267), but with the decision to answer fitted on
    its probabilities the share of fit questions answered right, averaged over the sources,
    fell from 0.477 to 0.463 and PolicyQA fit questions answered from 81% to 26%."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(x, y)


def out_of_fold(data: dict[str, np.ndarray], c: float) -> np.ndarray:
    """Each row's probability from a model fitted without the row's group."""
    x, y, group = data["x"], data["y"], data["group"]
    out = np.zeros(len(y))
    for g in np.unique(group):
        held = group == g
        out[held] = fit_model(x[~held], y[~held], c).predict_proba(x[held])[:, 1]
    return out


def macro_hit(data: dict[str, np.ndarray], score: np.ndarray) -> float:
    """Out-of-fold sentence hit@1, averaged over the sources (the PolicyQA fit policies
    together, and each seed-corpus set): the product serves both kinds of corpus."""
    y, q, group = data["y"], data["q"], data["group"]
    parts = [~np.isin(group, FIT_SETS)] + [group == name for name in FIT_SETS]
    return float(np.mean([hit_at_1(score, y, q, keep)[0] for keep in parts]))


def report(data: dict[str, np.ndarray], scores: dict[str, np.ndarray]) -> None:
    y, q, group = data["y"], data["q"], data["group"]
    parts = {"PolicyQA fit": ~np.isin(group, FIT_SETS)}
    for name in FIT_SETS:
        parts[name] = group == name
    head = f"{'sentence hit@1, out of fold':<28}" + "".join(f"{k:>14}" for k in scores)
    print(head)
    for part, keep in parts.items():
        cells = [hit_at_1(s, y, q, keep) for s in scores.values()]
        print(f"{part + f' ({cells[0][1]} q)':<28}" + "".join(f"{h:>14.3f}" for h, _ in cells))


def uncovered(data: dict[str, np.ndarray], near: tuple[float, float]) -> list[Any]:
    """Per question: the shares of it the corpus has no words for (coverage.share_uncovered)."""
    from assistant.coverage import Term, share_uncovered

    n = len(data["names"])
    terms: list[list[Term]] = [[] for _ in range(n)]
    rows = zip(data["term_q"], data["term_w"], data["term_cos"], data["term_en"], data["term_imp"], strict=True)
    for qn, weight, cos, en, imp in rows:
        terms[qn].append(Term(float(weight), None if np.isnan(cos) else float(cos), bool(en), float(imp)))
    return [share_uncovered(t, near) for t in terms]


def question_rows(
    data: dict[str, np.ndarray], probs: np.ndarray, near: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per question: its decision features (scoring.DECISION_FEATURES), its best sentence's
    probability, whether it is answerable, and its group."""
    from assistant.scoring import FEATURES, decision_inputs

    q = data["q"]
    n = len(data["names"])
    best = np.zeros(n)
    np.maximum.at(best, q, probs)
    groups = np.asarray([name.split(":")[0] for name in data["names"]], dtype=data["group"].dtype)
    groups[q] = data["group"]  # a PolicyQA question's group is its policy; one without candidates keeps its set
    overlap = np.zeros(n)
    np.maximum.at(overlap, q, data["x"][:, FEATURES.index("overlap")])
    inputs = [decision_inputs(b, u, o) for b, u, o in zip(best, uncovered(data, near), overlap, strict=True)]
    x = np.asarray([[row[f] for f in DECISION_FEATURES] for row in inputs])
    return x, best, data["answerable"] == 1, groups


def decision_out_of_fold(x: np.ndarray, y: np.ndarray, groups: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """P(answerable) of each question from a decision model fitted without its group (a seed
    set, or all PolicyQA policies together)."""
    from sklearn.linear_model import LogisticRegression

    weight = source_weights(groups)
    fold = np.where(np.isin(groups, FIT_SETS), groups, "policyqa")
    p = np.zeros(len(y))
    for g in np.unique(fold):
        held = fold == g
        train = keep & ~held
        model = LogisticRegression(max_iter=1000).fit(x[train], y[train], sample_weight=weight[train])
        p[held] = model.predict_proba(x[held])[:, 1]
    return p


# Cosines between which a question word the corpus does not use goes from uncovered to
# covered by its nearest corpus word (coverage.share_uncovered): fit_decision tries each pair.
NEAR_LOW = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55)
NEAR_HIGH = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9)


def fit_decision(data: dict[str, np.ndarray], probs: np.ndarray) -> tuple[dict[str, Any], str]:
    """The decision to answer: a logistic model over scoring.DECISION_FEATURES; every source
    weighs as much as one seed-corpus set (source_weights). The pair of cosines `near` of the
    uncovered share, tried over NEAR_LOW x NEAR_HIGH, maximises that weighted balanced
    accuracy (answerable answered, unanswerable abstained) out of fold; the threshold is the
    one for ANSWER_PRECISION (calibration.answer_cut). Returns the fitted values (scoring.Decision)
    and the figures to print."""
    from sklearn.linear_model import LogisticRegression

    from assistant.calibration import ANSWER_PRECISION, answer_cut

    keep = ~data["other"]  # another rule (an unknown name, no date for a "when") decides these
    best: tuple[float, tuple[float, float], float] = (-1.0, (0.0, 1.0), 0.5)
    for near in [(lo, hi) for lo in NEAR_LOW for hi in NEAR_HIGH if lo < hi]:
        x, _, y, groups = question_rows(data, probs, near)
        weight = source_weights(groups)
        p = decision_out_of_fold(x, y, groups, keep)
        cut, accuracy = weighted_cut(p[keep], y[keep], weight[keep])
        if accuracy > best[0] + 1e-9:
            best = (accuracy, near, cut)
    accuracy, near, balanced = best
    x, _, y, groups = question_rows(data, probs, near)
    weight = source_weights(groups)
    p = decision_out_of_fold(x, y, groups, keep)
    seed = keep & np.isin(groups, FIT_SETS)
    cut = answer_cut(p[seed & y].tolist(), p[seed & ~y].tolist())
    final = LogisticRegression(max_iter=1000).fit(x[keep], y[keep], sample_weight=weight[keep])
    lines = [
        f"\ndecision to answer over {', '.join(DECISION_FEATURES)}: uncovered share between cosines "
        f"{near[0]} and {near[1]} (balanced accuracy {accuracy:.3f} out of fold at its best threshold "
        f"{balanced}; each seed-corpus set and the PolicyQA fit policies weigh alike)",
        f"  threshold {cut}: the lowest at which at least {ANSWER_PRECISION:.0%} of the "
        "seed-corpus fit questions answered are answerable (out of fold); balanced accuracy there "
        f"{balanced_accuracy(p[keep], y[keep], weight[keep], cut):.3f}",
    ]
    lines += _decision_figures(p, y, groups, keep, cut)
    values = {
        "features": list(DECISION_FEATURES),
        "coef": [round(float(v), 6) for v in final.coef_[0]],
        "intercept": round(float(final.intercept_[0]), 6),
        "threshold": cut,
        "near": list(near),
        "balanced_accuracy": balanced_accuracy(p[keep], y[keep], weight[keep], cut),
        "answer_precision": ANSWER_PRECISION,
    }
    return values, "\n".join(lines)


def balanced_accuracy(p: np.ndarray, y: np.ndarray, weight: np.ndarray, cut: float) -> float:
    """Weighted share of answerable questions answered and of unanswerable ones abstained on."""
    answered = p >= cut
    return round(
        0.5 * (weight[y & answered].sum() / weight[y].sum() + weight[~y & ~answered].sum() / weight[~y].sum()), 4
    )


def weighted_cut(p: np.ndarray, y: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """The threshold that maximises balanced accuracy with weighted questions: the weighted
    share of answerable questions answered and of unanswerable ones abstained on. The
    PolicyQA fit questions, all answerable, count on the answered side with the weight of one
    seed-corpus set: a threshold chosen on the seed sets alone abstained on 82% of them."""
    best, best_acc = 0.5, -1.0
    for cut in np.unique(np.round(p, 4)):
        answered = p >= cut
        acc = 0.5 * (weight[y & answered].sum() / weight[y].sum() + weight[~y & ~answered].sum() / weight[~y].sum())
        if acc > best_acc + 1e-12:
            best, best_acc = float(cut), float(acc)
    return best, round(best_acc, 4)


def _decision_figures(p: np.ndarray, y: np.ndarray, groups: np.ndarray, keep: np.ndarray, cut: float) -> list[str]:
    """Per fit set: answered share and abstention precision / recall; reliability tables."""
    seed = np.isin(groups, FIT_SETS)
    lines = []
    for name, part in [(n, groups == n) for n in FIT_SETS] + [("PolicyQA fit", ~seed)]:
        part = part & keep
        ans = p[part] >= cut
        truth = y[part]
        abst_p = (~ans & ~truth).sum() / max((~ans).sum(), 1)
        abst_r = (~ans & ~truth).sum() / max((~truth).sum(), 1)
        lines.append(
            f"  {name:<14} {int(part.sum()):>5} q  answered {ans.mean():.3f}  "
            f"abstention precision {abst_p:.3f} recall {abst_r:.3f}"
            if (~truth).any()
            else f"  {name:<14} {int(part.sum()):>5} q  answered {ans.mean():.3f} (all answerable)"
        )
    for name, part in (("seed-corpus fit sets", seed), ("PolicyQA fit", ~seed)):
        lines.append(f"  reliability, {name} (predicted -> observed share answerable, out of fold):")
        for lo in np.arange(0, 1, 0.2):
            inbin = keep & part & (p >= lo) & (p < lo + 0.2 + (1e-9 if lo >= 0.8 else 0))
            if inbin.any():
                lines.append(
                    f"    {lo:.1f}-{lo + 0.2:.1f}: {int(inbin.sum()):>5} q  "
                    f"mean {p[inbin].mean():.3f}  observed {y[inbin].mean():.3f}"
                )
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reuse", action="store_true", help="reuse build/fit/rows.npz")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--no-write", action="store_true", help="print the figures, leave assistant/scorer.json")
    args = p.parse_args()

    from assistant.adapter import ADAPTER_FILE, QueryAdapter
    from assistant.scoring import FEATURES, SCORER_FILE, Scorer

    cached = np.load(ROWS) if args.reuse and ROWS.exists() else None
    if cached is not None and cached["x"].shape[1] == len(FEATURES) and "term_imp" in cached:
        data = dict(cached)
    else:  # no rows yet, or rows of other features
        data = gather(args.quiet)
    y = data["y"]
    log(f"{len(y)} candidate rows, {int(y.sum())} hold an answer, {len(data['names'])} questions")

    best_c, best_hit = C_GRID[0], -1.0
    for c in C_GRID:
        hit = macro_hit(data, out_of_fold(data, c))
        log(f"  C={c}: out-of-fold hit@1 {hit:.3f} (mean over the sources)")
        if hit > best_hit + 1e-9:
            best_c, best_hit = c, hit
    oof = out_of_fold(data, best_c)
    report(data, {"hand score": data["hand"], "cosine": data["x"][:, 0], "fitted": oof})

    dec, dec_text = fit_decision(data, oof)
    print(dec_text)

    model = fit_model(data["x"], y, best_c)
    scaler, logit = model.steps[0][1], model.steps[1][1]
    scorer = Scorer(scaler.mean_, scaler.scale_, logit.coef_[0], float(logit.intercept_[0]))
    print("\nweights (standardised features):")
    for name, w in sorted(zip(FEATURES, scorer.coef, strict=True), key=lambda t: -abs(t[1])):
        print(f"  {name:<16}{w:+.3f}")
    print(
        "\ndecision to answer: " + ", ".join(f"{f} {w:+.3f}" for f, w in zip(dec["features"], dec["coef"], strict=True))
    )
    print(f"  intercept {dec['intercept']:+.3f}, answers at P >= {dec['threshold']}")
    if not args.no_write:
        extra = {
            "C": best_c,
            "row_weighting": "rows",
            "rows": len(y),
            "questions": len(data["names"]),
            "out_of_fold_macro_hit@1": round(best_hit, 4),
            "fitted": dt.date.today().isoformat(),
            "decision": dec,
        }
        SCORER_FILE.write_text(scorer.to_json(extra), "utf-8")
        QueryAdapter(data["adapter"], str(data["adapter_model"])).save(ADAPTER_FILE)
        print(f"\nwrote {SCORER_FILE.relative_to(ROOT)} and {ADAPTER_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
