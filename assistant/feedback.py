"""Thumbs up/down from the web chat, and turning them into eval questions.

Each rating is one JSON line appended to ASSISTANT_HOME/feedback.jsonl
(Settings.feedback_path); `assistant feedback export` reads them back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from .text import normalize
from .types import AssistantError


class FeedbackLog:
    """Thumbs up/down, one JSON line each, appended to ASSISTANT_HOME/feedback.jsonl."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, answer: dict[str, Any], liked: bool) -> None:
        record = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "rating": "up" if liked else "down",
            "question": answer["question"],
            "answer": answer["text"],
            "abstained": answer["abstained"],
            "jurisdiction": answer["jurisdiction"],
            "citations": [
                {k: c[k] for k in ("n", "doc_id", "chunk_id", "quote", "start", "end")} for c in answer["citations"]
            ],
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)


def feedback_to_questions(feedback_path: Path, rating: str = "all") -> list[dict[str, Any]]:
    """Rated answers from the web chat as eval questions (the format in evals/README.md).

    Thumbs up: the answer was right, so its citations become the evidence (or, for an
    abstention, the question becomes an unanswerable one). Thumbs down: the question is
    kept with `needs_review` and the rejected answer, for a maintainer to fill in.
    The latest rating of a question wins.
    """
    try:
        lines = feedback_path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        raise AssistantError(f"{feedback_path}: no feedback yet (rate answers in the web chat first)") from None
    latest: dict[str, dict[str, Any]] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = normalize(record["question"])
        except (ValueError, KeyError, TypeError):
            raise AssistantError(f"{feedback_path}:{n}: not a feedback record") from None
        latest[key] = record
    out = []
    for key, r in latest.items():
        if rating != "all" and r.get("rating") != rating:
            continue
        qid = "fb-" + hashlib.sha1(key.encode()).hexdigest()[:10]
        row: dict[str, Any] = {"id": qid, "question": r["question"], "category": "feedback"}
        if r.get("jurisdiction"):
            row["filters"] = {"jurisdiction": r["jurisdiction"]}
        if r.get("rating") == "up":
            row["answerable"] = not r.get("abstained", False)
            row["evidence"] = [c["quote"] for c in r.get("citations", [])]
            row["sources"] = sorted({c["doc_id"] for c in r.get("citations", [])})
        else:
            row["needs_review"] = True
            row["rejected_answer"] = r.get("answer", "")
        out.append(row)
    return out
