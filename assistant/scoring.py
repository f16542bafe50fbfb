"""The sentence score and the decision to answer, both fitted on data.

Two logistic models, fitted by `make fit` (evals/fit.py) on the fit sets only (PolicyQA
fit policies and the seed-corpus fit sets) and stored in assistant/scorer.json:

- `Scorer`: P(a candidate sentence holds the answer), over FEATURES; the answerer ranks
  sentences by it.
- `Decision`: P(the documents answer the question), over some of DECISION_INPUTS (the
  best sentence's probability, the share of the question the corpus has no words for,
  the most of its terms one candidate sentence uses); the answerer abstains below a
  threshold chosen on the fit data (see evals/fit.py).

The features are computed by ExtractiveAnswerer.candidates; `row` lists them in the
order the model reads them.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import jurisdiction as jur
from .lexical import lexical_tokens
from .question import HOWTO_Q, PROCEDURE, answer_type
from .text import looks_like_instruction
from .types import AssistantError, Chunk, Passage

if TYPE_CHECKING:
    from .coverage import Uncovered
    from .index import Index
    from .retrieve import QueryEncoder

SCORER_FILE = Path(__file__).with_name("scorer.json")

FEATURES = (
    "sentence_sim",  # cosine(question, sentence); a first sentence under a question heading takes the heading's
    "passage_sim",  # cosine(question, passage)
    "overlap",  # IDF-weighted share of the question's terms the sentence uses
    "sim_gap",  # sentence_sim minus the best sentence_sim among the candidates (<= 0)
    "overlap_gap",  # overlap minus the best overlap among the candidates (<= 0)
    "heading_answer",  # 1: the first sentence under a heading that asks a question
    "procedure",  # 1: a how-to question and a sentence that describes steps
    "type_match",  # 1: a when / how-many / how-long question and a sentence with a date / figure
    "first",  # 1: the first sentence of its passage
    "log_chars",  # log of the sentence's length in characters
    "passage_rank",  # 1 / (1 + the passage's rank in retrieval)
    "place_match",  # the sentence's places include the asker's
    "place_general",  # the sentence states the general rule the asker falls under
    "place_mismatch",  # the sentence is about other places than the asker's
    "asks",  # 1: the sentence is itself a question
    "doc_position",  # where the sentence starts in its document, 0 (top) .. 1 (end)
    "bigrams",  # share of the question's adjacent term pairs the sentence has in the same order
)
N_FEATURES = len(FEATURES)


@dataclass(frozen=True)
class Scorer:
    """Standardised features -> logistic probability."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """P(sentence answers) for each row of features (n x N_FEATURES)."""
        if not len(rows):
            return np.zeros(0)
        z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self, extra: dict[str, Any]) -> str:
        data = {
            "features": list(FEATURES),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
            **extra,
        }
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorer:
        if data.get("features") != list(FEATURES):
            raise AssistantError(f"{SCORER_FILE.name} was fitted on other features; run 'make fit'")
        arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
        if any(a.shape != (N_FEATURES,) for a in arrays):
            raise AssistantError(f"{SCORER_FILE.name} is damaged; run 'make fit'")
        return cls(arrays[0], arrays[1], arrays[2], float(data["intercept"]))


# What the decision to answer may read; `make fit` chooses which (scorer.json "decision").
DECISION_INPUTS = (
    "best",  # the logit of the best sentence's probability (Scorer)
    "uncovered",  # the share of the question, in dictionary words, the corpus has no words for (coverage.py)
    "uncovered_other",  # the same of its other words: slang, abbreviations, names
    "overlap",  # the largest IDF-weighted share of the question's terms one candidate sentence uses
)


@dataclass(frozen=True)
class Decision:
    """P(the documents answer the question): a logistic model over some DECISION_INPUTS."""

    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float  # answer at or above this probability
    # A question word the corpus does not use counts as covered by its nearest corpus word
    # from not at all (this cosine) to fully (this one): coverage.share_uncovered.
    near: tuple[float, float] = (0.45, 0.7)

    def __call__(self, best: float, uncovered: Uncovered, overlap: float) -> float:
        values = decision_inputs(best, uncovered, overlap)
        z = sum(w * values[f] for w, f in zip(self.coef, self.features, strict=True))
        return 1.0 / (1.0 + math.exp(-(z + self.intercept)))


def decision_inputs(best: float, uncovered: Uncovered, overlap: float) -> dict[str, float]:
    p = min(max(best, 1e-6), 1 - 1e-6)
    return {
        "best": math.log(p / (1 - p)),
        "uncovered": uncovered.english,
        "uncovered_other": uncovered.other,
        "overlap": overlap,
    }


@cache
def _data(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise AssistantError(f"cannot read the fitted scorer {path}: {exc}; run 'make fit'") from exc
    if not isinstance(data, dict):
        raise AssistantError(f"{path.name} is damaged; run 'make fit'")
    return data


def fitted(path: Path = SCORER_FILE) -> Scorer:
    """The committed sentence scorer (read once)."""
    return Scorer.from_dict(_data(path))


def decision(path: Path = SCORER_FILE) -> Decision:
    """The committed decision to answer (read once)."""
    try:
        d = _data(path)["decision"]
        features = tuple(str(f) for f in d["features"])
        if not set(features) <= set(DECISION_INPUTS) or len(features) != len(d["coef"]):
            raise ValueError("other features")
        low, high = (float(v) for v in d.get("near", Decision.near))
        if not 0 <= low < high <= 1:
            raise ValueError("near")
        return Decision(
            features, tuple(float(v) for v in d["coef"]), float(d["intercept"]), float(d["threshold"]), (low, high)
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AssistantError(f"{path.name} has no fitted decision to answer; run 'make fit'") from exc


# A candidate sentence: its chunk, start and end in the document, vector, position in the chunk.
Found = tuple[Chunk, int, int, np.ndarray, int]
# How a sentence's places relate to the asker's, least to most favourable: of several
# askers ("EU users but not US users"), a sentence takes its best relation.
_PLACE_ORDER = (jur.Relation.MISMATCH, jur.Relation.NEUTRAL, jur.Relation.GENERAL_RULE, jur.Relation.MATCH)


@dataclass(frozen=True)
class _Asked:
    """What the features need of the question."""

    vector: np.ndarray
    idf: dict[str, float]
    pairs: frozenset[tuple[str, str]]
    howto: bool
    wants: re.Pattern[str] | None
    askers: tuple[str | None, ...]

    def overlap(self, tokens: list[str]) -> float:
        total = sum(self.idf.values())
        words = set(tokens)
        return sum(w for t, w in self.idf.items() if t in words) / total if total else 0.0


# complexity: one pass over the passages' sentences, a row of FEATURES each, in their order
def candidate_features(
    index: Index, encode: QueryEncoder, query: str, passages: list[Passage], asker: str | None
) -> tuple[list[Found], np.ndarray]:
    """Every sentence of the passages (instructions to an assistant left out) and its row of
    FEATURES."""
    tokens = lexical_tokens(jur.strip_places(query, index.uses))  # places count as places, not terms
    named = jur.named_places(jur.detect(jur.without_compared(query, index.uses)))
    asked = _Asked(
        encode.question(query),
        {t: index.idf(t) for t in set(tokens)},
        frozenset(itertools.pairwise(tokens)),
        bool(HOWTO_Q.search(query)),
        answer_type(query),
        # A question that names several places ("EU users but not US users") is about all of them.
        named if len(named) > 1 else (asker,),
    )
    found: list[Found] = []
    rows: list[list[float]] = []
    for rank, p in enumerate(passages):
        chunk = p.chunk
        doc = index.documents[chunk.doc_id]
        vectors = index.sentences_of(chunk).astype(np.float32)
        if not len(vectors):
            continue
        sims = vectors @ asked.vector
        passage_sim = float(p.dense) if p.dense is not None else float(np.max(sims))
        asks_heading = chunk.section.endswith("?") and chunk.text.lstrip("# ").startswith(chunk.section)
        heading_places = tuple(jur.detect(chunk.section))
        for i, sent in enumerate(chunk.sentences):
            text = doc.text[sent.start : sent.end]
            if looks_like_instruction(text):
                continue  # addressed to an assistant, not to a reader: never evidence
            sim, overlap = float(sims[i]), asked.overlap(lexical_tokens(text))
            heads = i == 0 and asks_heading
            if heads:  # the first sentence under a question heading answers that heading
                sim = max(sim, float(encode(chunk.section) @ asked.vector))
                overlap = max(overlap, asked.overlap(lexical_tokens(chunk.section)))
            # A heading that names a place scopes its sentences ("Can US users opt out?");
            # a place mentioned in passing inside one of them does not.
            places = heading_places or tuple(jur.detect(text))
            relation = max((jur.relation(places, doc.jurisdictions, a) for a in asked.askers), key=_PLACE_ORDER.index)
            found.append((chunk, sent.start, sent.end, vectors[i], i))
            rows.append(
                [
                    sim,
                    passage_sim,
                    overlap,
                    0.0,  # sim_gap and overlap_gap: filled in below
                    0.0,
                    float(heads),
                    float(asked.howto and bool(PROCEDURE.search(text))),
                    float(asked.wants is not None and bool(asked.wants.search(text))),
                    float(i == 0),
                    math.log(max(sent.end - sent.start, 1)),
                    1.0 / (1.0 + rank),
                    float(relation is jur.Relation.MATCH),
                    float(relation is jur.Relation.GENERAL_RULE),
                    float(relation is jur.Relation.MISMATCH),
                    float(text.rstrip().endswith("?")),
                    sent.start / max(len(doc.text), 1),
                    _pair_share(asked.pairs, lexical_tokens(text)),
                ]
            )
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), N_FEATURES)
    if len(rows):
        matrix[:, 3] = matrix[:, 0] - matrix[:, 0].max()
        matrix[:, 4] = matrix[:, 2] - matrix[:, 2].max()
    return found, matrix


def _pair_share(pairs: frozenset[tuple[str, str]], tokens: list[str]) -> float:
    return len(pairs & set(itertools.pairwise(tokens))) / len(pairs) if pairs else 0.0
