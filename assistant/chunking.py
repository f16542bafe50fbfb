"""Stage 2: section-aware chunks with exact offsets -> Chunk.

A section is a heading plus the paragraphs under it. A heading always travels with
the first paragraph it heads (so "Can US users opt out?" stays with its answer),
chunks never cross a section boundary, and `doc.text[chunk.start:chunk.end] ==
chunk.text`. Every chunk lists its sentences as offsets into the document too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import jurisdiction
from .text import is_heading_line, sentence_spans
from .types import Chunk, Document, Sentence

MAX_CHARS = 700


@dataclass
class _Block:
    start: int
    end: int
    heading: bool


def _blocks(text: str) -> list[_Block]:
    """Lines as blocks; a run of wrapped lines forms one paragraph block."""
    blocks: list[_Block] = []
    pos = 0
    for line in text.split("\n"):
        a, b = pos, pos + len(line)
        pos = b + 1
        if not line.strip():
            continue
        heading = is_heading_line(line)
        prev = blocks[-1] if blocks else None
        joined = prev and not prev.heading and not heading and text[prev.end : a] == "\n" and _is_wrap(text, prev, a)
        if prev and joined:
            prev.end = b
        else:
            blocks.append(_Block(a, b, heading))
    # A "heading" with no body after it (last line of the document) is body text.
    if blocks and blocks[-1].heading:
        blocks[-1].heading = False
    return blocks


def _is_wrap(text: str, prev: _Block, nxt_start: int) -> bool:
    spans = sentence_spans(text, prev.start, nxt_start + 1)
    return bool(spans) and spans[-1][1] > prev.end  # last sentence runs across the newline


def _sections(blocks: list[_Block]) -> list[tuple[list[_Block], list[_Block]]]:
    """(headings, body) pairs; consecutive headings stack onto the next body."""
    sections: list[tuple[list[_Block], list[_Block]]] = []
    headings: list[_Block] = []
    body: list[_Block] = []
    for block in blocks:
        if block.heading:
            if body:
                sections.append((headings, body))
                headings, body = [], []
            headings.append(block)
        else:
            body.append(block)
    if headings or body:
        sections.append((headings, body))
    return sections


def _pieces(text: str, block: _Block, max_chars: int) -> list[tuple[int, int]]:
    """A block as one piece, or split at sentence ends when it is longer than max_chars."""
    if block.end - block.start <= max_chars:
        return [(block.start, block.end)]
    pieces: list[tuple[int, int]] = []
    for a, b in sentence_spans(text, block.start, block.end):
        if pieces and b - pieces[-1][0] <= max_chars:
            pieces[-1] = (pieces[-1][0], b)
        else:
            pieces.append((a, b))
    return pieces


# complexity: one pass over the blocks with all size rules together (see the module docstring)
def chunk_document(doc: Document, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Split a document into chunks; see the module docstring for the guarantees."""
    text = doc.text
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for headings, body in _sections(_blocks(text)):
        section = text[headings[-1].start : headings[-1].end].strip().lstrip("#").strip() if headings else ""
        spans: list[tuple[int, int]] = []
        for block in body:
            for a, b in _pieces(text, block, max_chars):
                if spans and b - spans[-1][0] <= max_chars:
                    spans[-1] = (spans[-1][0], b)
                else:
                    spans.append((a, b))
        if headings:
            first = (headings[0].start, spans[0][1]) if spans else (headings[0].start, headings[-1].end)
            spans = [first, *spans[1:]]
        heading_ranges = [(h.start, h.end) for h in headings]
        for a, b in spans:
            body_text = text[a:b]
            sentences = tuple(
                Sentence(s, e)
                for s, e in sentence_spans(text, a, b)
                if not any(hs <= s and e <= he for hs, he in heading_ranges)
            )
            digest = hashlib.sha256(f"{section}\n{body_text}".encode()).hexdigest()[:12]
            n = seen.get(digest, 0)
            seen[digest] = n + 1
            chunks.append(
                Chunk(
                    id=f"{doc.id}#{digest}" + (f"-{n}" if n else ""),
                    doc_id=doc.id,
                    text=body_text,
                    start=a,
                    end=b,
                    section=section,
                    jurisdictions=tuple(jurisdiction.detect(f"{section}\n{body_text}")),
                    sentences=sentences,
                )
            )
    return chunks


def embedding_text(chunk: Chunk) -> str:
    """What gets embedded: the chunk, prefixed by its section heading when the chunk lacks it."""
    if chunk.section and not chunk.text.lstrip("# ").startswith(chunk.section):
        return f"{chunk.section}\n{chunk.text}"
    return chunk.text


def twins(chunks: list[Chunk], rows: dict[str, tuple[int, int]]) -> dict[str, str]:
    """New chunk id -> the id of an indexed chunk of another document with the same heading
    and text (a section a new version of a policy keeps), by the digest in their ids (see
    chunk_document); only when their sentence counts agree. `rows`: the indexed chunks'
    sentence rows (ChunkColumns.sentence_rows)."""
    by_digest = {cid.rpartition("#")[2]: cid for cid in rows}
    out = {}
    for c in chunks:
        was = by_digest.get(c.id.rpartition("#")[2])
        if c.id not in rows and was is not None and rows[was][1] - rows[was][0] == len(c.sentences):
            out[c.id] = was
    return out
