"""How the retriever's place weights (assistant/retrieve.py JURISDICTION_WEIGHT) rank the
passage that answers, on the fit data only, beside no weighting and a grid of other weights.

    python evals/jurisdiction_weights.py

For every answerable question of the PolicyQA fit policies and of the fit sets (fit.FIT_SETS),
the dense and BM25 lists are searched once; each set of weights then fuses and weighs them as
the retriever does, and the figure is the reciprocal rank of the first passage holding an
evidence string within the 8 passages the answerer reads (0 when none does), averaged per
source and then over the sources (each PolicyQA policy together, each seed-corpus set).
Only questions asked from a place are moved by the weights.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "evals"))

import fit  # noqa: E402  (evals/fit.py)

READ = 8  # passages the answerer reads (answer.CANDIDATE_PASSAGES)
GRID = {
    "MATCH": (1.0, 1.25, 1.5, 2.0, 3.0),
    "GENERAL_RULE": (1.0, 1.15, 1.3, 1.5, 2.0),
    "MISMATCH": (0.3, 0.5, 0.7, 0.85, 1.0),
}

# One question: its source, whether it names a place, and per passage found by either list:
# (its relation to the asker's place, dense rank or None, BM25 rank or None, holds evidence).
Row = tuple[str, bool, list[tuple[str, int | None, int | None, bool]]]


def gather() -> list[Row]:
    import policyqa

    from assistant import jurisdiction as jur
    from assistant.config import Settings
    from assistant.eval_score import holds
    from assistant.eval_set import EvalSet, load_questions, load_sets
    from assistant.evaluation import open_for_set
    from assistant.retrieve import HybridRetriever

    policyqa.convert()
    sets = load_sets(ROOT / "evals" / "sets.toml")
    chosen = [EvalSet("policyqa-fit", policyqa.BUILD / "fit.jsonl", policyqa.BUILD / "corpus")]
    chosen += [sets[name] for name in fit.FIT_SETS]
    rows: list[Row] = []
    for evalset in chosen:
        answerer = open_for_set(Settings.from_env(), evalset, "hybrid", True, scorer=fit.hand_score)
        retriever = answerer.retriever
        assert isinstance(retriever, HybridRetriever)
        docs = answerer.index.documents
        for q in load_questions(evalset.questions):
            if q.answerable is False or not q.evidence:
                continue
            query = answerer.search_text(q.question)
            filters = answerer._as_of(q.to_filters())
            asker = filters.jurisdiction or jur.for_question(q.question, answerer.index.uses)
            found: dict[str, list] = {}
            for slot, ranked in enumerate(
                (
                    retriever.dense.retrieve(query, retriever.fetch, filters),
                    retriever.lexical.retrieve(query, retriever.fetch, filters),
                )
            ):
                for rank, p in enumerate(ranked):
                    found.setdefault(p.chunk.id, [None, None, p.chunk])[slot] = rank
            passages = [
                (
                    jur.relation(c.jurisdictions, docs[c.doc_id].jurisdictions, asker).name,
                    d,
                    b,
                    holds(c.text, q.evidence),
                )
                for d, b, c in found.values()
            ]
            source = "PolicyQA fit" if evalset.name == "policyqa-fit" else evalset.name
            rows.append((source, asker is not None, passages))
        answerer.index.close()
    return rows


def mrr(rows: list[Row], weights: dict[str, float]) -> dict[str, float]:
    """Per source: mean reciprocal rank of the first passage holding evidence, within READ."""
    from assistant.retrieve import RRF_K

    per: dict[str, list[float]] = {}
    for source, _, passages in rows:
        fused = sorted(
            (
                (sum(1.0 / (RRF_K + r + 1) for r in (d, b) if r is not None) * weights.get(rel, 1.0), ev)
                for rel, d, b, ev in passages
            ),
            key=lambda t: -t[0],
        )[:READ]
        per.setdefault(source, []).append(next((1.0 / (i + 1) for i, (_, ev) in enumerate(fused) if ev), 0.0))
    return {source: float(np.mean(v)) for source, v in per.items()}


def main() -> int:
    from assistant.retrieve import JURISDICTION_WEIGHT

    rows = gather()
    placed = sum(1 for _, named, _ in rows if named)
    print(f"{len(rows)} answerable fit questions, {placed} asked from a place")
    current = {rel.name: w for rel, w in JURISDICTION_WEIGHT.items()}
    tried = [("none", dict.fromkeys(current, 1.0)), ("current", current)]
    tried += [
        (f"grid {m}/{g}/{x}", {"NEUTRAL": 1.0, "MATCH": m, "GENERAL_RULE": g, "MISMATCH": x})
        for m, g, x in itertools.product(*GRID.values())
    ]
    scored = [(name, mrr(rows, w)) for name, w in tried]
    best = max(scored[2:], key=lambda t: np.mean(list(t[1].values())))
    sources = list(scored[0][1])
    print(f"{'MRR@8 of the answering passage':<44}{'macro':>8}" + "".join(f"{s:>14}" for s in sources))
    for name, per in [*scored[:2], best]:
        label = f"{name} (match/general/mismatch)" if name.startswith("grid") else name
        print(f"{label:<44}{np.mean(list(per.values())):>8.4f}" + "".join(f"{per[s]:>14.3f}" for s in sources))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
