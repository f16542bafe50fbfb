"""A text longer than the model's window is read whole, never silently cut (windows.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from assistant.embedder import Embedder
from assistant.windows import FRAME, encode_whole, pieces


def _offsets(text: str) -> list[tuple[int, int]]:
    """A stand-in tokenizer: each word is one token, and so is each of its 3-letter parts."""
    return [
        (m.start() + k, min(m.end(), m.start() + k + 3))
        for m in re.finditer(r"\S+", text)
        for k in range(0, len(m.group()), 3)
    ]


@pytest.mark.fast
def test_pieces_cover_the_text_in_order_within_the_window_and_between_words():
    text = " ".join(f"word{i}" for i in range(300))
    offsets = _offsets(text)
    got = pieces(text, offsets, window=64)
    assert len(got) > 1
    assert sum(n for _, n in got) == len(offsets)
    assert " ".join(p for p, _ in got) == text  # nothing lost, nothing repeated, cut at spaces
    assert all(n <= 64 - FRAME for _, n in got)


@pytest.mark.fast
def test_only_texts_over_the_window_are_split_and_their_tail_counts():
    calls: list[list[str]] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        out = np.array([[len(t), t.count("privacy"), 1.0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def tokenize(texts: list[str]) -> list[list[tuple[int, int]]]:
        return [_offsets(t) for t in texts]

    short = "a short text"
    body = "filler " * 80
    a, b = body + "privacy " * 5, body + "cooking " * 5
    vectors = encode_whole(encode, tokenize, [short, a, b], window=32)
    assert calls[0][0] == short and short not in calls[0][1:]  # a short text is encoded as it is
    assert all(len(_offsets(t)) <= 32 - FRAME for t in calls[0])  # every piece fits the window
    assert not np.allclose(vectors[1], vectors[2])  # what comes after the window changes the vector
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_the_real_model_reads_past_its_window(backend, embedder):
    model = embedder if backend == "torch" and embedder.backend == "torch" else Embedder(backend=backend)
    opening = "This privacy notice explains how the service collects and uses information. " * 30
    us = opening + "People in the United States cannot object to AI training."
    eu = opening + "People in the European Union can object to AI training with a form."
    a, b, short = model.encode([us, eu, "Can I opt out from the US?"])
    assert float(a @ b) < 0.9999  # cut at the window, the two would be the same text
    assert np.allclose(short, model._run(["Can I opt out from the US?"])[0], atol=1e-6)  # a text that fits: unchanged
    closing = model.encode(["People in the United States cannot object to AI training."])[0]
    assert float(a @ closing) > float(b @ closing)
