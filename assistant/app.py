"""The web chat (Gradio): streamed answers whose every [n] opens the passage it came from.

Layout: the conversation on the left, the sources of the latest answer on the right
(below it on a phone). Everything shown from the documents is HTML-escaped first.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import gradio as gr

from . import jurisdiction as jur
from .answer import Answerer
from .app_render import (
    CSS,
    HEAD,
    esc,
    md_text,
    message_pieces,
    render_changed_answers,
    render_corpus,
    render_message,
    render_partial,
    render_sources,
)
from .chat import Conversation
from .config import REFRESH_QUESTIONS, Settings
from .dating import check_as_of, display
from .feedback import FeedbackLog
from .generate import GenerativeAnswerer, LLMClient, choose
from .live import LiveAnswerer
from .types import Answer, AssistantError, Filters

EXAMPLES = [
    "Can I opt out from the US?",
    "How do I object in the EU?",
    "Are my private messages used to train Meta's AI?",
    "I live in Canada. What can I do?",
]
AUTO = "auto"
# An extractive answer is complete when it is first shown: it goes out a sentence at a time
# (the first at once), with a short pause between sentences so the page shows them arrive
# rather than in one frame. A pause holds an answer slot but no CPU, so slots are many.
SENTENCE_PAUSE = 0.02
ANSWERER_CHOICES = [
    ("Quotes from the documents", "extractive"),
    ("Language model, checked against the documents", "llm"),
]
JURISDICTION_CHOICES = [("Detect from my question", AUTO)] + [
    (jur.name(code)[0].upper() + jur.name(code)[1:], code)
    for code in ("US", "EU", "UK", "CA", "AU", "IN", "BR", "TT", "NZ", "JP", "NG", "ZA", "MX")
]


# complexity: the Gradio page declared in one place, top to bottom as it is shown
def build_app(
    live: LiveAnswerer, feedback: FeedbackLog | None = None, admin: bool = False, answerer: str | None = None
) -> Any:
    settings = live.settings
    feedback = feedback or FeedbackLog(settings.feedback_path)
    default_mode = choose(settings, answerer)
    llm_client = LLMClient(settings) if settings.llm_url else None

    def respond(
        question: str,
        history: list[dict[str, Any]],
        state: dict[str, Any],
        place: str,
        mode: str = default_mode,
        as_of: str | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        answerer = live.get()
        history = list(history or [])
        state = dict(state or {})
        answers: list[dict[str, Any]] = list(state.get("answers", []))
        history.append({"role": "user", "content": esc(question)})
        fixed = None if place in (None, "", AUTO) else place
        chosen: Answerer = answerer
        if mode == "llm" and llm_client is not None:
            chosen = GenerativeAnswerer(answerer, settings, llm_client)
        turn = len(answers)
        answer: Answer | None = None
        shown: list[str] = []
        try:
            filters = Filters(jurisdiction=fixed, as_of=_as_of(as_of))
            conversation = Conversation(
                chosen, filters, state.get("topic"), state.get("jurisdiction"), tuple(state.get("seen") or ())
            )
            for event in conversation.stream(question):
                if event.kind == "sentence":  # a generated sentence the claim check has passed
                    shown.append(event.text)
                    if len(shown) == 1:
                        history.append({"role": "assistant", "content": ""})
                    history[-1] = {"role": "assistant", "content": render_partial(shown)}
                    yield history, state, "", gr.update(), gr.update()
                else:
                    answer = event.answer
        except AssistantError as exc:
            if shown:
                history.pop()
            history.append({"role": "assistant", "content": f"⚠️ {md_text(str(exc))}"})
            answers.append({})
            yield history, {**state, "answers": answers}, "", gr.update(), gr.update()
            return
        assert answer is not None
        message = render_message(answer, turn)
        if not shown:
            history.append({"role": "assistant", "content": ""})
            pieces = message_pieces(message)
            for i in range(1, len(pieces)):
                history[-1] = {"role": "assistant", "content": "".join(pieces[:i])}
                yield history, state, "", gr.update(), gr.update()
                time.sleep(SENTENCE_PAUSE)
        history[-1] = {"role": "assistant", "content": message}
        answers.append(answer.to_dict())
        new_state = {**state, **conversation.state(), "answers": answers}
        status = (
            f"Answering for: **{jur.name(answer.jurisdiction)}**"
            + (" (detected; change it in the menu)" if answer.jurisdiction and not fixed else "")
            if answer.jurisdiction
            else "Answering for: no particular place"
        ) + (f"; from the documents dated up to **{display(filters.as_of)}**" if filters.as_of else "")
        yield history, new_state, "", render_sources(answer, turn, answerer), status

    def on_like(state: dict[str, Any], data: gr.LikeData) -> None:
        answers = (state or {}).get("answers", [])
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = int(index) // 2  # user, assistant, user, assistant...
        if 0 <= turn < len(answers) and answers[turn]:
            feedback.write(answers[turn], bool(data.liked))

    def ask_api(
        question: str, jurisdiction: str = "", sources: str = "", mode: str | None = None, as_of: str | None = None
    ) -> dict[str, Any]:
        """One answer as JSON, the same as `assistant ask --json`."""
        try:
            code = jur.parse_code(jurisdiction) if jurisdiction else None
            filters = Filters(tuple(s.strip() for s in sources.split(",") if s.strip()), code, _as_of(as_of))
            base = live.get()
            if (mode or default_mode) == "llm" and llm_client is not None:
                return GenerativeAnswerer(base, settings, llm_client).answer(question, filters).to_dict()
            return base.answer(question, filters).to_dict()
        except (AssistantError, ValueError) as exc:  # the same one-line message the CLI prints
            raise gr.Error(str(exc)) from None

    def clear() -> tuple[Any, ...]:
        return (
            [],
            {"topic": None, "jurisdiction": None, "seen": [], "answers": []},
            render_sources(None, 0, live.get()),
            "",
        )

    def run_refresh() -> tuple[str, str]:
        from .index import live_generation
        from .refresh import refresh

        embedder = live.get().index.embedder
        before = live_generation(settings)
        try:
            report = refresh(settings, embedder=embedder)
        except AssistantError as exc:
            return f"Refresh failed: {esc(str(exc))}", render_corpus(live.get())
        failed = "".join(f"<br>failed: {esc(i)}: {esc(r)}" for i, r in report.failed.items())
        summary = (
            "Nothing changed."
            if report.nothing_changed
            else f"{len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed; "
            f"{report.embedded_chunks} chunks embedded."
        )
        meaning = ""
        if before is not None and report.generation != before.name and REFRESH_QUESTIONS.exists():
            meaning = render_changed_answers(settings, before, REFRESH_QUESTIONS, embedder)
        return summary + failed + meaning, render_corpus(live.get())

    with gr.Blocks(title="Policy assistant", fill_height=False) as demo:
        gr.Markdown(
            "## Policy assistant\nAnswers quote the documents; click a number like **[1]** to see the "
            "passage it came from."
        )
        state = gr.State({"topic": None, "jurisdiction": None, "seen": [], "answers": []})
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                with gr.Row():
                    place = gr.Dropdown(
                        JURISDICTION_CHOICES, value=AUTO, label="Answering for", elem_id="place", scale=1, min_width=200
                    )
                    as_of = gr.Textbox(
                        label="As of (optional)",
                        placeholder="YYYY-MM-DD, YYYY-MM or YYYY",
                        elem_id="asof",
                        max_lines=1,
                        scale=1,
                        min_width=160,
                    )
                    mode = gr.Dropdown(
                        ANSWERER_CHOICES,
                        value=default_mode,
                        label="Answers",
                        elem_id="mode",
                        scale=1,
                        min_width=200,
                        visible=llm_client is not None,
                    )
                status = gr.Markdown("", elem_id="status")
                chatbot = gr.Chatbot(
                    label="Conversation",
                    height="58vh",
                    elem_id="chat",
                    sanitize_html=True,
                    feedback_options=("Like", "Dislike"),
                )
                box = gr.Textbox(
                    placeholder="Ask about the documents…",
                    show_label=False,
                    max_lines=4,
                    max_length=settings.max_question_chars,
                    elem_id="question",
                    submit_btn=True,
                )
                gr.Examples(EXAMPLES, inputs=box, label="Try")
                new = gr.Button("New conversation", size="sm", variant="secondary")
            with gr.Column(scale=2, min_width=300):
                sources = gr.HTML(render_sources(None, 0, live.get()), elem_id="sources")
                with gr.Accordion("Documents in the index", open=False):
                    corpus = gr.HTML(render_corpus(live.get()), elem_id="corpus")
                    if admin:
                        refresh_button = gr.Button("Refresh the corpus", size="sm", elem_id="refresh")
                        refresh_note = gr.HTML("")
                        refresh_button.click(
                            run_refresh, None, [refresh_note, corpus], api_name="refresh", concurrency_limit=1
                        )
        box.submit(
            respond, [box, chatbot, state, place, mode, as_of], [chatbot, state, box, sources, status], api_name="chat"
        )
        chatbot.like(on_like, [state], None)
        new.click(clear, None, [chatbot, state, sources, status], api_visibility="private")
        chatbot.clear(clear, None, [chatbot, state, sources, status], api_visibility="private")
        hidden_q, hidden_j, hidden_s = gr.Textbox(visible=False), gr.Textbox(visible=False), gr.Textbox(visible=False)
        hidden_m, hidden_a = gr.Textbox(visible=False), gr.Textbox(visible=False)
        hidden_out = gr.JSON(visible=False)
        hidden_q.submit(ask_api, [hidden_q, hidden_j, hidden_s, hidden_m, hidden_a], hidden_out, api_name="ask")
        demo.load(lambda: render_corpus(live.get()), None, corpus, api_visibility="private")
    return demo


def _as_of(value: str | None) -> str | None:
    """The "As of" box: empty, or a date (YYYY-MM-DD, YYYY-MM or YYYY); anything else a one-line error."""
    if not value or not value.strip():
        return None
    try:
        return check_as_of(value)
    except ValueError as exc:
        raise AssistantError(f"As of: {exc}") from None


class Readiness:
    """GET /ready: 200 once the index is open and one answer has been computed (the model is
    warm), 503 with the reason before that or when the live index cannot be opened. Load
    balancers and `bench/load.py` wait for it rather than for an open port."""

    RETRY_S = 10.0  # a failed warm-up is tried again at a /ready this long after it, not at every poll

    def __init__(self, live: LiveAnswerer) -> None:
        self.live = live
        self.warm = threading.Event()
        self.failure = ""
        self.failed_at = 0.0

    def warm_up(self) -> None:
        """One answer to load and exercise everything a question needs."""
        try:
            self.live.get().answer("What do these documents say?")
            self.failure = ""
        except Exception as exc:  # reported by /ready; the chat itself says what went wrong per question
            self.failure = f"warm-up answer failed: {exc}"
            self.failed_at = time.monotonic()
        self.warm.set()

    def response(self) -> Any:
        from fastapi.responses import JSONResponse

        if not self.warm.is_set():
            return JSONResponse({"ready": False, "reason": "warming up"}, status_code=503)
        if self.failure and time.monotonic() - self.failed_at >= self.RETRY_S:
            self.warm_up()  # again: a refresh may have mended what failed
        if self.failure:
            return JSONResponse({"ready": False, "reason": self.failure}, status_code=503)
        try:
            generation = self.live.get().index.generation.name
        except AssistantError as exc:
            return JSONResponse({"ready": False, "reason": str(exc)}, status_code=503)
        return JSONResponse({"ready": True, "generation": generation})


def _check_port(host: str, port: int) -> None:
    """A one-line error, before anything is loaded, when the address cannot be listened on."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise AssistantError(
            f"cannot listen on {host}:{port} ({os.strerror(exc.errno) if exc.errno else exc}); "
            "is another server using it? choose another --port"
        ) from None


def _is_loopback(host: str) -> bool:
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 7860,
    no_auth: bool = False,
    admin: bool = False,
    answerer: str | None = None,
    queue_size: int = 64,
    concurrency: int = 4,
) -> int:
    """Run the web chat. A non-loopback host needs ASSISTANT_AUTH=user:password (or --no-auth).

    At most `concurrency` questions are answered at once and `queue_size` wait; a question
    beyond that is turned away at once ("queue is full") rather than held without limit.
    """
    auth = None
    if os.environ.get("ASSISTANT_AUTH"):
        user, _, password = os.environ["ASSISTANT_AUTH"].partition(":")
        if not user or not password:
            raise AssistantError("ASSISTANT_AUTH must look like user:password")
        auth = (user, password)
    if not _is_loopback(host) and auth is None and not no_auth:
        raise AssistantError(
            f"refusing to serve on {host} without ASSISTANT_AUTH=user:password (or --no-auth); loopback needs neither"
        )
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    choose(settings, answerer)  # --answerer llm without a server: a one-line error before loading anything
    _check_port(host, port)
    import uvicorn
    from fastapi import FastAPI

    live = LiveAnswerer(settings, on_build=print)
    demo = build_app(live, admin=admin, answerer=answerer)
    demo.queue(max_size=queue_size, default_concurrency_limit=concurrency)
    readiness = Readiness(live)
    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)  # Gradio's own API page stays
    server.add_api_route("/ready", readiness.response, methods=["GET"])
    app = gr.mount_gradio_app(
        server,
        demo,
        path="",
        auth=auth,
        show_error=False,
        footer_links=["api"],
        css=CSS,
        head=HEAD,
        max_file_size="1mb",
    )
    threading.Thread(target=readiness.warm_up, daemon=True).start()
    print(f"Serving the web chat on http://{host}:{port}/ (ready at /ready once warmed up)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
    return 0
