"""A refresh when nothing changed is decided from the corpus files' sizes and times, without
reading the documents or opening the vector store; anything else takes the full check."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from assistant import sources
from assistant.answer import ExtractiveAnswerer
from assistant.config import Settings
from assistant.index import live_generation, open_index
from assistant.refresh import refresh
from tests.fakes import HashingEncoder

pytestmark = pytest.mark.fast

FIXTURE = Path(__file__).parent / "fixtures" / "policies"


@pytest.fixture
def built(tmp_path: Path) -> tuple[Settings, HashingEncoder]:
    shutil.copytree(FIXTURE, tmp_path / "corpus")
    settings = Settings(home=tmp_path / "home", corpus=tmp_path / "corpus")
    encoder = HashingEncoder()
    refresh(settings, embedder=encoder, fetch=False)
    return settings, encoder


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts how often the corpus is read."""
    calls: list[int] = []
    real = sources.load_corpus

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sources, "load_corpus", counting)
    return calls


def test_nothing_changed_is_decided_without_reading_the_corpus(built, reads) -> None:
    settings, encoder = built
    answerer = ExtractiveAnswerer(open_index(settings, encoder), settings)
    answerer.answer("How long does Quillnote keep drafts?")  # answering opens the store, writes nothing
    report = refresh(settings, embedder=encoder, fetch=False)
    assert report.nothing_changed and not reads
    assert report.generation == live_generation(settings).name
    assert sorted(report.unchanged) == sorted(json.loads(settings.corpus_stat_path.read_text())["documents"])
    last = json.loads(settings.changes_path.read_text("utf-8").splitlines()[-1])
    assert {d["status"] for d in last["documents"]} == {"unchanged"}


def test_an_edited_file_takes_the_full_check_and_is_reindexed(built, reads) -> None:
    settings, encoder = built
    doc = settings.corpus / "docs" / "quillnote-data-policy.md"
    doc.write_text(doc.read_text("utf-8") + "\nQuillnote now keeps drafts for 90 days.\n", "utf-8")
    report = refresh(settings, embedder=encoder, fetch=False)
    assert reads and report.changed == ["quillnote-data-policy"]
    reads.clear()
    assert refresh(settings, embedder=encoder, fetch=False).nothing_changed and not reads


def test_a_touched_but_identical_file_is_checked_once_then_trusted_again(built, reads) -> None:
    settings, encoder = built
    doc = settings.corpus / "docs" / "lumenpay-privacy.md"
    st = doc.stat()
    os.utime(doc, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert refresh(settings, embedder=encoder, fetch=False).nothing_changed and len(reads) == 1
    assert refresh(settings, embedder=encoder, fetch=False).nothing_changed and len(reads) == 1


def test_a_new_or_removed_file_takes_the_full_check(built, reads) -> None:
    settings, encoder = built
    (settings.corpus / "docs" / "extra.txt").write_text("Extra Co does not train AI on user files.\n", "utf-8")
    assert refresh(settings, embedder=encoder, fetch=False).added == ["extra"] and len(reads) == 1
    (settings.corpus / "docs" / "extra.txt").unlink()
    assert refresh(settings, embedder=encoder, fetch=False).removed == ["extra"] and len(reads) == 2


def test_force_a_missing_index_file_or_another_model_takes_the_full_check(built, reads) -> None:
    settings, encoder = built
    refresh(settings, embedder=encoder, fetch=False, force=True)
    assert len(reads) == 1
    live = live_generation(settings)
    (settings.index_dir / live.name / "chunks.json").unlink()
    report = refresh(settings, embedder=encoder, fetch=False)
    assert len(reads) == 2 and report.reason  # rebuilt, and says why
    other = HashingEncoder()
    other.name = "another-model"
    assert refresh(settings, embedder=other, fetch=False).reason and len(reads) == 3


def test_a_damaged_store_takes_the_full_check_and_is_rebuilt(built, reads) -> None:
    settings, encoder = built
    store = settings.index_dir / live_generation(settings).store
    for f in store.rglob("*"):
        if f.is_file():
            with open(f, "r+b") as fh:
                fh.truncate(f.stat().st_size // 3)
    report = refresh(settings, embedder=encoder, fetch=False)
    assert len(reads) == 1 and "damaged or incomplete" in report.reason


def test_url_sources_are_fetched_even_when_no_file_changed(built, reads) -> None:
    settings, encoder = built
    stat = json.loads(settings.corpus_stat_path.read_text("utf-8"))
    stat["url_sources"] = True  # as if the manifest had a url entry
    settings.corpus_stat_path.write_text(json.dumps(stat), "utf-8")
    refresh(settings, embedder=encoder, fetch=True)
    assert len(reads) == 1
