"""Typos in a question, corrected toward the documents' words before searching.

A question word that is neither a word of the documents nor an English word is
replaced by a word one edit away (a letter dropped, added or changed, or two letters
swapped) that the documents use or that is one of the small words of English: "usin"
-> "using", "privcy" -> "privacy", "teh" -> "the"; the most frequent such word when
there are several. English words and their frequencies are symspellpy's list (82,765
words, from Google Books n-grams checked against a spelling dictionary). Words of one
or two letters and words with digits are left alone.
"""

from __future__ import annotations

import importlib.util
import re
import string
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from .text import STOPWORDS
from .types import AssistantError

_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
MIN_LENGTH = 3


@lru_cache(maxsize=1)
def english() -> dict[str, int]:
    """English word -> frequency."""
    spec = importlib.util.find_spec("symspellpy")  # the data file only: the package is not imported
    if spec is None or spec.origin is None:
        raise AssistantError("symspellpy is not installed; run `make install`")
    parts = (Path(spec.origin).parent / "frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8").split()
    return dict(zip(parts[::2], map(int, parts[1::2]), strict=True))


def edits1(word: str) -> set[str]:
    """Every string one edit from word (Damerau-Levenshtein)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    letters = string.ascii_lowercase
    deletes = [a + b[1:] for a, b in splits if b]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in letters]
    inserts = [a + c + b for a, b in splits for c in letters]
    return set(deletes + swaps + replaces + inserts)


def correct_word(word: str, uses: Callable[[str], bool]) -> str:
    """The word, or its correction (lower case) when it is a typo; see the module's rules.

    `uses` says whether the documents use a word (any form of it).
    """
    low = word.lower().replace("’", "'")
    if len(low) < MIN_LENGTH or "'" in low or low in STOPWORDS or low in english() or uses(low):
        return word
    eng = english()
    # Only toward the documents' words and the small words of English: an English word
    # the documents do not use would match nothing and lose what was meant ("insta" -> "instr").
    fits = [w for w in edits1(low) if w in STOPWORDS or (w in eng and uses(w))]
    return max(fits, key=lambda w: eng.get(w, 0)) if fits else word


def correct(text: str, uses: Callable[[str], bool]) -> str:
    """text with its typos corrected (`uses`: see correct_word).

    Names are left as written: a word with a capital inside it ("TikTok", "DMs") or
    capitalised after a sentence's first word ("Lyon").
    """

    def fix(m: re.Match[str]) -> str:
        word = m.group()
        before = text[: m.start()].rstrip()
        first = not before or before[-1] in '.!?:;"“('
        if any(c.isupper() for c in word[1:]) or (word[0].isupper() and not first):
            return word
        return correct_word(word, uses)

    return _TOKEN.sub(fix, text)
