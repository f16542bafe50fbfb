""".docx, .pptx and .epub documents, read through llama-index's file readers and then cleaned,
chunked and cited like every other format; llama-index stays out of the question path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.answer import open_answerer
from assistant.cli import main
from assistant.config import Settings
from assistant.index import open_index
from assistant.readers import read_document
from assistant.refresh import refresh
from assistant.sources import load_corpus
from assistant.types import AssistantError

from .conftest import ROOT

QUESTION = "How long does Atlantis Social take to answer an objection to AI training?"
ANSWER = "Atlantis Social answers every objection within 30 days of receiving it."


def write_docx(path: Path) -> None:
    """A real Word document: a title, question headings, paragraphs, a table."""
    import docx

    doc = docx.Document()
    doc.add_heading("Atlantis Social data policy", 0)
    doc.add_heading("Can I object to AI training?", 1)
    doc.add_paragraph(
        "Yes. Atlantis Social lets every member object to the use of their public posts for training "
        "its AI models, through the objection form in the privacy settings."
    )
    doc.add_heading("How long does it take?", 1)
    doc.add_paragraph(ANSWER + " The answer is sent to the email address of the account.")
    table = doc.add_table(rows=2, cols=2)
    for (row, col), text in {(0, 0): "Request", (0, 1): "Deadline", (1, 0): "Objection", (1, 1): "30 days"}.items():
        table.cell(row, col).text = text
    doc.save(str(path))


def test_a_docx_policy_is_indexed_answered_and_cited_with_exact_offsets(fresh, embedder, capsys):
    write_docx(fresh.corpus / "docs" / "atlantis-policy.docx")
    report = refresh(fresh, embedder=embedder)
    assert "atlantis-policy" in report.added and not report.failed

    index = open_index(fresh, embedder)
    doc = index.documents["atlantis-policy"]
    assert doc.title == "Atlantis Social data policy" and ANSWER in doc.text
    assert "Deadline" in doc.text  # table cells are text too
    answer = open_answerer(fresh, embedder=embedder).answer(QUESTION)
    assert not answer.abstained and answer.citations
    first = answer.citations[0]
    assert first.doc_id == "atlantis-policy" and ANSWER in first.quote
    for c in answer.citations:  # every citation is an exact slice of the stored text
        assert index.documents[c.doc_id].text[c.start : c.end] == c.quote

    # the command line, as a user runs it
    assert main(["ask", QUESTION, "--json", "--home", str(fresh.home), "--corpus", str(fresh.corpus)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["citations"][0]["doc_id"] == "atlantis-policy" and ANSWER in printed["citations"][0]["quote"]


def test_an_unreadable_docx_is_one_line_and_its_last_indexed_version_is_kept(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.txt").write_text("Notes\n\nMembers can write to the privacy office at any time.\n", "utf-8")
    policy = corpus / "atlantis-policy.docx"
    write_docx(policy)
    settings = Settings(home=tmp_path / "home", corpus=corpus)
    refresh(settings, embedder=embedder)

    policy.write_bytes(b"PK\x03\x04 this is not a Word document any more")
    report = refresh(settings, embedder=embedder)
    reason = report.failed["atlantis-policy"]
    assert reason == f"{policy}: unreadable .docx file (File is not a zip file)"
    assert "atlantis-policy" in open_index(settings, embedder).documents  # the last good version answers

    state = (settings.index_dir / "state.json").read_bytes()
    with pytest.raises(AssistantError, match=r"atlantis-policy\.docx: unreadable \.docx file"):
        refresh(settings, embedder=embedder, strict=True)
    assert (settings.index_dir / "state.json").read_bytes() == state  # strict: nothing written


def test_a_missing_parser_is_named_on_one_line(tmp_path, monkeypatch):
    write_docx(tmp_path / "policy.docx")
    monkeypatch.setitem(sys.modules, "docx2txt", None)  # as if it were not installed
    with pytest.raises(AssistantError, match=r"policy\.docx: reading \.docx files needs docx2txt \(DocxReader\)$"):
        read_document(tmp_path, "policy.docx", None, "policy")


def test_pptx_and_epub_are_read_through_llama_index(tmp_path):
    import pptx
    from ebooklib import epub

    deck = pptx.Presentation()
    for title, body in (
        ("Objecting in the UK", "UK users may object by email.\nThe office answers within 30 days."),
        ("After an objection", "Posts are no longer used for training."),
    ):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    deck.slides[0].notes_slide.notes_text_frame.text = "Say that the form is in Settings."
    deck.save(str(tmp_path / "deck.pptx"))

    book = epub.EpubBook()
    book.set_identifier("policy-book")
    book.set_title("Policy book")
    book.set_language("en")
    chapter = epub.EpubHtml(title="Canada", file_name="canada.xhtml", lang="en")
    chapter.content = "<h1>Members in Canada</h1><p>Members in Canada can ask for a copy of their data.</p>"
    book.add_item(chapter)
    book.toc = (chapter,)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = [chapter]
    epub.write_epub(str(tmp_path / "book.epub"), book)

    docs = {d.id: d for d in load_corpus(tmp_path).documents}
    slides = docs["deck"]
    assert slides.title == "Objecting in the UK" and slides.kind == "other"
    assert slides.text.startswith("Objecting in the UK\nUK users may object by email.")  # the reader's frame is gone
    assert "Title:" not in slides.text and "-----" not in slides.text
    assert slides.text.index("within 30 days") < slides.text.index("Posts are no longer")  # slides in order
    assert "Say that the form is in Settings." in slides.text  # speaker notes are text too
    assert docs["book"].title == "Members in Canada"
    assert "Members in Canada can ask for a copy of their data." in docs["book"].text
    assert docs["book"].jurisdictions == ("CA",)


def test_a_cold_ask_and_loading_a_corpus_without_such_files_never_import_llama_index(seed_settings, us_quote):
    script = (
        "import runpy, sys\n"
        "from pathlib import Path\n"
        "sys.argv = ['assistant', 'ask', 'Can I opt out from the US?']\n"
        "try:\n    runpy.run_module('assistant', run_name='__main__')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "from assistant.sources import load_corpus\n"
        f"assert len(load_corpus(Path({str(seed_settings.corpus)!r})).documents) == 2\n"
        "print('LLAMA', 'llama_index' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_HOME=str(seed_settings.home), ASSISTANT_CORPUS=str(seed_settings.corpus))
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert us_quote in out.stdout
    assert "LLAMA False" in out.stdout
