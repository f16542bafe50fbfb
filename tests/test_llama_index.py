"""The engine used through llama-index's own API: the retriever inside llama-index's query engine
and fusion retriever, the query engine through .query(), over the real seed index."""

from __future__ import annotations

import asyncio
import re

import pytest

from assistant.generate import GenerativeAnswerer
from assistant.types import AssistantError, Filters

from .conftest import ROOT

# llama-index is imported inside the tests, so collecting the suite (`pytest -m fast` too) stays quick

CNET = "cnet-2024-06-opt-out"
METADATA = {"title", "publisher", "date", "url", "places"}


def assert_exact(nodes, documents) -> None:
    """Each node is a TextNode holding exactly the stored document text at its offsets."""
    from llama_index.core.schema import TextNode

    assert nodes
    for hit in nodes:
        node = hit.node
        assert isinstance(node, TextNode) and set(node.metadata) >= METADATA
        doc = documents[node.ref_doc_id]
        assert node.text == doc.text[node.start_char_idx : node.end_char_idx]
        assert node.metadata["title"] == doc.title and node.metadata["places"] == ", ".join(doc.jurisdictions)


def test_the_retriever_inside_llama_index_query_engine_and_fusion_retriever(answerer):
    from llama_index.core import get_response_synthesizer
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine
    from llama_index.core.retrievers import QueryFusionRetriever

    from assistant.integrations.llama_index import PolicyRetriever

    docs = answerer.index.documents
    retriever = PolicyRetriever(answerer, top_k=3)
    # llama-index's own query engine, its prompt built by its synthesizer (a mock LLM echoes the prompt)
    engine = RetrieverQueryEngine(retriever, get_response_synthesizer(llm=MockLLM(), response_mode="compact"))
    response = engine.query("How do I object in the EU?")
    assert len(response.source_nodes) == 3
    assert_exact(response.source_nodes, docs)
    assert response.source_nodes[0].node.text in str(response)  # the passages reached the prompt
    assert "title: " in str(response) and "doc_id: " not in str(response)  # document metadata, not ids

    fused = QueryFusionRetriever(
        [retriever], llm=MockLLM(), num_queries=1, mode="reciprocal_rerank", use_async=False, similarity_top_k=3
    )
    hits = fused.retrieve("How do I object in the EU?")
    assert [h.node.node_id for h in hits] == [n.node.node_id for n in response.source_nodes]
    assert_exact(hits, docs)

    only_cnet = PolicyRetriever(answerer, filters=Filters(sources=(CNET,))).retrieve("Can I opt out?")
    assert {h.node.ref_doc_id for h in only_cnet} == {CNET}


def test_the_query_engine_answers_with_exactly_the_cited_sentences(answerer):
    from llama_index.core.base.response.schema import Response
    from llama_index.core.schema import QueryBundle

    from assistant.integrations.llama_index import PolicyQueryEngine

    question = "Can I opt out from the US?"
    engine = PolicyQueryEngine(answerer)
    response = engine.query(question)
    expected = answerer.answer(question)
    assert isinstance(response, Response)
    assert response.response == expected.text and expected.citations and not expected.abstained
    assert [n.node.text for n in response.source_nodes] == [c.quote for c in expected.citations]
    assert [n.node.metadata["citation"] for n in response.source_nodes] == [c.n for c in expected.citations]
    assert [(n.node.start_char_idx, n.node.end_char_idx) for n in response.source_nodes] == [
        (c.start, c.end) for c in expected.citations
    ]
    assert_exact(response.source_nodes, answerer.index.documents)
    assert response.metadata["jurisdiction"] == "US" and not response.metadata["abstained"]

    passages = engine.retrieve(QueryBundle(question))
    assert {n.node.node_id for n in passages} >= {n.node.metadata["chunk_id"] for n in response.source_nodes}

    abstained = asyncio.run(engine.aquery("What does TikTok do with my videos?"))
    assert abstained.response.startswith("The documents don't say.") and abstained.source_nodes == []
    assert abstained.metadata["abstained"]


class ScriptedServer:
    """Stands in for the model server: streams one prepared reply."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def stream(self, messages: list[dict]):
        yield from re.findall(r"\S+\s*", self.reply)


def test_a_checked_generative_answerer_behind_the_query_engine(answerer, seed_settings):
    from assistant.integrations.llama_index import PolicyQueryEngine

    question = "How do I object in the EU?"
    base = answerer.answer(question)
    first = base.citations[0]
    n = next(i for i, p in enumerate(base.passages, start=1) if p.chunk.id == first.chunk_id)
    reply = f"{first.quote} [{n}]\nUsers in the US can opt out by phone [{n}]."  # the second is invented
    generative = GenerativeAnswerer(answerer, seed_settings, client=ScriptedServer(reply))  # type: ignore[arg-type]
    response = PolicyQueryEngine(generative).query(question)
    assert response.metadata["answerer"] == "llm"
    assert "opt out by phone" not in response.response  # removed by the claim check
    assert len(response.source_nodes) == 1 and response.source_nodes[0].node.text == first.quote
    assert_exact(response.source_nodes, answerer.index.documents)


def test_the_readme_example_runs(seed_settings, monkeypatch, capsys, us_quote):
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Use from llama-index", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "README: no python example under 'Use from llama-index'"
    monkeypatch.setenv("ASSISTANT_HOME", str(seed_settings.home))
    monkeypatch.setenv("ASSISTANT_CORPUS", str(seed_settings.corpus))
    for name in ("ASSISTANT_LLM_URL", "ASSISTANT_CHROMA_URL"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert us_quote in out
    assert namespace["passages"] and all(p.node.text for p in namespace["passages"])
    namespace["engine"].answerer.index.close()


@pytest.mark.parametrize("question", ["", "   "])
def test_bad_questions_are_the_usual_one_line_errors(answerer, question):
    from assistant.integrations.llama_index import PolicyRetriever

    with pytest.raises(AssistantError, match="the question is empty"):
        PolicyRetriever(answerer).retrieve(question)
