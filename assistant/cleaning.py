"""Cleaning a document's text: page furniture removed, every sentence of the article kept verbatim."""

from __future__ import annotations

import re
import unicodedata

from .text import CONTROL_CHARS, INVISIBLE_CHARS

_FURNITURE_LINE = re.compile(
    r"^(?:scroll (?:to )?top|back to top|related (?:posts|articles|stories|content)|you may also like"
    r"|share(?: this(?: article| post)?| on \w+)?|advertisement|skip to (?:main )?content|read more"
    r"|subscribe(?: now)?|sign up for (?:our|the) newsletter.*|print|email|tweet|follow us.*"
    r"|all rights reserved.*|©.*|copyright ©.*|we use cookies.*|accept (?:all )?cookies"
    r"|table of contents|menu|search|home)\W*$",
    re.IGNORECASE,
)
_GLUED_TAIL = re.compile(r"(?<=[.!?\u201d\"')])\s*(?:scroll (?:to )?top|back to top|related posts)\s*$", re.IGNORECASE)
_EDITOR_NOTE = re.compile(
    r"^(?:editors?[\u2019']?s?[\u2019']? note|note from the editor|disclosure)\s*:", re.IGNORECASE
)


def clean_text(text: str, title: str = "") -> str:
    """Remove page furniture; keep every sentence of the article itself verbatim."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = CONTROL_CHARS.sub("", INVISIBLE_CHARS.sub("", text)).replace("\t", " ")
    lines = [_GLUED_TAIL.sub("", line.rstrip()) for line in text.split("\n")]
    lines = [line for line in lines if not _FURNITURE_LINE.match(line.strip())]
    lines = _drop_leading_banner(lines, title)
    # Editor's notes about the publisher's own practices sit at the very start or end.
    content = [i for i, line in enumerate(lines) if line.strip()]
    edges = set(content[:2] + content[-2:])
    lines = [line for i, line in enumerate(lines) if not (i in edges and _EDITOR_NOTE.match(line.strip()))]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return out.strip()


def _drop_leading_banner(lines: list[str], title: str) -> list[str]:
    """A site banner above the article title ("Republic of ...", a site name) is not content."""
    want = _norm_title(title)
    if not want:
        return lines
    for i, line in enumerate(lines[:8]):
        if _norm_title(line) == want:
            head = [x for x in lines[:i] if x.strip()]
            if all(len(x.strip()) < 80 for x in head):
                return lines[i:]
            return lines
    return lines


def _norm_title(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lstrip("# ").casefold()).strip()
