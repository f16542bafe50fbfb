"""Progress on stderr for long steps (eval runs, first index builds): what, how far, how long left."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def progress(items: list[T], quiet: bool, desc: str, unit: str = "q") -> Iterable[T]:
    if quiet:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit=unit, file=sys.stderr, mininterval=0.5, dynamic_ncols=True)


PROGRESS_BATCH = 512  # texts per step of an encoding progress bar (the encoder batches within it)


def encode_with_progress(encode: Callable[[list[str]], Any], texts: list[str], desc: str) -> Any:
    """encode(texts), with a progress bar when stderr is an interactive terminal and the
    texts are many (a first build: what is happening, how far, how long left)."""
    if len(texts) <= PROGRESS_BATCH or not sys.stderr.isatty():
        return encode(texts)
    import numpy as np

    steps = list(range(0, len(texts), PROGRESS_BATCH))
    return np.concatenate([encode(texts[i : i + PROGRESS_BATCH]) for i in progress(steps, False, desc, "batch")])
