"""Progress on stderr for long steps (eval runs, first index builds): what, how far, how long left."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def progress(items: list[T], quiet: bool, desc: str, unit: str = "q") -> Iterable[T]:
    if quiet:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit=unit, file=sys.stderr, mininterval=0.5, dynamic_ncols=True)
