"""Late chunking: one encoder pass per chunk gives the chunk's and its sentences' vectors,
and a chunk longer than the model's window is read whole, never cut."""

from __future__ import annotations

import re

import numpy as np
import pytest

from assistant.late_chunking import Model, Tokens, encode_late, windows

DIM = 32
START, END = 1, 2


def _word_vector(word_id: int) -> np.ndarray:
    return np.random.default_rng(word_id).standard_normal(DIM).astype(np.float32)


def fake_model(max_tokens: int, calls: list[int]) -> Model:
    """Words are tokens; a token's state is a fixed random vector of its id (no context)."""
    vocab: dict[str, int] = {}

    def tokenize(texts: list[str]) -> list[Tokens]:
        out = []
        for text in texts:
            found = list(re.finditer(r"\w+", text))
            ids = [vocab.setdefault(m.group(), len(vocab) + 10) for m in found]
            out.append(Tokens(ids, [(m.start(), m.end()) for m in found]))
        return out

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        assert ids.shape[1] <= max_tokens  # never more than the model's window
        calls.append(int(mask.sum()))
        return np.stack([np.stack([_word_vector(int(i)) for i in row]) for row in ids])

    return Model(tokenize, run, START, END, max_tokens, DIM)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


@pytest.mark.fast
def test_windows_cover_every_token_once():
    assert windows(10, 6) == [(0, 4), (4, 8), (8, 10)]
    assert windows(4, 6) == [(0, 4)]
    assert windows(0, 6) == [(0, 0)]


@pytest.mark.fast
def test_a_chunk_longer_than_the_window_is_read_whole():
    calls: list[int] = []
    model = fake_model(max_tokens=8, calls=calls)
    words = [f"w{i}" for i in range(50)]
    text = " ".join(words)
    last = text.index("w47")
    vectors, sentences = encode_late(model, [text], [[(0, 5), (last, len(text))]], batch_size=4)
    # 50 words in windows of 6 (+ start and end): 9 windows, every token run once.
    assert sum(calls) == 50 + 2 * 9
    ids = model.tokenize([text])[0].ids
    # The last sentence (past any single window) is the mean of its own words' states.
    expected = unit(np.mean([_word_vector(i) for i in ids[47:]], axis=0))
    assert np.allclose(sentences[0][1], expected, atol=1e-5)
    # The chunk's vector holds every word, the last ones too, plus each window's start and end.
    states = [_word_vector(i) for i in ids] + [_word_vector(START), _word_vector(END)] * 9
    assert np.allclose(vectors[0], unit(np.mean(states, axis=0)), atol=1e-5)


@pytest.mark.fast
def test_a_span_without_tokens_gets_its_chunk_vector():
    model = fake_model(max_tokens=16, calls=[])
    vectors, sentences = encode_late(model, ["alpha beta", "gamma"], [[(0, 5), (5, 6)], []], batch_size=8)
    assert np.allclose(sentences[0][1], vectors[0])
    assert sentences[1].shape == (0, DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_the_real_model_reads_a_long_chunk_to_its_end(embedder):
    model = embedder.late_model()
    assert model is not None
    filler = "Meta updated its privacy policy and explained how public posts may be used. " * 60
    tail = "Residents of Norway can send the objection form by post."
    text = filler + tail
    assert len(model.tokenize([text])[0].ids) > 3 * model.max_tokens
    vectors, sentences = encode_late(model, [text], [[(len(filler), len(text))]])
    alone = embedder.encode([tail])[0]
    # The sentence in the fourth window is encoded from its own tokens (in context), not dropped.
    assert float(sentences[0][0] @ alone) > 0.6
    assert float(sentences[0][0] @ vectors[0]) < 0.95
    # A chunk that fits in one window gets exactly the model's own vector.
    short_vec, _ = encode_late(model, [tail], [[]])
    assert float(short_vec[0] @ alone) > 0.9999
