"""Chunk and sentence vectors from one encoder pass per chunk ("late chunking").

A chunk is tokenized whole, without truncation, and run through the transformer in
windows of at most the model's sequence length (each window framed by the model's
start and end tokens), so no token of a long chunk is dropped. The chunk's vector is
the mean of all its token states, as the model's own mean pooling gives for a chunk that
fits in one window; each sentence's vector is the mean of the states of the tokens
inside the sentence's character span. The sentences are thus read in their chunk's
context, and the chunk's tokens are encoded once instead of twice.

Both encoder backends (onnx_backend.OnnxEncoder and sentence-transformers with torch)
supply the two model-specific steps: tokenizing with character offsets, and running a
padded batch of token ids to token states.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Span = tuple[int, int]  # character offsets into the text


@dataclass(frozen=True)
class Tokens:
    """A text's tokens without special tokens: ids and each token's character span."""

    ids: list[int]
    offsets: list[Span]


# (ids, attention mask), both (batch, width) int64 -> token states (batch, width, dim)
RunBatch = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Model:
    tokenize: Callable[[list[str]], list[Tokens]]
    run: RunBatch
    start_id: int  # [CLS]
    end_id: int  # [SEP]
    max_tokens: int  # the model's window, special tokens included
    dim: int


def windows(n_tokens: int, max_tokens: int) -> list[tuple[int, int]]:
    """Consecutive token ranges of at most max_tokens - 2 (room for the start and end tokens)."""
    size = max(1, max_tokens - 2)
    return [(a, min(a + size, n_tokens)) for a in range(0, max(n_tokens, 1), size)]


def encode_late(
    model: Model, texts: Sequence[str], spans: Sequence[Sequence[Span]], batch_size: int = 32
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Unit-length vectors of each text and of each of its spans, from one pass per text.

    Returns (text vectors (n, dim), [span vectors (len(spans[i]), dim) for each text]).
    A span that covers no token gets its text's vector.
    """
    tokens = model.tokenize(list(texts))
    states = _run_windows(model, tokens, batch_size)
    text_vectors = np.zeros((len(texts), model.dim), dtype=np.float32)
    span_vectors: list[np.ndarray] = []
    for i, t in enumerate(tokens):
        whole = np.concatenate(states[i])  # every window's states, start and end tokens included
        text_vectors[i] = _unit(whole.mean(axis=0))
        content = np.concatenate([w[1:-1] for w in states[i]])
        span_vectors.append(_pool_spans(content, t.offsets, spans[i], text_vectors[i]))
    return text_vectors, span_vectors


def _run_windows(model: Model, tokens: list[Tokens], batch_size: int) -> list[list[np.ndarray]]:
    """Each text's token states, window by window: (window length + 2, dim) each, framed
    by the start and end tokens. Windows of similar length are batched together."""
    pieces = [(i, a, b) for i, t in enumerate(tokens) for a, b in windows(len(t.ids), model.max_tokens)]
    order = sorted(range(len(pieces)), key=lambda k: pieces[k][2] - pieces[k][1])
    done: dict[int, np.ndarray] = {}
    for s in range(0, len(order), batch_size):
        rows = order[s : s + batch_size]
        width = max(pieces[k][2] - pieces[k][1] for k in rows) + 2
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for j, k in enumerate(rows):
            i, a, b = pieces[k]
            ids[j, : b - a + 2] = [model.start_id, *tokens[i].ids[a:b], model.end_id]
            mask[j, : b - a + 2] = 1
        hidden = model.run(ids, mask)
        for j, k in enumerate(rows):
            _, a, b = pieces[k]
            done[k] = np.asarray(hidden[j, : b - a + 2], dtype=np.float32)
    states: list[list[np.ndarray]] = [[] for _ in tokens]
    for k, (i, _, _) in enumerate(pieces):  # pieces are in text order, windows in token order
        states[i].append(done.pop(k))
    return states


def _pool_spans(content: np.ndarray, offsets: list[Span], spans: Sequence[Span], fallback: np.ndarray) -> np.ndarray:
    """The mean state of the tokens inside each character span (unit length)."""
    starts = np.array([o[0] for o in offsets], dtype=np.int64)
    ends = np.array([o[1] for o in offsets], dtype=np.int64)
    out = np.zeros((len(spans), content.shape[1]), dtype=np.float32)
    for j, (a, b) in enumerate(spans):
        inside = (starts < b) & (ends > a)
        out[j] = _unit(content[inside].mean(axis=0)) if inside.any() else fallback
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)
