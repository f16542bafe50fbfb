"""The `assistant` command: parse arguments, call one library function, print."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .config import ANSWERERS, BACKENDS, REFRESH_QUESTIONS, RETRIEVERS, Settings
from .manifest import KINDS
from .types import Answer, AssistantError, Filters

if TYPE_CHECKING:
    from .generation import Generation


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        home=getattr(args, "home", None),
        corpus=getattr(args, "corpus", None),
        chroma_url=getattr(args, "chroma_url", None),
        embed_model=getattr(args, "embed_model", None),
        embed_backend=getattr(args, "embed_backend", None),
        llm_url=getattr(args, "llm_url", None),
        llm_model=getattr(args, "llm_model", None),
        llm_api_key=getattr(args, "llm_api_key", None),
    )


def _parsed(args: argparse.Namespace, name: str, parse: Callable[[str], str]) -> str | None:
    """An option's value through its parser; a ValueError is a one-line error naming the option."""
    value = getattr(args, name, None)
    if not value:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        raise AssistantError(f"--{name.replace('_', '-')}: {exc}") from None


def _filters(args: argparse.Namespace) -> Filters:
    from .dating import check_as_of
    from .jurisdiction import parse_code

    return Filters(
        sources=tuple(getattr(args, "source", None) or ()),
        jurisdiction=_parsed(args, "jurisdiction", parse_code),
        as_of=_parsed(args, "as_of", check_as_of),
    )


def _note(message: str) -> None:
    print(message, file=sys.stderr)


# complexity: one branch per part of a terminal answer (notice, quotes, sources, related), top to bottom
def format_answer(answer: Answer, with_text: bool = True) -> str:
    """An answer for a terminal: the text, then its sources (or the related passages)."""
    from .jurisdiction import name

    lines = [answer.text, ""] if with_text else []
    if answer.answerer != "extractive" and answer.notice:
        lines.insert(0, f"({answer.notice})")
    if answer.jurisdiction and not answer.abstained and with_text:
        lines.insert(0, f"(answering for {name(answer.jurisdiction)})")
    if answer.citations:
        lines.append("Sources:")
        for c in answer.citations:
            fetched = f"fetched {c.fetched[:10]}" if c.fetched else ""
            published = f"undated, first fetched {c.published}" if c.dated == "fetched" else c.published
            meta = ", ".join(x for x in (c.publisher, published, fetched) if x)
            lines.append(f"  [{c.n}] {c.title}" + (f" ({meta})" if meta else "") + (f" {c.url}" if c.url else ""))
            lines.append(f"      \u201c{' '.join(c.quote.split())}\u201d  [{c.doc_id}, characters {c.start}-{c.end}]")
    elif answer.passages:
        lines.append("Related passages (not an answer):")
        for p in answer.passages[:3]:
            snippet = " ".join(p.chunk.text.split())
            lines.append(f"  - {p.chunk.doc_id}: {snippet[:160]}{'...' if len(snippet) > 160 else ''}")
    return "\n".join(lines).rstrip()


# ---------------------------------------------------------------- commands


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cmd_refresh(args: argparse.Namespace) -> int:
    from .evaluation import affected_questions
    from .index import live_generation
    from .refresh import refresh

    settings = _settings(args)
    before = live_generation(settings)
    report = refresh(settings, force=args.force, strict=args.strict, fetch=not args.no_fetch)
    for doc_id, reason in report.failed.items():
        print(f"  failed    {doc_id}: {reason}")
    if report.nothing_changed:
        print(f"Nothing changed: {len(report.unchanged)} documents, 0 chunks embedded ({report.seconds:.1f} s).")
        return 0
    if report.reason:
        print(f"Re-embedding everything: {report.reason}.")
    for label, ids in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        for doc_id in ids:
            print(f"  {label:9} {doc_id}")
            for text in report.passages_added.get(doc_id, []):
                print(f"      + {_short(text)}")
            for text in report.passages_removed.get(doc_id, []):
                print(f"      - {_short(text)}")
    print(
        f"Index {report.generation}: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {len(report.unchanged)} unchanged, {len(report.failed)} failed; "
        f"{report.embedded_chunks} chunks embedded, {report.reused_chunks} reused ({report.seconds:.1f} s)."
    )
    if args.questions.exists() and not report.first_build:
        affected = affected_questions(args.questions, report.touched)
        if affected:
            print(
                f"Eval questions to re-check ({len(affected)}, run `assistant eval --only-affected`): "
                + ", ".join(affected)
            )
    if args.questions.exists() and before is not None and report.generation != before.name:
        _print_changed_answers(settings, before, args.questions)
    return 0


def _print_changed_answers(settings: Settings, before: Generation, questions: Path) -> None:
    """What the refresh changed in meaning: each question of the file whose cited answer changed."""
    from .evaluation import changed_answers

    try:
        changed = changed_answers(settings, before, questions)
    except AssistantError as exc:
        print(f"Answers before and after could not be compared: {exc}")
        return
    if not changed:
        print(f"No answer to the questions in {questions} changed.")
        return
    print(f"Answers that changed ({len(changed)} of the questions in {questions}):")
    for c in changed:
        print(f"  the answer to {c.question!r} is now {c.after}")
        print(f"      it was {c.before}")


def cmd_add(args: argparse.Namespace) -> int:
    from .manifest import add_source

    entry = add_source(
        _settings(args).corpus,
        args.target,
        id=args.id,
        title=args.title,
        publisher=args.publisher,
        published=args.published,
        kind=args.kind,
        jurisdictions=args.jurisdiction or [],
    )
    print(f"Added {entry.id!r} ({entry.path}) to the manifest; run `assistant refresh` to index it.")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from .generate import open_any

    settings = _settings(args)
    filters = _filters(args)
    answerer = open_any(settings, args.answerer, args.retriever, on_build=_note)
    if args.json or answerer.kind == "extractive":
        answer = answerer.answer(args.question, filters, top_k=args.top_k)
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) if args.json else format_answer(answer))
        return 0
    # Generated: each sentence is printed as soon as the claim check has passed it.
    shown = False
    for event in answerer.stream(args.question, filters, top_k=args.top_k):
        if event.kind == "sentence":
            print(event.text, end=" ", flush=True)
            shown = True
        elif event.answer is not None:
            if shown and event.answer.answerer == "llm":
                print("\n")
                print(format_answer(event.answer, with_text=False))
            else:
                print(("\n\n" if shown else "") + format_answer(event.answer))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from .chat import Conversation
    from .generate import open_any

    settings = _settings(args)
    conversation = Conversation(open_any(settings, args.answerer, on_build=_note), _filters(args))
    print("Ask about the documents; follow-up questions keep the topic. Empty line or Ctrl-D to quit.")
    while True:
        try:
            question = input("\n> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question.strip():
            return 0
        try:
            print(format_answer(conversation.ask(question)))
        except AssistantError as exc:
            print(f"error: {exc}")


def cmd_eval(args: argparse.Namespace) -> int:
    from . import evaluation

    return evaluation.main(_settings(args), args)


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from .feedback import feedback_to_questions

    settings = _settings(args)
    rows = feedback_to_questions(settings.feedback_path, args.rating)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a", encoding="utf-8") as fh:
            fh.write(text)
        print(f"{len(rows)} questions appended to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .app import serve

    return serve(
        _settings(args),
        host=args.host,
        port=args.port,
        no_auth=args.no_auth,
        admin=args.admin,
        answerer=args.answerer,
        queue_size=args.queue_size,
        concurrency=args.concurrency,
    )


# ---------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line, like every other error of the command line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _at_least_one(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return n


# complexity: argparse declarations, one per command and flag
def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--home", type=Path, help="data directory (index, logs); env ASSISTANT_HOME")
    common.add_argument("--corpus", type=Path, help="corpus directory; env ASSISTANT_CORPUS")
    common.add_argument("--chroma-url", help="use a Chroma server; env ASSISTANT_CHROMA_URL")
    common.add_argument("--embed-model", help="sentence-transformers model name or path; env ASSISTANT_EMBED_MODEL")
    common.add_argument(
        "--embed-backend",
        choices=BACKENDS,
        help="run the embedding model with torch or ONNX Runtime; env ASSISTANT_EMBED_BACKEND",
    )

    parser = _Parser(prog="assistant", description="Cited answers from a folder of policy documents.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("refresh", parents=[common], help="index the corpus, re-embedding only what changed")
    p.add_argument("--force", action="store_true", help="build a new index generation even if nothing changed")
    p.add_argument("--strict", action="store_true", help="stop, changing nothing, if any source fails")
    p.add_argument("--no-fetch", action="store_true", help="do not fetch url sources; use their snapshots")
    p.add_argument(
        "--questions",
        type=Path,
        default=REFRESH_QUESTIONS,
        help="eval questions to re-check: those whose sources changed, and those whose cited answer changed",
    )
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser("add", parents=[common], help="add a URL or a file to the manifest")
    p.add_argument("target", metavar="URL|FILE")
    p.add_argument("--id")
    p.add_argument("--title")
    p.add_argument("--publisher", default="")
    p.add_argument("--published", default="")
    p.add_argument("--kind", default="news", choices=KINDS)
    p.add_argument("--jurisdiction", action="append", metavar="CODE")
    p.set_defaults(func=cmd_add)

    def retrieval_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--source", action="append", metavar="ID", help="only these documents (repeatable)")
        p.add_argument("--jurisdiction", metavar="CODE", help="answer for this place (US, EU, UK, a country name)")
        p.add_argument(
            "--as-of", metavar="DATE", help="answer from documents dated up to DATE (YYYY-MM-DD, YYYY-MM, YYYY)"
        )

    def answerer_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--answerer",
            choices=ANSWERERS,
            help="extractive quotes, or a language model server (default: llm when --llm-url is set)",
        )
        p.add_argument(
            "--llm-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1; env ASSISTANT_LLM_URL"
        )
        p.add_argument("--llm-model", help="model name on that server; env ASSISTANT_LLM_MODEL")
        p.add_argument("--llm-api-key", help="API key (prefer the env ASSISTANT_LLM_API_KEY: flags show in ps)")

    p = sub.add_parser("ask", parents=[common], help="answer one question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--top-k", type=int, default=None, metavar="N", help="passages to return")
    p.add_argument("--retriever", choices=RETRIEVERS, default="hybrid")
    retrieval_options(p)
    answerer_options(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", parents=[common], help="terminal chat with follow-up questions")
    retrieval_options(p)
    answerer_options(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("eval", parents=[common], help="run an eval set and print metrics")
    p.add_argument("--questions", type=Path, default=Path("evals/questions.jsonl"), help="a question file")
    p.add_argument("--set", action="append", metavar="NAME", help="a named set of --sets, with its corpus (repeatable)")
    p.add_argument("--all", action="store_true", help="every named set, side by side")
    p.add_argument(
        "--sets", type=Path, default=Path("evals/sets.toml"), help="the named sets (default evals/sets.toml)"
    )
    p.add_argument(
        "--lint-evidence",
        action="store_true",
        help="list the corpus sentences each evidence string matches; fail on broad, empty or unreviewed matches",
    )
    p.add_argument("--review", type=Path, default=Path("evals/evidence_review.jsonl"), help="evidence verdicts")
    p.add_argument("--json-out", type=Path, help="write the JSON report here")
    p.add_argument("--report", type=Path, metavar="DIR", help="write a Markdown report with plots here")
    p.add_argument("--retriever", choices=RETRIEVERS, default="hybrid")
    p.add_argument("--check", action="store_true", help="exit non-zero below the floors in evals/thresholds.toml")
    p.add_argument("--thresholds", type=Path, default=Path("evals/thresholds.toml"))
    p.add_argument("--compare", type=Path, metavar="OLD.json", help="print deltas against an earlier --json-out")
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="refit the abstention threshold and the claim check on these questions; save them under ASSISTANT_HOME",
    )
    answerer_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--only-affected", action="store_true", help="only the questions whose sources the last refresh changed"
    )
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("feedback", help="rated answers from the web chat")
    fsub = p.add_subparsers(dest="feedback_command", required=True)
    p = fsub.add_parser("export", parents=[common], help="rated answers as eval questions (JSON lines)")
    p.add_argument("--out", type=Path, help="append to this eval file instead of printing")
    p.add_argument("--rating", choices=("up", "down", "all"), default="all")
    p.set_defaults(func=cmd_feedback_export)

    p = sub.add_parser("serve", parents=[common], help="the web chat (Gradio)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--no-auth", action="store_true", help="allow a non-loopback --host without ASSISTANT_AUTH")
    p.add_argument(
        "--admin", action="store_true", help="show a 'Refresh the corpus' button (to everyone who can open the page)"
    )
    p.add_argument(
        "--queue-size",
        type=_at_least_one,
        default=64,
        help="questions allowed to wait; more are turned away with 'queue is full' (default 64)",
    )
    p.add_argument(
        "--concurrency", type=_at_least_one, default=4, help="questions answered at the same time (default 4)"
    )
    answerer_options(p)
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "top_k", None) is not None and not 1 <= args.top_k <= 50:
        print("error: --top-k must be between 1 and 50", file=sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except AssistantError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def run() -> None:
    sys.exit(main())
