"""Stage 5: evidence sentences, citations, abstention -> Answer.

The default answerer is extractive: it quotes 1 to 4 sentences of the documents
verbatim, the most direct first, each followed by its citation [n]. It abstains
when no sentence is relevant enough (a threshold calibrated on evals/dev.jsonl),
when the question names something the corpus never mentions, or when the question
asks for a number or a date and the evidence holds none.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import jurisdiction as jur
from .config import Settings
from .index import Embedder, Index, lexical_tokens, open_index, refresh
from .index import exists as index_exists
from .index import status as index_status
from .retrieve import HybridRetriever, QueryEncoder, jurisdiction_weight, make_retriever
from .text import content_words, defuse_markers, looks_like_instruction, one_line
from .types import Answer, AssistantError, Chunk, Citation, Filters, Passage

MAX_SENTENCES = 4  # in an answer, counting the sentence that completes a very short one
MAX_EVIDENCE = 2  # distinct evidence sentences chosen (tuned on evals/dev.jsonl: more lowers precision)
CANDIDATE_PASSAGES = 8
# relevance = W_SENTENCE*cos(question, sentence) + W_PASSAGE*cos(question, passage) + W_TERMS*term overlap
# (weights tuned on evals/dev.jsonl)
W_SENTENCE, W_PASSAGE, W_TERMS = 0.6, 0.2, 0.2
PROCEDURE_BONUS = 0.1  # a how-to question favours sentences that describe steps
ANSWER_TYPE_BONUS = 0.1  # a when / how-many question favours sentences with a date / a figure
KEEP_RATIO = 0.8  # further sentences must score at least this share of the best one
SHORT = 40  # a sentence this short ("At the moment, no.") is followed by the next one for substance
REDUNDANT = 0.85  # cosine above which two sentences say the same thing
# A question word absent from the corpus counts as covered by its nearest corpus word
# from not at all (cosine NEAR_LOW) to fully (NEAR_HIGH).
NEAR_LOW, NEAR_HIGH = 0.45, 0.7

ABSTAIN_TEXT = "The documents don't say."

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_COUNT_Q = re.compile(r"\b(how (many|much)|what (percentage|share|number|amount|proportion))\b", re.I)
_DURATION_Q = re.compile(r"\bhow (long|quickly|soon|fast)\b", re.I)
_DURATION = re.compile(r"\d|\b(minutes?|hours?|days?|weeks?|months?|years?|immediately|instantly)\b", re.I)
_WHEN_Q = re.compile(r"^\s*(when|since when|what date|what day|by when)\b|\bwhat date\b", re.I)
_NUMBERISH = re.compile(
    r"\d|\b(two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?|millions?|billions?|percent)\b",
    re.I,
)
_DATEISH = re.compile(
    r"\d|\b(january|february|march|april|may|june|july|august|september|october|november|december|today|yesterday|minutes?|days?|weeks?|months?|years?)\b",
    re.I,
)
_HOWTO_Q = re.compile(
    r"\b(how (do|can|would|should) (i|we|you|one|people|users)|how to|what steps|where (do|can) i|what do i (put|write|fill|need)|steps? to)\b",
    re.I,
)
_PROCEDURE = re.compile(
    r"\b(go to|click|tap|select|visit|scroll|fill|submit|complete|input|enter|open|settings|form)\b|>", re.I
)
_NAME_TOKEN = re.compile(r"(?<![\w'’])([A-Z][a-z]*[A-Z][A-Za-z]*|[A-Z]{2,}[a-z]*|[A-Z][a-z]+)(?![\w'’])")


def clean_question(question: str, limit: int) -> str:
    """Validate a question: not empty, not longer than `limit` characters; control characters removed."""
    text = _CONTROL.sub(" ", question or "").strip()
    if not text:
        raise AssistantError("the question is empty; ask something about the documents")
    if len(text) > limit:
        raise AssistantError(f"the question is {len(text):,} characters long; the limit is {limit:,}")
    return text


@dataclass(frozen=True)
class Candidate:
    chunk: Chunk
    start: int
    end: int
    vector: np.ndarray
    relevance: float  # how well the sentence answers the question, 0..1 (abstention uses this)
    rank_score: float  # relevance weighted by jurisdiction (selection uses this)
    position: int  # index of the sentence in its chunk


class ExtractiveAnswerer:
    """Answers from verbatim sentences of the indexed documents."""

    def __init__(
        self,
        index: Index,
        settings: Settings,
        retriever: HybridRetriever | None = None,
        encoder: QueryEncoder | None = None,
        threshold: float | None = None,
        coverage_weight: float | None = None,
    ) -> None:
        self.index = index
        self.settings = settings
        self.encode = encoder or QueryEncoder(index)
        self.retriever = retriever or make_retriever(index, encoder=self.encode)
        self.threshold = settings.abstain_threshold if threshold is None else threshold
        self.coverage_weight = settings.coverage_weight if coverage_weight is None else coverage_weight

    # ------------------------------------------------------------ public

    def answer(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        query: str | None = None,
        asker: str | None = None,
    ) -> Answer:
        """Answer one question.

        Args:
            question: what the person asked (validated here).
            filters: restrict to sources / a jurisdiction.
            top_k: passages to return with the answer (default from settings).
            query: text to search with, when it differs from the question (chat follow-ups).
            asker: the jurisdiction to answer for; detected from the question when None.
        """
        t0 = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        query = query or question
        filters = filters or Filters()
        unknown = [src for src in filters.sources if src not in self.index.documents]
        if unknown:
            known = ", ".join(sorted(self.index.documents))
            raise AssistantError(f"unknown source {', '.join(map(repr, unknown))}; the index has: {known}")
        asker = filters.jurisdiction or asker or jur.for_question(question)
        k = top_k or self.settings.top_k
        passages = self.retriever.retrieve(query, max(k, CANDIDATE_PASSAGES), filters, asker=asker)
        t1 = time.perf_counter()
        candidates = self.candidates(query, passages, asker)
        shown = tuple(passages[:k])
        timings = {"retrieve_ms": (t1 - t0) * 1000}

        reason = self._abstain_reason(question, candidates, self.uncovered_share(question))
        if reason is not None:
            timings["answer_ms"] = (time.perf_counter() - t1) * 1000
            timings["total_ms"] = (time.perf_counter() - t0) * 1000
            text = ABSTAIN_TEXT + (f" {reason}" if reason else "")
            return Answer(question, text, (), shown, True, asker, timings)

        chosen = self._select(candidates)
        notice = self._coverage_notice(asker, passages)
        citations: list[Citation] = []
        parts: list[str] = [notice] if notice else []
        for n, (cand, end) in enumerate(_quotes(chosen), start=1):
            doc = self.index.documents[cand.chunk.doc_id]
            quote = doc.text[cand.start : end]
            citations.append(
                Citation(
                    n,
                    doc.id,
                    cand.chunk.id,
                    quote,
                    cand.start,
                    end,
                    doc.title,
                    doc.publisher,
                    doc.published,
                    doc.url,
                    doc.fetched,
                )
            )
            parts.append(f"{defuse_markers(one_line(quote))} [{n}]")
        timings["answer_ms"] = (time.perf_counter() - t1) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return Answer(question, " ".join(parts), tuple(citations), shown, False, asker, timings, notice)

    def evidence_score(self, question: str, filters: Filters | None = None) -> tuple[float, float, bool]:
        """(best sentence relevance, uncovered share, whether a rule other than the score abstains).

        What the abstention threshold and coverage weight are calibrated on.
        """
        question = clean_question(question, self.settings.max_question_chars)
        filters = filters or Filters()
        asker = filters.jurisdiction or jur.for_question(question)
        passages = self.retriever.retrieve(question, CANDIDATE_PASSAGES, filters, asker=asker)
        candidates = self.candidates(question, passages, asker)
        best = max((c.relevance for c in candidates), default=0.0)
        saved = self.threshold
        self.threshold = -1e9
        try:
            other = bool(self._abstain_reason(question, candidates, 0.0))
        finally:
            self.threshold = saved
        return best, self.uncovered_share(question), other

    def uncovered_share(self, question: str) -> float:
        """How much of the question (IDF-weighted) the corpus has no words for, 0..1.

        A word counts as covered when the corpus uses it, or a word close to it in the
        embedding space ("pictures" ~ "photos"); places are left out (they are handled
        as jurisdictions).
        """
        terms = content_words(jur.strip_places(question))
        if not terms:
            return 0.0
        stems = self.index.stems
        weights: list[float] = []
        missing: list[int] = []
        terms = [w for w in terms if lexical_tokens(w)]  # "outs" of "opt-outs" stems to a stopword
        for i, w in enumerate(terms):
            tokens = lexical_tokens(w)
            weights.append(max(self.index.idf(t) for t in tokens))
            if not all(t in stems for t in tokens):
                missing.append(i)
        if not missing or not weights:
            return 0.0
        vocab = self.index.vocabulary_vectors
        uncovered = 0.0
        for i in missing:
            nearest = float(np.max(vocab @ self.encode(terms[i]))) if len(vocab) else 0.0
            covered = min(1.0, max(0.0, (nearest - NEAR_LOW) / (NEAR_HIGH - NEAR_LOW)))
            uncovered += weights[i] * (1.0 - covered)
        return uncovered / sum(weights)

    # ------------------------------------------------------------ steps

    def candidates(self, query: str, passages: list[Passage], asker: str | None) -> list[Candidate]:
        """Every sentence of the candidate passages, scored against the query."""
        qvec = self.encode(query)
        # Places are matched by jurisdiction weighting, not as terms ("EU" vs "European").
        qterms = set(lexical_tokens(jur.strip_places(query)))
        howto = bool(_HOWTO_Q.search(query))
        # A question that names several places ("EU users but not US users") is about all of them.
        named_places = [c for c in jur.detect(query) if c != jur.OTHER]
        askers: tuple[str | None, ...] = tuple(named_places) if len(named_places) > 1 else (asker,)
        wants = _answer_type(query)
        out: list[Candidate] = []
        for p in passages:
            chunk = p.chunk
            doc = self.index.documents[chunk.doc_id]
            vectors = self.index.sentences_of(chunk).astype(np.float32)
            if not len(vectors):
                continue
            sims = vectors @ qvec
            passage_sim = float(p.dense) if p.dense is not None else float(np.max(sims))
            named = tuple(j for j in doc.jurisdictions if j != jur.OTHER)
            heading = (
                chunk.section
                if chunk.section.endswith("?") and chunk.text.lstrip("# ").startswith(chunk.section)
                else ""
            )
            heading_places = tuple(jur.detect(chunk.section))
            for i, sent in enumerate(chunk.sentences):
                text = doc.text[sent.start : sent.end]
                if looks_like_instruction(text):
                    continue  # addressed to an assistant, not to a reader: never evidence
                rel = self._relevance(float(sims[i]), passage_sim, qterms, text)
                if i == 0 and heading:
                    # The first sentence under a question heading answers that heading.
                    rel = max(rel, self._relevance(float(self.encode(heading) @ qvec), passage_sim, qterms, heading))
                if howto and _PROCEDURE.search(text):
                    rel += PROCEDURE_BONUS
                if wants is not None and wants.search(text):
                    rel += ANSWER_TYPE_BONUS
                # A heading that names a place scopes its sentences ("Can US users opt out?");
                # a place mentioned in passing inside one of them does not. A sentence that
                # names no place, under a heading that names none, is about no place in particular.
                places = heading_places or tuple(jur.detect(text))
                scope = Chunk(chunk.id, chunk.doc_id, "", 0, 0, jurisdictions=places)
                weight = max(jurisdiction_weight(scope, named, a) for a in askers)
                out.append(Candidate(chunk, sent.start, sent.end, vectors[i], rel, rel * weight, i))
        out.sort(key=lambda c: -c.rank_score)
        return out

    def _relevance(self, similarity: float, passage_sim: float, qterms: set[str], text: str) -> float:
        """Sentence relevance; term overlap is IDF-weighted so rare words ("private") outweigh
        the words every passage shares ("Meta", "AI")."""
        overlap = 0.0
        if qterms:
            weights = {t: self.index.idf(t) for t in qterms}
            overlap = sum(w for t, w in weights.items() if t in set(lexical_tokens(text))) / sum(weights.values())
        return W_SENTENCE * similarity + W_PASSAGE * passage_sim + W_TERMS * overlap

    def _abstain_reason(self, question: str, candidates: list[Candidate], uncovered: float) -> str | None:
        """None to answer; otherwise why not ("" when it is simply not covered)."""
        unknown = self._unknown_names(question)
        if unknown:
            return f"They do not mention {', '.join(unknown)}."
        best = max((c.relevance for c in candidates), default=0.0)
        if best - self.coverage_weight * uncovered < self.threshold:
            return ""
        evidence = " ".join(self.index.documents[c.chunk.doc_id].text[c.start : c.end] for c in candidates[:8])
        if _COUNT_Q.search(question) and not _NUMBERISH.search(evidence):
            return "They give no figure for that."
        if _DURATION_Q.search(question) and not _DURATION.search(evidence):
            return "They give no figure for that."
        if _WHEN_Q.search(question) and not _DATEISH.search(evidence):
            return "They give no date for that."
        return None

    def _unknown_names(self, question: str) -> list[str]:
        """Names in the question (TikTok, WhatsApp) that no document mentions."""
        names = []
        question = jur.strip_places(question)
        for m in _NAME_TOKEN.finditer(question):
            token = m.group(1)
            before = question[: m.start()].rstrip()
            sentence_start = not before or before[-1] in '.!?"“(:'
            if sentence_start and not re.search(r"[A-Z].*[A-Z]|[a-z][A-Z]", token):
                continue  # an ordinary capitalised first word
            if token in ("I", "AI") or jur.detect(token) or token.casefold() in COMMON_WORDS:
                continue
            tokens = lexical_tokens(token)
            if not tokens or all(t in self.index.stems for t in tokens):
                continue
            vocab = self.index.vocabulary_vectors
            if len(vocab) and float(np.max(vocab @ self.encode(token))) >= NEAR_HIGH:
                continue  # an abbreviation or spelling of a word the corpus has ("DMs")
            names.append(token)
        return names

    def _select(self, candidates: list[Candidate]) -> list[Candidate]:
        best = candidates[0]
        chosen = [best]
        for cand in candidates[1:]:
            if len(chosen) >= MAX_EVIDENCE:
                break
            if cand.rank_score < KEEP_RATIO * best.rank_score or cand.relevance < self.threshold:
                break
            if any(float(cand.vector @ c.vector) > REDUNDANT for c in chosen):
                continue
            chosen.append(cand)
        # A very short sentence ("Yes.", "At the moment, no.") needs the sentence after it.
        for cand in list(chosen):
            if cand.end - cand.start < SHORT and len(chosen) < MAX_SENTENCES:
                nxt = _next_sentence(cand, candidates)
                if nxt is not None and all(c.start != nxt.start or c.chunk.id != nxt.chunk.id for c in chosen):
                    chosen.insert(chosen.index(cand) + 1, nxt)
        grouped = _group_by_passage(chosen)
        # When the evidence comes from documents of different dates, the newest speaks first.
        docs = self.index.documents
        dates = {c.chunk.doc_id: docs[c.chunk.doc_id].published for c in grouped}
        if len(set(dates.values())) > 1 and all(dates.values()):
            order = sorted(dict.fromkeys(c.chunk.doc_id for c in grouped), key=lambda d: dates[d], reverse=True)
            grouped = [c for d in order for c in grouped if c.chunk.doc_id == d]
        return grouped

    def _coverage_notice(self, asker: str | None, passages: list[Passage]) -> str:
        """Say so when the documents do not speak of the asker's jurisdiction."""
        if not asker:
            return ""
        if any(asker in p.chunk.jurisdictions for p in passages) or any(
            asker in c.jurisdictions for c in self.index.chunks
        ):
            return ""
        place = jur.name(asker)
        other = [p for p in passages if jur.OTHER in p.chunk.jurisdictions]
        if other:
            return f"The documents do not mention {place} specifically; this is what they say for other countries:"
        named = sorted({j for c in self.index.chunks for j in c.jurisdictions if j != jur.OTHER})
        covered = ", ".join(jur.name(j) for j in named) or "other places"
        return f"The documents do not cover {place}; this is what they say for {covered}:"


COMMON_WORDS = frozenset(
    """please hi hello thanks ok okay yes no also and but so if is are do does can could would should will
    what when where why how who which my our your their meta's""".split()
)


def _answer_type(question: str) -> re.Pattern[str] | None:
    """What a sentence must hold to answer the question's type, if it has one."""
    if _COUNT_Q.search(question):
        return _NUMBERISH
    if _DURATION_Q.search(question):
        return _DURATION
    if _WHEN_Q.search(question):
        return _DATEISH
    return None


def _next_sentence(cand: Candidate, candidates: list[Candidate]) -> Candidate | None:
    for c in candidates:
        if c.chunk.id == cand.chunk.id and c.position == cand.position + 1:
            return c
    return None


def _quotes(chosen: list[Candidate]) -> list[tuple[Candidate, int]]:
    """(first sentence, end offset) per citation: a very short sentence ("At the moment, no.")
    and the sentence that completes it are one quote, so one claim carries one citation."""
    out: list[tuple[Candidate, int]] = []
    prev: Candidate | None = None
    for c in chosen:
        if (
            out
            and prev is not None
            and prev.end - prev.start < SHORT
            and c.chunk.id == prev.chunk.id
            and c.position == prev.position + 1
        ):
            out[-1] = (out[-1][0], c.end)
        else:
            out.append((c, c.end))
        prev = c
    return out


def _group_by_passage(chosen: list[Candidate]) -> list[Candidate]:
    """Most direct passage first; within a passage, the sentences in reading order."""
    order: list[str] = []
    for c in chosen:
        if c.chunk.id not in order:
            order.append(c.chunk.id)
    return [c for cid in order for c in sorted((x for x in chosen if x.chunk.id == cid), key=lambda x: x.start)]


def load_calibration(settings: Settings) -> dict[str, float]:
    """Calibrated values from ASSISTANT_HOME/calibration.json, over the defaults in Settings."""
    import json

    values = {
        "abstain_threshold": settings.abstain_threshold,
        "coverage_weight": settings.coverage_weight,
        "claim_threshold": settings.claim_threshold,
    }
    try:
        data = json.loads(settings.calibration_path.read_text("utf-8"))
    except (OSError, ValueError):
        return values
    for key in values:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            values[key] = float(data[key])
    return values


def open_answerer(
    settings: Settings,
    retriever_kind: str = "hybrid",
    on_build: Callable[[str], None] | None = None,
    embedder: Embedder | None = None,
) -> ExtractiveAnswerer:
    """The answerer over the live index, building the index first when there is none."""
    if not index_exists(settings):
        if on_build:
            on_build(f"no index under {settings.index_dir}: building it from {settings.corpus} (first use)")
        refresh(settings, embedder=embedder)
    idx = open_index(settings, embedder)
    encoder = QueryEncoder(idx)
    calibrated = load_calibration(settings)
    return ExtractiveAnswerer(
        idx,
        settings,
        make_retriever(idx, retriever_kind, encoder),
        encoder,
        calibrated["abstain_threshold"],
        calibrated["coverage_weight"],
    )


class LiveAnswerer:
    """The answerer for whatever generation is live, for long-running processes (the web chat).

    Each call to get() checks state.json (one stat, and a read only when it changed);
    after a refresh the next question is answered from the new generation, while
    questions already running finish on the old one. The old one's vector store is
    closed RETIRE_AFTER seconds later (a question reads vectors only in its first
    moments), so a server that sees many refreshes does not keep every store open.
    """

    RETIRE_AFTER = 30.0

    def __init__(
        self,
        settings: Settings,
        retriever_kind: str = "hybrid",
        embedder: Embedder | None = None,
        on_build: Callable[[str], None] | None = None,
    ) -> None:
        import threading

        self.settings = settings
        self.retriever_kind = retriever_kind
        self._lock = threading.Lock()
        self._current = open_answerer(settings, retriever_kind, on_build, embedder)
        self._polled = 0.0
        self._stamp: int | str = 0
        self._stamp = self._state_stamp()
        self._retired: list[tuple[float, ExtractiveAnswerer]] = []

    def _state_stamp(self) -> int | str:
        if self.settings.chroma_url:
            # Replicas learn of a new generation from the Chroma server (asked at most every 2 s).
            now = time.monotonic()
            if now - self._polled < 2.0:
                return self._stamp
            self._polled = now
            with contextlib.suppress(AssistantError):
                live = index_status(self.settings)
                return live["generation"] if live else 0
            return self._stamp
        try:
            return (self.settings.index_dir / "state.json").stat().st_mtime_ns
        except OSError:
            return 0

    def get(self) -> ExtractiveAnswerer:
        stamp = self._state_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    live = index_status(self.settings)
                    # A damaged new generation: keep answering from the one we have, try again next time.
                    with contextlib.suppress(AssistantError):
                        if live and live["generation"] != self._current.index.generation:
                            old = self._current
                            self._current = open_answerer(
                                self.settings, self.retriever_kind, embedder=self._current.index.embedder
                            )
                            self._retired.append((time.monotonic(), old))
                        self._stamp = stamp
        if self._retired and time.monotonic() - self._retired[0][0] > self.RETIRE_AFTER:
            with self._lock:
                now = time.monotonic()
                while self._retired and now - self._retired[0][0] > self.RETIRE_AFTER:
                    self._retired.pop(0)[1].index.close()
        return self._current

    def close(self) -> None:
        """Release every generation this object opened."""
        with self._lock:
            for _, old in self._retired:
                old.index.close()
            self._retired.clear()
            self._current.index.close()
