"""Small fakes behind the project's own interfaces, for fast unit tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from assistant.lexical import lexical_tokens


class HashingEncoder:
    """A deterministic `TextEncoder`: stemmed words hashed into a fixed number of dimensions.

    Texts that share words get similar vectors, texts that share none are orthogonal
    (up to hash collisions). No model, no download, microseconds per text.
    """

    name = "test-hashing-encoder"

    def __init__(self, dim: int = 4096) -> None:
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in lexical_tokens(text):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self._dim] += 1.0 if digest[4] % 2 else -1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out
