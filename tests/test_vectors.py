"""The three ways of making vectors (Settings.vectors): what each encodes, what the index
records, and that changing the way re-embeds everything."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.generation import GenerationFiles
from assistant.index import live_generation, open_index
from assistant.refresh import refresh
from tests.fakes import HashingEncoder

FIXTURE = Path(__file__).parent / "fixtures" / "policies"


class CountingEncoder(HashingEncoder):
    """The hashing encoder, counting the texts it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return super().encode(texts)


def _build(tmp_path: Path, how: str, encoder: HashingEncoder, home: str = "home") -> Settings:
    if not (tmp_path / "corpus").exists():
        shutil.copytree(FIXTURE, tmp_path / "corpus")
    settings = Settings(home=tmp_path / home, corpus=tmp_path / "corpus", vectors=how)
    refresh(settings, embedder=encoder, fetch=False)
    return settings


@pytest.mark.fast
def test_pooled_encodes_each_sentence_once_and_no_chunk(tmp_path):
    two, pooled = CountingEncoder(), CountingEncoder()
    a = _build(tmp_path, "two-pass", two, "a")
    b = _build(tmp_path, "pooled", pooled, "b")
    index_a, index_b = open_index(a, two), open_index(b, pooled)
    chunk_texts = {c.text for c in index_a.chunks}
    assert chunk_texts & set(two.texts)  # two-pass encodes the chunks...
    assert not chunk_texts & set(pooled.texts)  # ...pooled does not
    assert len(pooled.texts) < len(two.texts)
    # The sentence vectors, which pick the quoted sentence, are the same either way.
    assert np.array_equal(
        GenerationFiles(a.index_dir / index_a.generation.name).sentence_vectors(),
        GenerationFiles(b.index_dir / index_b.generation.name).sentence_vectors(),
    )
    assert index_b.generation.vectors == "pooled" and index_a.generation.vectors == "two-pass"


@pytest.mark.fast
def test_changing_the_way_vectors_are_made_re_embeds_everything(tmp_path):
    encoder = HashingEncoder()
    settings = _build(tmp_path, "two-pass", encoder)
    chunks = live_generation(settings).chunk_count  # type: ignore[union-attr]
    again = refresh(settings.model_copy(update={"vectors": "pooled"}), embedder=encoder, fetch=False)
    assert again.embedded_chunks == chunks
    assert "from two-pass to pooled" in again.reason
    assert live_generation(settings).vectors == "pooled"  # type: ignore[union-attr]
    # Late chunking needs a model's token states: the hashing encoder has none, so two-pass
    # vectors are made, and the index says what was asked for.
    late = refresh(settings.model_copy(update={"vectors": "late"}), embedder=encoder, fetch=False)
    assert late.embedded_chunks == chunks and live_generation(settings).vectors == "late"  # type: ignore[union-attr]
    assert refresh(settings.model_copy(update={"vectors": "late"}), embedder=encoder, fetch=False).nothing_changed


def test_late_vectors_with_the_real_model_index_and_answer(tmp_path, embedder):
    settings = _build(tmp_path, "late", embedder)
    index = open_index(settings, embedder)
    assert index.generation.vectors == "late"
    n_sentences = sum(len(c.sentences) for c in index.chunks)
    assert index.sentence_vectors.shape == (n_sentences, embedder.dim)
    norms = np.linalg.norm(index.sentence_vectors.astype(np.float32), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-2)


@pytest.mark.fast
def test_an_open_index_reads_only_what_an_answer_uses(tmp_path):
    """Chunks become objects when used and sentence vectors are memory-mapped, so a cold
    start does not read the whole corpus's tables."""
    from assistant.types import Filters

    encoder = HashingEncoder()
    settings = _build(tmp_path, "two-pass", encoder)
    index = open_index(settings, encoder)

    def made() -> int:
        return sum(c is not None for c in index.chunks._made)

    assert isinstance(index.sentence_vectors, np.memmap)
    assert made() == 0 and len(index.chunks) > 3
    hits = index.dense_search(encoder.encode(["account deletion"])[0], 2)
    assert len(hits) == 2 and made() == 2
    # A jurisdiction filter is decided from the stored records, without making every chunk.
    index.lexical_search("deletion account", 1, Filters(jurisdiction="EU"))
    assert made() <= 3
    assert [c.id for c in index.chunks] == index.chunks.ids


@pytest.mark.fast
def test_chunks_stored_as_columns_read_back_as_written_and_old_records_still_read(tmp_path):
    from assistant.chunk_table import ChunkColumns, ChunkTable
    from assistant.types import Chunk, Document, Sentence

    doc = Document(id="d", title="T", text="Alpha one. Beta two. Gamma three.")
    chunks = [
        Chunk("d#1", "d", "Alpha one. Beta two.", 0, 20, "S", ("EU",), (Sentence(0, 10), Sentence(11, 20))),
        Chunk("d#2", "d", "Gamma three.", 21, 33, "", (), (Sentence(21, 33),)),
    ]
    columns = ChunkColumns.of(chunks)
    table = ChunkTable(ChunkColumns.from_json(json.loads(json.dumps(columns.to_json()))), {"d": doc})
    assert list(table) == chunks
    assert [table.sentence_span(i) for i in range(2)] == [(0, 2), (2, 3)]
    old = [c.to_record() for c in chunks]  # the format before the columns
    assert ChunkColumns.from_json(old) == columns
    assert list(ChunkTable(ChunkColumns.from_json(old), {"d": doc})) == chunks


@pytest.mark.fast
@pytest.mark.parametrize("how", ["two-pass", "pooled"])
def test_a_text_met_twice_in_one_build_is_encoded_once(tmp_path, how):
    shutil.copytree(FIXTURE, tmp_path / "corpus")  # and a second document with the same text:
    docs = tmp_path / "corpus" / "docs"
    (docs / "quillnote-copy.md").write_text((docs / "quillnote-data-policy.md").read_text("utf-8"), "utf-8")
    with (tmp_path / "corpus" / "sources.toml").open("a", encoding="utf-8") as manifest:
        manifest.write('\n[[source]]\nid = "quillnote-copy"\ntitle = "Quillnote Data Policy (copy)"\n')
        manifest.write(
            'publisher = "Quillnote"\npath = "docs/quillnote-copy.md"\npublished = 2024-10-01\nkind = "policy"\n'
        )
    encoder = CountingEncoder()
    settings = _build(tmp_path, how, encoder)
    assert len(encoder.texts) == len(set(encoder.texts))  # each distinct text once
    index = open_index(settings, encoder)
    sentences = GenerationFiles(settings.index_dir / index.generation.name).sentence_vectors()
    texts = [index.documents[c.doc_id].text[s.start : s.end] for c in index.chunks for s in c.sentences]
    assert len(texts) > len(set(texts))  # the copy's sentences are in the index...
    assert np.allclose(
        sentences, encoder.encode(texts), atol=1e-3
    )  # ...each with its own text's vector (stored as float16)


@pytest.mark.fast
@pytest.mark.parametrize("how", ["two-pass", "late"])
def test_a_new_version_of_a_policy_reuses_the_sections_it_keeps(tmp_path, how):
    settings = _build(tmp_path, how, CountingEncoder())
    docs = tmp_path / "corpus" / "docs"
    kept = (docs / "quillnote-data-policy.md").read_text("utf-8")
    added = "## Backups\n\nQuillnote keeps encrypted backups of deleted notes for 14 days."
    (docs / "quillnote-v2.md").write_text(f"{kept.rstrip()}\n\n{added}\n", "utf-8")
    with (tmp_path / "corpus" / "sources.toml").open("a", encoding="utf-8") as manifest:
        manifest.write('\n[[source]]\nid = "quillnote-v2"\ntitle = "Quillnote Data Policy"\npublisher = "Quillnote"\n')
        manifest.write('path = "docs/quillnote-v2.md"\npublished = 2025-06-01\nkind = "policy"\n')
    encoder = CountingEncoder()
    report = refresh(settings, embedder=encoder, fetch=False)
    index = open_index(settings, encoder)
    new = [c for c in index.chunks if c.doc_id == "quillnote-v2"]
    old = {c.id.rpartition("#")[2]: c for c in index.chunks if c.doc_id == "quillnote-data-policy"}
    twins = [c for c in new if c.id.rpartition("#")[2] in old]
    assert twins and report.embedded_chunks == len(new) - len(twins)
    # only the new section was encoded (its passage, its sentence, the words the corpus lacked)
    assert encoder.texts and all(t.casefold() in added.casefold() for t in encoder.texts)
    sentences = GenerationFiles(settings.index_dir / index.generation.name).sentence_vectors()
    rows = index.chunks.columns.sentence_rows()
    for c in twins:
        was = old[c.id.rpartition("#")[2]]
        assert np.array_equal(sentences[slice(*rows[c.id])], sentences[slice(*rows[was.id])])


@pytest.mark.fast
def test_an_edited_section_encodes_only_its_passage_and_the_changed_sentence(tmp_path):
    settings = _build(tmp_path, "two-pass", CountingEncoder())
    policy = tmp_path / "corpus" / "docs" / "quillnote-data-policy.md"
    before = "Deletion is complete within 30 days."
    after = "Deletion is complete within 45 days."
    assert before in policy.read_text("utf-8")
    policy.write_text(policy.read_text("utf-8").replace(before, after), "utf-8")
    encoder = CountingEncoder()
    report = refresh(settings, embedder=encoder, fetch=False)
    assert report.embedded_chunks == 1
    index = open_index(settings, encoder)
    edited = next(c for c in index.chunks if after in c.text)
    sentences = {index.documents[edited.doc_id].text[s.start : s.end] for s in edited.sentences}
    assert len(sentences) > 1 and sentences & set(encoder.texts) == {after}
    fresh = _build(tmp_path, "two-pass", CountingEncoder(), "fresh")  # the same corpus built from nothing
    a, b = open_index(settings, encoder), open_index(fresh, encoder)
    assert np.array_equal(
        GenerationFiles(settings.index_dir / a.generation.name).sentence_vectors(),
        GenerationFiles(fresh.index_dir / b.generation.name).sentence_vectors(),
    )
