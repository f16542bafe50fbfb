"""The web chat's HTML: the answer message with clickable [n], the sources panel and the
document list. Everything shown from the documents is HTML-escaped first.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import jurisdiction as jur
from .answer import ExtractiveAnswerer
from .types import Answer, AssistantError, Citation

if TYPE_CHECKING:
    from .config import Settings
    from .embedder import TextEncoder
    from .generation import Generation

CSS = """
.gradio-container {max-width: 1280px !important; margin: 0 auto;}
#chat a.cite {font-weight: 600; text-decoration: none; padding: 0 2px; border-radius: 4px; background: #e8efff;}
#chat .abstain {border-left: 4px solid #b0b0b0; padding-left: 8px; color: #444;}
#sources .src-card {border: 1px solid #ddd; border-radius: 8px; padding: 10px 12px; margin: 0 0 10px 0;}
#sources .src-card.active {border-color: #3b6fe0; box-shadow: 0 0 0 2px #c9d8ff;}
#sources .src-card.related {background: #f6f6f6; border-style: dashed;}
#sources .src-n {font-weight: 700; margin-right: 6px;}
#sources .meta {font-size: 0.85em; color: #555; margin: 4px 0 6px 0;}
#sources blockquote {margin: 6px 0; padding: 6px 10px; border-left: 3px solid #ccc; white-space: pre-wrap;}
#sources mark {background: #ffe58a; padding: 0 1px;}
#sources .doc {max-height: 55vh; overflow: auto; white-space: pre-wrap; font-size: 0.92em; border: 1px solid #eee;
  padding: 8px; margin-top: 6px; background: #fcfcfc;}
#sources .panel-head {font-weight: 600; margin-bottom: 8px;}
#sources .panel-head.related {color: #666;}
#status {font-size: 0.9em;}
#chat .checknote {font-size: 0.88em; color: #555;}
#sources details.removed {margin-top: 8px; font-size: 0.9em; color: #555;}
@media (max-width: 700px) { #sources .doc {max-height: 40vh;} }
"""

# Clicking [n] shows its card; opening "View document" scrolls the document to the mark.
HEAD = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.cite");
  if (!link) return;
  event.preventDefault();
  const card = document.getElementById((link.getAttribute("href") || "").replace(/^#/, ""));
  if (!card) return;
  document.querySelectorAll("#sources .src-card.active").forEach((c) => c.classList.remove("active"));
  card.classList.add("active");
  card.scrollIntoView({behavior: "smooth", block: "start"});
}, true);
document.addEventListener("toggle", (event) => {
  const details = event.target;
  if (!details.classList || !details.classList.contains("viewdoc") || !details.open) return;
  const box = details.querySelector(".doc");
  const mark = details.querySelector("mark");
  if (box && mark) box.scrollTop = mark.offsetTop - box.offsetTop - box.clientHeight / 3;
}, true);
</script>
"""


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def md_text(text: str) -> str:
    """Document text placed in a Markdown message: on one line, HTML-escaped, Markdown syntax neutralised."""
    text = html.escape(" ".join(text.split()), quote=False)
    text = re.sub(r"([\\`*_{}\[\]|~])", r"\\\1", text)
    return re.sub(r"^([#>+-])", r"\\\1", text)


def render_message(answer: Answer, turn: int) -> str:
    """The chat message: the answer with clickable [n] markers (or the abstention)."""
    if answer.abstained:
        return (
            f'<div class="abstain">ℹ️ <b>{html.escape(answer.text, quote=False)}</b><br>'
            "<i>The nearest passages are listed under Sources as related reading, not as an answer.</i></div>"
        )
    current, earlier, tail = _parts(answer)
    body = md_text(current)
    if earlier:  # set apart, so that a superseded statement is never read as current
        body += "\n\n> *Earlier, superseded by the above:* " + md_text(earlier)
    if tail:
        body += "\n\n" + md_text(tail)
    body = _link_markers(body, answer.citations, turn)
    place = f"*Answering for {jur.name(answer.jurisdiction)}.*\n\n" if answer.jurisdiction else ""
    note = (
        f'\n\n<span class="checknote">ⓘ {md_text(answer.notice)}</span>'
        if answer.answerer != "extractive" and answer.notice
        else ""
    )
    return place + body + note


def _parts(answer: Answer) -> tuple[str, str, str]:
    """The answer's text cut in three: the current statements, those after "Earlier:" (without
    that word), and what follows the last quote (the parts the documents do not answer).
    Every [n] in the text is a citation's marker (a document's own "[2]" is shown as "(2)")."""
    text = answer.text
    if not answer.earlier or not answer.citations or min(answer.earlier) < 2:
        return text, "", ""
    cut = text.find(f"[{min(answer.earlier) - 1}]")
    last = f"[{answer.citations[-1].n}]"
    end = text.find(last, cut)
    if cut < 0 or end < 0:
        return text, "", ""
    cut += len(f"[{min(answer.earlier) - 1}]")
    end += len(last)
    earlier = text[cut:end].strip()
    earlier = earlier.removeprefix("Earlier:").strip()
    return text[:cut].strip(), earlier, text[end:].strip()


def message_pieces(message: str) -> list[str]:
    """The rendered message cut after each cited sentence: the pieces an answer streams in."""
    return re.split(r"(?<=</a>)(?= (?!<a ))", message)


def render_partial(sentences: list[str]) -> str:
    """A generated answer while it streams: the sentences the claim check has passed so far."""
    return md_text(" ".join(sentences)) + " …"


def _link_markers(body: str, citations: tuple[Citation, ...], turn: int) -> str:
    for c in citations:
        body = body.replace(
            f"\\[{c.n}\\]",
            f'<a class="cite" href="#src-{turn}-{c.n}" title="{esc(c.title)}">[{c.n}]</a>',
        )
    return body


def _meta_line(doc: Any, stated: str = "") -> str:
    """Publisher, date, kind, places, link; `stated`: the quote's own date when a dated update
    in the document gives it one ("update of 2025-06-20")."""
    fetched = f"fetched {doc.fetched[:10]}" if doc.fetched else ""
    update = f"update of {stated}" if stated and stated != doc.published else ""
    published = f"undated, first fetched {doc.published}" if doc.dated == "fetched" else doc.published
    parts = [doc.publisher, published, update, fetched, doc.kind.replace("-", " ")]
    places = ", ".join(jur.name(j) for j in doc.jurisdictions)
    if places:
        parts.append(f"about {places}")
    line = " · ".join(esc(p) for p in parts if p)
    if doc.url:
        line += f' · <a href="{esc(doc.url)}" target="_blank" rel="noopener noreferrer">original</a>'
    return line


def _with_mark(text: str, start: int, end: int, offset: int, mark_id: str = "") -> str:
    """text (which starts at document offset `offset`) with [start, end) wrapped in <mark>."""
    a, b = max(0, start - offset), max(0, end - offset)
    ident = f' id="{mark_id}"' if mark_id else ""
    return f"{esc(text[:a])}<mark{ident}>{esc(text[a:b])}</mark>{esc(text[b:])}"


def render_sources(answer: Answer | None, turn: int, answerer: ExtractiveAnswerer) -> str:
    """The sources panel for one answer: a card per citation, or the related passages."""
    if answer is None:
        return '<div class="panel-head">Sources</div><p>Ask a question: its sources appear here.</p>'
    docs = answerer.index.documents
    if answer.abstained:
        cards = ['<div class="panel-head related">Related passages: the documents do not answer this question</div>']
        for i, p in enumerate(answer.passages[:3], start=1):
            doc = docs[p.chunk.doc_id]
            cards.append(
                f'<div class="src-card related" id="rel-{turn}-{i}"><b>{esc(doc.title)}</b>'
                f'<div class="meta">{_meta_line(doc)}</div><blockquote>{esc(p.chunk.text)}</blockquote></div>'
            )
        return "\n".join(cards)
    chunks = {p.chunk.id: p.chunk for p in answer.passages}
    cards = ['<div class="panel-head">Sources</div>']
    for c in answer.citations:
        cards.append(_citation_card(c, turn, docs, chunks, answerer))
    removed = [c for c in answer.claims if not c.supported]
    if removed:
        items = "".join(
            f'<li><s>{esc(c.text)}</s><br><span class="meta">unsupported: {esc(c.reason)}</span></li>' for c in removed
        )
        cards.append(
            f'<details class="removed"><summary>Removed by the claim check ({len(removed)})</summary>'
            f"<ul>{items}</ul></details>"
        )
    return "\n".join(cards)


def _citation_card(
    c: Citation, turn: int, docs: dict[str, Any], chunks: dict[str, Any], answerer: ExtractiveAnswerer
) -> str:
    doc = docs[c.doc_id]
    chunk = chunks.get(c.chunk_id) or answerer.index.chunks[answerer.index.position[c.chunk_id]]
    passage = _with_mark(chunk.text, c.start, c.end, chunk.start)
    whole = _with_mark(doc.text, c.start, c.end, 0, f"doc-{turn}-{c.n}")
    return (
        f'<div class="src-card" id="src-{turn}-{c.n}" data-start="{c.start}" data-end="{c.end}">'
        f'<span class="src-n">[{c.n}]</span><b>{esc(doc.title)}</b>'
        f'<div class="meta">{_meta_line(doc, c.published)}</div>'
        f"<blockquote>{passage}</blockquote>"
        f'<details class="viewdoc"><summary>View document</summary><div class="doc">{whole}</div></details>'
        "</div>"
    )


def render_corpus(answerer: ExtractiveAnswerer) -> str:
    generation = answerer.index.generation
    rows = []
    for doc in answerer.index.documents.values():
        record = generation.documents.get(doc.id)
        rows.append(
            f"<tr><td>{esc(doc.title)}</td><td>{esc(doc.publisher)}</td><td>{esc(doc.published or '-')}</td>"
            f"<td>{esc(doc.fetched or '-')}</td><td>{esc(doc.kind)}</td><td>{record.chunks if record else ''}</td></tr>"
        )
    return (
        f"<p>Index built {esc(generation.built_at or '?')} with {esc(generation.embed_model)}.</p>"
        "<table><tr><th>Document</th><th>Publisher</th><th>Published</th><th>Fetched</th><th>Kind</th><th>Chunks</th></tr>"
        + "".join(rows)
        + "</table>"
    )


# complexity: the Gradio page declared in one place, top to bottom as it is shown


def render_changed_answers(settings: Settings, before: Generation, questions: Path, embedder: TextEncoder) -> str:
    """After the refresh button: the questions of `questions` whose cited answer changed,
    as `assistant refresh` lists them (evaluation.changed_answers)."""
    from .evaluation import changed_answers

    try:
        changed = changed_answers(settings, before, questions, embedder)
    except AssistantError as exc:
        return f"<br>Answers before and after could not be compared: {esc(str(exc))}"
    if not changed:
        return f"<br>No answer to the questions in {esc(str(questions))} changed."
    items = "".join(
        f"<li>the answer to “{esc(c.question)}” is now {esc(c.after)}<br><i>it was {esc(c.before)}</i></li>"
        for c in changed
    )
    return f"<br>Answers that changed ({len(changed)} of the questions in {esc(str(questions))}):<ul>{items}</ul>"
