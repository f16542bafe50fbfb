"""Texts longer than the model's window, encoded whole instead of cut.

The model reads at most its window of tokens (256 for all-MiniLM-L6-v2, start and end
tokens included) and would silently drop the rest. A longer text is split, between words,
into pieces that fit, each piece is encoded, and the text's vector is the mean of the
pieces' vectors weighted by their tokens, made unit length again. A text that fits is
encoded as it is, so its vector does not change. Chunks are cut at MAX_CHARS characters
(chunking.py), which is well inside the window for prose; this is for what is not: a
single long legal sentence, a run of URLs or figures, a language that needs more tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Offsets = list[tuple[int, int]]  # each token's (start, end) in its text, no start or end token
FRAME = 2  # the start and end tokens the model adds to every text
MARGIN = 8  # tokens kept free in a piece: a piece re-tokenized alone may split a little differently


def pieces(text: str, offsets: Offsets, window: int) -> list[tuple[str, int]]:
    """(piece, its tokens) covering text in order, each at most `window` tokens with its
    frame; cut before a token that starts a word, when the piece has one."""
    size = max(1, window - FRAME - MARGIN)
    out: list[tuple[str, int]] = []
    first = 0
    while first < len(offsets):
        last = min(first + size, len(offsets))
        if last < len(offsets):  # cut before the last word start of the piece's second half
            starts_word = [k for k in range(first + max(1, size // 2), last + 1) if offsets[k][0] > offsets[k - 1][1]]
            last = starts_word[-1] if starts_word else last
        out.append((text[offsets[first][0] : offsets[last - 1][1]], last - first))
        first = last
    return out


def encode_whole(
    encode: Callable[[list[str]], np.ndarray],
    tokenize: Callable[[list[str]], list[Offsets]],
    texts: Sequence[str],
    window: int,
) -> np.ndarray:
    """encode(texts), with every text longer than `window` tokens read whole (pieces()).

    Args:
        encode: the model's encoder (unit-length vectors; cuts a text at its window).
        tokenize: each text's token offsets, without the start and end tokens, not cut.
        texts: what to encode.
        window: the most tokens the model reads, start and end tokens included.
    """
    long = _too_long(tokenize, texts, window)
    if not long:
        return encode(list(texts))
    split = {i: pieces(texts[i], offsets, window) for i, offsets in long.items()}
    short = [i for i in range(len(texts)) if i not in split]
    vectors = encode([texts[i] for i in short] + [p for i in split for p, _ in split[i]])
    out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    out[short] = vectors[: len(short)]
    row = len(short)
    for i, parts in split.items():
        weights = np.array([n for _, n in parts], dtype=np.float32)
        mean = weights @ vectors[row : row + len(parts)]
        out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        row += len(parts)
    return out


def _too_long(tokenize: Callable[[list[str]], list[Offsets]], texts: Sequence[str], window: int) -> dict[int, Offsets]:
    """The texts over the window, by position, with their token offsets."""
    # A token covers at least one character, so only texts this long can be too long.
    maybe = [i for i, t in enumerate(texts) if len(t) > window - FRAME]
    if not maybe:
        return {}
    found = zip(maybe, tokenize([texts[i] for i in maybe]), strict=True)
    return {i: offsets for i, offsets in found if len(offsets) > window - FRAME}
