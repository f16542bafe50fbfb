from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.chunking import chunk_document
from assistant.cleaning import clean_text
from assistant.sources import load_corpus
from assistant.types import Document


def _check_invariants(doc: Document) -> None:
    chunks = chunk_document(doc)
    previous_end = 0
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        # no overlap, and what lies between chunks is only whitespace (overlap 0 is declared)
        assert chunk.start >= previous_end
        assert doc.text[previous_end : chunk.start].strip() == ""
        previous_end = chunk.end
        for s in chunk.sentences:
            assert chunk.start <= s.start < s.end <= chunk.end
            assert doc.text[s.start : s.end] == doc.text[s.start : s.end].strip()
    assert doc.text[previous_end:].strip() == ""


def test_seed_chunks_have_exact_offsets(fresh):
    for doc in load_corpus(fresh.corpus).documents:
        _check_invariants(doc)


def test_question_heading_stays_with_its_paragraph(fresh):
    cnet = next(d for d in load_corpus(fresh.corpus).documents if d.id.startswith("cnet"))
    chunk = next(c for c in chunk_document(cnet) if "At the moment, no." in c.text)
    assert chunk.text.startswith("Can US users opt out?")
    assert chunk.section == "Can US users opt out?"
    first = cnet.text[chunk.sentences[0].start : chunk.sentences[0].end]
    assert first == "At the moment, no."  # the heading itself is not an evidence sentence
    assert "US" in chunk.jurisdictions


def test_every_sentence_is_addressable(fresh):
    tt = next(d for d in load_corpus(fresh.corpus).documents if d.id.startswith("ttcsirt"))
    sentences = [tt.text[s.start : s.end] for c in chunk_document(tt) for s in c.sentences]
    assert "This becomes effective on June 26th, 2024." in sentences
    assert "They won’t use your private messages or anything you’ve posted privately." in sentences


_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9)
_sentence = st.builds(
    lambda ws, end: " ".join(ws).capitalize() + end,
    st.lists(_word, min_size=1, max_size=14),
    st.sampled_from([".", "?", "!", ""]),
)
_paragraph = st.lists(_sentence, min_size=1, max_size=12).map(" ".join)
_block = st.one_of(_paragraph, _sentence.map(lambda s: "# " + s), _sentence.map(lambda s: "  • " + s))


@settings(max_examples=150, deadline=None)
@given(st.lists(_block, min_size=1, max_size=25), st.sampled_from(["\n", "\n\n", "\n\n\n"]))
def test_chunk_invariants_hold_for_any_text(blocks, sep):
    text = clean_text(sep.join(blocks))
    if text:
        _check_invariants(Document(id="x", title="x", text=text))
