from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from assistant.cleaning import clean_text
from assistant.manifest import load_manifest
from assistant.sources import load_corpus
from assistant.types import AssistantError


def test_seed_documents_load_with_manifest_metadata(fresh):
    docs = {d.id: d for d in load_corpus(fresh.corpus).documents}
    assert set(docs) == {"cnet-2024-06-opt-out", "ttcsirt-2024-meta-public-posts"}
    cnet = docs["cnet-2024-06-opt-out"]
    assert cnet.publisher == "CNET" and cnet.published == "2024-06-03" and cnet.kind == "news"
    assert cnet.jurisdictions == ("EU", "US")
    assert cnet.content_hash == hashlib.sha256(cnet.text.encode()).hexdigest()


def test_page_furniture_is_removed_and_content_kept(fresh):
    docs = {d.id: d for d in load_corpus(fresh.corpus).documents}
    cnet, tt = docs["cnet-2024-06-opt-out"].text, docs["ttcsirt-2024-meta-public-posts"].text
    for furniture in ("Scroll Top", "Editors’ note", "CNET used an AI engine"):
        assert furniture not in cnet
    assert "Related Posts" not in tt
    assert not tt.startswith("Republic of Trinidad and Tobago")  # site banner above the title
    assert "At the moment, no." in cnet
    assert cnet.rstrip().endswith("remains to be seen.")
    assert "To eliminate this possibility" in tt


def test_cleaning_keeps_sentences_verbatim():
    raw = "Skip to content\nTitle\nA sentence with “quotes”.\nAnother one.Scroll Top\nShare this\n"
    assert clean_text(raw, "Title") == "Title\nA sentence with “quotes”.\nAnother one."


def test_loose_files_are_indexed_with_their_own_title(fresh):
    (fresh.corpus / "docs" / "extra-notes.md").write_text("# Notes on objecting\n\nSome text here.\n", "utf-8")
    (fresh.corpus / "docs" / "page.html").write_text(
        "<html><head><title>A help page</title><script>alert('x')</script></head>"
        "<body><article><h1>A help page</h1><p>You can object through the form in Settings. "
        "The form asks for your email address and a reason.</p></article></body></html>",
        "utf-8",
    )
    docs = {d.id: d for d in load_corpus(fresh.corpus).documents}
    assert docs["extra-notes"].title == "Notes on objecting"
    assert "object through the form" in docs["page"].text
    assert "alert" not in docs["page"].text


def test_any_folder_without_manifest_or_docs_dir(tmp_path):
    (tmp_path / "a.txt").write_text("Policy A\nUsers may object by email.\n", "utf-8")
    docs = load_corpus(tmp_path).documents
    assert [d.id for d in docs] == ["a"] and docs[0].title == "Policy A"


def _manifest(corpus: Path, text: str) -> None:
    (corpus / "sources.toml").write_text(text, "utf-8")


def test_manifest_syntax_error_names_the_line(fresh):
    _manifest(fresh.corpus, '[[source]]\nid = "a"\ntitle = "unterminated\n')
    with pytest.raises(AssistantError, match=r"sources\.toml:3: TOML syntax error"):
        load_manifest(fresh.corpus)


def test_duplicate_id_names_both_lines(fresh):
    entry = '[[source]]\nid = "same"\ntitle = "T"\npath = "docs/x.txt"\n\n'
    _manifest(fresh.corpus, entry + entry)
    with pytest.raises(AssistantError, match=r"sources\.toml:6: duplicate id 'same' \(first at line 1\)"):
        load_manifest(fresh.corpus)


def test_bad_id_and_unknown_field_are_reported(fresh):
    _manifest(fresh.corpus, '[[source]]\nid = "Bad ID!"\ntitle = "T"\npath = "docs/x.txt"\n')
    with pytest.raises(AssistantError, match=r"sources\.toml:1: source 'Bad ID!': id"):
        load_manifest(fresh.corpus)
    _manifest(fresh.corpus, '[[source]]\nid = "ok"\ntitle = "T"\npath = "docs/x.txt"\ncolour = "red"\n')
    with pytest.raises(AssistantError, match="colour"):
        load_manifest(fresh.corpus)


def test_missing_file_and_non_utf8_file_are_named(fresh):
    _manifest(fresh.corpus, '[[source]]\nid = "gone"\ntitle = "T"\npath = "docs/gone.md"\n')
    (fresh.corpus / "docs" / "latin1.txt").write_bytes("Caf\xe9 policy\n".encode("latin-1"))
    with pytest.raises(AssistantError) as err:
        load_corpus(fresh.corpus)
    lines = str(err.value).splitlines()
    assert any("docs/gone.md: file does not exist" in line for line in lines)
    assert any("latin1.txt: not UTF-8 text" in line for line in lines)
