"""Progress on a terminal must not change what is computed."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from assistant import progress

pytestmark = pytest.mark.fast


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def encode(texts: list[str]) -> np.ndarray:
    return np.array([[len(t), i] for i, t in enumerate(texts)], dtype=np.float32)


def test_a_first_build_on_a_terminal_shows_progress_and_the_same_vectors(monkeypatch):
    texts = [f"sentence {i}" for i in range(progress.PROGRESS_BATCH * 2 + 7)]
    plain = encode(texts)[:, 0]
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    shown = progress.encode_with_progress(encode, texts, "Embedding 9 chunks and their sentences")
    assert np.array_equal(shown[:, 0], plain) and len(shown) == len(texts)
    assert "Embedding 9 chunks and their sentences" in terminal.getvalue()


def test_no_bar_off_a_terminal(monkeypatch):
    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    texts = ["a"] * (progress.PROGRESS_BATCH * 2)
    assert np.array_equal(progress.encode_with_progress(encode, texts, "Embedding"), encode(texts))
    assert quiet.getvalue() == ""
