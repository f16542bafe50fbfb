"""The engine inside a llama-index app: a retriever and a query engine over the live index.

    from assistant.integrations.llama_index import PolicyQueryEngine, PolicyRetriever

    engine = PolicyQueryEngine.open()  # the index under ASSISTANT_HOME, built on first use
    response = engine.query("Can I opt out from the US?")
    response.response      # the cited answer, with its [n] markers
    response.source_nodes  # exactly the cited sentences, one node per [n]

    retriever = PolicyRetriever(engine.answerer)  # passages, for any llama-index pipeline

Every node is a `TextNode` whose `start_char_idx`/`end_char_idx` are offsets into the
stored document text (`text == document.text[start_char_idx:end_char_idx]`), whose
`ref_doc_id` is the document id, and whose metadata holds the document's title,
publisher, date, url and places. The assistant never imports this module: only a
llama-index app does.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from ..answer import Answerer
from ..config import Settings
from ..question import clean_question
from ..types import Answer, Citation, Document, Filters, Passage


def document_metadata(doc: Document) -> dict[str, Any]:
    """A document's metadata as flat values (what llama-index's vector stores accept)."""
    return {
        "doc_id": doc.id,
        "title": doc.title,
        "publisher": doc.publisher,
        "date": doc.published,
        "url": doc.url,
        "places": ", ".join(doc.jurisdictions),  # jurisdiction codes, e.g. "EU, US"
        "kind": doc.kind,
        "fetched": doc.fetched,
    }


# ids and bookkeeping: in the metadata for programs, kept out of what a model reads or embeds
_HIDDEN = ["doc_id", "kind", "fetched", "citation", "chunk_id"]


def _node(node_id: str, doc: Document, start: int, end: int, extra: dict[str, Any]) -> TextNode:
    return TextNode(
        id_=node_id,
        text=doc.text[start:end],
        start_char_idx=start,
        end_char_idx=end,
        metadata={**document_metadata(doc), **extra},
        excluded_llm_metadata_keys=_HIDDEN,
        excluded_embed_metadata_keys=_HIDDEN,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc.id)},
    )


def passage_node(passage: Passage, documents: dict[str, Document]) -> NodeWithScore:
    """A retrieved passage (a chunk of a document) as a scored node."""
    chunk = passage.chunk
    node = _node(chunk.id, documents[chunk.doc_id], chunk.start, chunk.end, {"section": chunk.section})
    return NodeWithScore(node=node, score=passage.score)


def citation_nodes(answer: Answer, documents: dict[str, Document]) -> list[NodeWithScore]:
    """The answer's citations, in [n] order, as nodes; a node's score is its passage's, when retrieved."""
    scores = {p.chunk.id: p.score for p in answer.passages}
    return [_citation_node(c, documents, scores.get(c.chunk_id)) for c in answer.citations]


def _citation_node(citation: Citation, documents: dict[str, Document], score: float | None) -> NodeWithScore:
    doc = documents[citation.doc_id]
    node = _node(
        f"{citation.doc_id}:{citation.start}-{citation.end}",
        doc,
        citation.start,
        citation.end,
        {"citation": citation.n, "chunk_id": citation.chunk_id},
    )
    return NodeWithScore(node=node, score=score)


def _open(settings: Settings | None, kind: str | None) -> Answerer:
    from ..generate import open_any

    return open_any(settings or Settings.from_env(), kind)


class PolicyRetriever(BaseRetriever):
    """The engine's hybrid search (dense + BM25, jurisdiction weighting) as a llama-index retriever.

    Args:
        answerer: an open answerer (`PolicyQueryEngine.answerer`, `answer.open_answerer(...)`);
            its index and retriever are shared, not copied.
        top_k: passages per query (default: the settings' top_k).
        filters: restrict to some sources / a jurisdiction.
        asker: the jurisdiction to prefer; read from each query when None.
    """

    def __init__(
        self,
        answerer: Answerer,
        top_k: int | None = None,
        filters: Filters | None = None,
        asker: str | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self.answerer = answerer
        self.top_k = top_k or answerer.settings.top_k
        self.filters = filters or Filters()
        self.asker = asker

    @classmethod
    def open(cls, settings: Settings | None = None, **kwargs: Any) -> PolicyRetriever:
        """Over the live index (settings from ASSISTANT_* variables by default), built on first use."""
        return cls(_open(settings, "extractive"), **kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        query = clean_question(query_bundle.query_str, self.answerer.settings.max_question_chars)
        asker = self.filters.jurisdiction or self.asker
        passages = self.answerer.retriever.retrieve(query, self.top_k, self.filters, asker=asker)
        return [passage_node(p, self.answerer.index.documents) for p in passages]


class PolicyQueryEngine(BaseQueryEngine):
    """The engine's cited answer as a llama-index query engine.

    `query()` returns a `Response` whose `response` is the answerer's text (quoted sentences
    by default; a generated answer whose every sentence passed the claim check when the
    answerer is a `GenerativeAnswerer`) and whose `source_nodes` are exactly its citations,
    in [n] order. An abstention ("The documents don't say.") has no source nodes.
    `Response.metadata` holds "abstained", "jurisdiction", "answerer", "notice" and the
    whole `Answer` under "answer".
    """

    def __init__(
        self,
        answerer: Answerer,
        filters: Filters | None = None,
        top_k: int | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self.answerer = answerer
        self.filters = filters or Filters()
        self.top_k = top_k

    @classmethod
    def open(cls, settings: Settings | None = None, answerer: str | None = None, **kwargs: Any) -> PolicyQueryEngine:
        """Over the live index, built on first use. `answerer`: "extractive" or "llm" (default:
        "llm" when a model server is configured, as for `assistant ask`)."""
        return cls(_open(settings, answerer), **kwargs)

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}  # no prompts to swap: the answer is quoted, or checked sentence by sentence

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """The passages an answer to this query is drawn from."""
        return PolicyRetriever(self.answerer, self.top_k, self.filters).retrieve(query_bundle)

    def _query(self, query_bundle: QueryBundle) -> Response:
        answer = self.answerer.answer(query_bundle.query_str, self.filters, top_k=self.top_k)
        metadata = {
            "abstained": answer.abstained,
            "jurisdiction": answer.jurisdiction,
            "answerer": answer.answerer,
            "notice": answer.notice,
            "answer": answer,
        }
        return Response(answer.text, citation_nodes(answer, self.answerer.index.documents), metadata)

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return self._query(query_bundle)
