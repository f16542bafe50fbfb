"""How a chunk's vector and its sentences' vectors are made (Settings.vectors).

- "two-pass" (the default): each chunk (with its heading) and each of its sentences is
  encoded on its own. Every token is encoded twice.
- "pooled": each sentence is encoded on its own, each section heading once; a chunk's
  vector is the length-weighted mean of its heading's and its sentences' vectors. Every
  token is encoded once, in short sequences; sentence vectors are the two-pass ones.
- "late": each chunk is encoded once, whole, in windows of the model's length; each
  sentence's vector is pooled from the chunk's token states (late_chunking.py). Every
  token is encoded once, and read in its chunk's context. A model whose pooling does not
  allow it (CLS pooling) falls back to two-pass.

A text met more than once in one build (boilerplate repeated across pages) is encoded
once; with "two-pass", a sentence the index already has (kept from one version of a policy
to the next, or in an edited section) is not encoded again.

`bench/vectors.py` measures the speed of each; the eval figures of each are in the README.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .embedder import TextEncoder
from .late_chunking import Model, encode_late
from .progress import encode_with_progress
from .types import Chunk

Made = list[tuple[np.ndarray, np.ndarray]]  # per chunk: (its vector, its sentences' vectors)


def make_vectors(
    encoder: TextEncoder,
    how: str,
    chunks: Sequence[Chunk],
    texts: Sequence[str],
    sentences: Sequence[Sequence[str]],
    known: Mapping[str, np.ndarray] | None = None,
) -> Made:
    """Vectors for `chunks`, whose embedded texts are `texts` and sentence texts `sentences`.
    `known`: vectors of sentences as the index already has them (by text); "two-pass"
    takes them instead of encoding the sentence again (in the other ways a sentence's
    vector also depends on its chunk)."""
    if how == "late":
        late = getattr(encoder, "late_model", None)
        model = late() if late else None
        if model is not None:
            return _late(encoder, model, chunks, texts)
    if how == "pooled":
        return _pooled(encoder, chunks, texts, sentences)
    return _two_pass(encoder, texts, sentences, known or {})


def _encode_once(
    encoder: TextEncoder, texts: list[str], desc: str, known: Mapping[str, np.ndarray] | None = None
) -> np.ndarray:
    """One vector per text: from `known` when it has the text, else encoded (each distinct text once)."""
    known = known or {}
    row: dict[str, int] = {}
    which = np.fromiter((row.setdefault(t, len(row)) for t in texts), np.int64, len(texts))
    distinct = list(row)
    if not known and len(distinct) == len(texts):
        return np.asarray(encode_with_progress(encoder.encode, texts, desc))
    missing = [t for t in distinct if t not in known]
    encoded = dict(zip(missing, np.asarray(encode_with_progress(encoder.encode, missing, desc)), strict=True))
    return np.stack([encoded[t] if t in encoded else np.asarray(known[t], np.float32) for t in distinct])[which]


def _two_pass(
    encoder: TextEncoder, texts: Sequence[str], sentences: Sequence[Sequence[str]], known: Mapping[str, np.ndarray]
) -> Made:
    flat = [s for group in sentences for s in group]
    # One encode call for both keeps the batches full.
    desc = f"Embedding {len(texts):,} chunks and their sentences"
    chunk_texts = set(texts)  # a chunk's own vector is always encoded (the index keeps sentences at half precision)
    reused = {s: known[s] for s in flat if s in known and s not in chunk_texts}
    encoded = _encode_once(encoder, [*texts, *flat], desc, reused)
    out: Made = []
    cursor = len(texts)
    for i, group in enumerate(sentences):
        out.append((encoded[i], encoded[cursor : cursor + len(group)]))
        cursor += len(group)
    return out


def _pooled(
    encoder: TextEncoder, chunks: Sequence[Chunk], texts: Sequence[str], sentences: Sequence[Sequence[str]]
) -> Made:
    headed = [c.section if text != c.text else "" for c, text in zip(chunks, texts, strict=True)]
    headings = sorted({h for h in headed if h})
    flat = [s for group in sentences for s in group]
    encoded = _encode_once(encoder, [*flat, *headings], f"Embedding the sentences of {len(texts):,} chunks")
    heading_vectors = dict(zip(headings, encoded[len(flat) :], strict=True))
    out: Made = []
    cursor = 0
    for text, heading, group in zip(texts, headed, sentences, strict=True):
        rows = encoded[cursor : cursor + len(group)]
        cursor += len(group)
        parts = [(len(s), v) for s, v in zip(group, rows, strict=True)]
        if heading:
            parts.append((len(heading), heading_vectors[heading]))
        if not parts:  # a chunk without sentences: its own text, encoded
            out.append((encoder.encode([text])[0], rows))
            continue
        mean = sum(w * v for w, v in parts) / sum(w for w, _ in parts)
        out.append((mean / max(float(np.linalg.norm(mean)), 1e-12), rows))
    return out


def _late(encoder: TextEncoder, model: Model, chunks: Sequence[Chunk], texts: Sequence[str]) -> Made:
    spans = []
    for c, text in zip(chunks, texts, strict=True):
        shift = len(text) - len(c.text) - c.start  # a section heading put before the chunk's text
        spans.append([(s.start + shift, s.end + shift) for s in c.sentences])
    batch = int(getattr(encoder, "batch_size", 32))
    vectors, sentence_vectors = encode_late(model, texts, spans, batch)
    return list(zip(vectors, sentence_vectors, strict=True))
