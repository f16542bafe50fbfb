"""The web chat (Gradio): streamed answers with their citations listed under them."""

from __future__ import annotations

import html
import ipaddress
import os
import re
import socket
from collections.abc import Iterator
from typing import Any

from .answer import ExtractiveAnswerer, open_answerer
from .chat import Conversation
from .config import Settings
from .types import Answer, AssistantError, Filters

EXAMPLES = [
    "Can I opt out from the US?",
    "How do I object in the EU?",
    "Are my private messages used to train Meta's AI?",
    "I live in Canada. What can I do?",
]


def _md(text: str) -> str:
    """Document text shown as Markdown: escaped so nothing in it renders as HTML or markup."""
    return re.sub(r"([\\`*_{}\[\]<>#|~])", r"\\\1", html.escape(" ".join(text.split()), quote=False))


def render(answer: Answer) -> str:
    """One chat message: the answer, then its numbered sources (or the related passages)."""
    from .jurisdiction import name

    body = re.sub(r"\[(\d+)\]", r"**[\1]**", _md(answer.text).replace("\\[", "[").replace("\\]", "]"))
    lines = []
    if answer.jurisdiction and not answer.abstained:
        lines.append(f"*Answering for {name(answer.jurisdiction)}.*\n")
    lines.append(body)
    if answer.citations:
        lines.append("\n**Sources**")
        for c in answer.citations:
            meta = ", ".join(_md(x) for x in (c.publisher, c.published) if x)
            lines.append(f"{c.n}. *{_md(c.title)}*" + (f" ({meta})" if meta else "") + f"  \n   > {_md(c.quote)}")
    elif answer.passages:
        lines.append("\n**Related passages** (not an answer):")
        for p in answer.passages[:3]:
            lines.append(f"- {_md(p.chunk.text)[:220]}…")
    return "\n".join(lines)


def build_app(answerer: ExtractiveAnswerer) -> Any:
    import gradio as gr

    def respond(question: str, history: list[dict[str, Any]], state: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
        history = list(history or [])
        history.append({"role": "user", "content": question})
        conversation = Conversation(answerer, Filters(), state.get("topic"), state.get("jurisdiction"))
        try:
            answer = conversation.ask(question)
        except AssistantError as exc:
            history.append({"role": "assistant", "content": f"⚠️ {_md(str(exc))}"})
            yield history, state, ""
            return
        full = render(answer)
        history.append({"role": "assistant", "content": ""})
        # Stream the reply in pieces so the first words show at once.
        pieces = re.split(r"(?<=\s)", full)
        step = max(1, len(pieces) // 20)
        for i in range(0, len(pieces), step):
            history[-1] = {"role": "assistant", "content": "".join(pieces[: i + step])}
            yield history, conversation.state(), ""
        history[-1] = {"role": "assistant", "content": full}
        yield history, conversation.state(), ""

    def ask_api(question: str, jurisdiction: str = "", sources: str = "") -> dict[str, Any]:
        """One answer as JSON, the same as `assistant ask --json`."""
        from .jurisdiction import parse_code

        code = parse_code(jurisdiction) if jurisdiction else None
        filters = Filters(tuple(s for s in sources.split(",") if s.strip()), code)
        return answerer.answer(question, filters).to_dict()

    with gr.Blocks(title="Policy assistant", fill_height=True) as demo:
        gr.Markdown("## Policy assistant\nAnswers quote the documents; every claim is numbered to its source.")
        chatbot = gr.Chatbot(label="Conversation", height=520, sanitize_html=True, elem_id="chat")
        state = gr.State({"topic": None, "jurisdiction": None})
        box = gr.Textbox(placeholder="Ask about the documents…", show_label=False, max_lines=4, elem_id="question")
        gr.Examples(EXAMPLES, inputs=box)
        box.submit(respond, [box, chatbot, state], [chatbot, state, box], api_name="chat")
        hidden_q = gr.Textbox(visible=False)
        hidden_j = gr.Textbox(visible=False)
        hidden_s = gr.Textbox(visible=False)
        hidden_out = gr.JSON(visible=False)
        hidden_q.submit(ask_api, [hidden_q, hidden_j, hidden_s], hidden_out, api_name="ask")
    return demo


def _is_loopback(host: str) -> bool:
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> int:
    """Run the web chat. A non-loopback host needs ASSISTANT_AUTH=user:password."""
    auth = None
    if os.environ.get("ASSISTANT_AUTH"):
        user, _, password = os.environ["ASSISTANT_AUTH"].partition(":")
        if not user or not password:
            raise AssistantError("ASSISTANT_AUTH must look like user:password")
        auth = (user, password)
    if not _is_loopback(host) and auth is None:
        raise AssistantError(f"refusing to serve on {host} without ASSISTANT_AUTH=user:password (loopback needs none)")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    answerer = open_answerer(settings, on_build=print)
    demo = build_app(answerer)
    demo.queue(max_size=64, default_concurrency_limit=2)
    demo.launch(server_name=host, server_port=port, auth=auth, show_error=False, footer_links=["api"])
    return 0
