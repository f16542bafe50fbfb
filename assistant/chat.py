"""A conversation: follow-up questions keep the topic and the jurisdiction."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from . import jurisdiction as jur
from .answer import Answerer, Event
from .question import clean_question
from .text import content_words
from .types import Answer, Filters, quote_key

_FOLLOW_UP_START = re.compile(
    r"^\s*(and|but|so|also|then|what about|how about|what if|same (for|in)|and (for|in|if)|in that case|ok(ay)?,?)\b",
    re.I,
)
_PRONOUN = re.compile(r"\b(it|that|this|them|they|there|those|these|so|one)\b", re.I)


@dataclass
class Conversation:
    """State of one chat: the topic question and the jurisdiction it is about."""

    answerer: Answerer
    filters: Filters = field(default_factory=Filters)
    topic: str | None = None
    jurisdiction: str | None = None
    # The sentences the answers on this topic have quoted ("chunk id@start"): a follow-up
    # ("how do I do that?") is answered with what has not been said yet.
    seen: tuple[str, ...] = ()

    def state(self) -> dict[str, Any]:
        """What a stateless front end must keep between turns."""
        return {"topic": self.topic, "jurisdiction": self.jurisdiction, "seen": list(self.seen)}

    def is_follow_up(self, question: str) -> bool:
        if self.topic is None:
            return False
        if _FOLLOW_UP_START.search(question):
            return True
        topical = content_words(jur.strip_places(question, self.answerer.index.uses))
        return len(topical) <= 1 or (len(topical) <= 4 and bool(_PRONOUN.search(question)))

    def _prepare(self, question: str) -> tuple[str, str]:
        """(the question, validated; the text to search with), updating topic and place."""
        question = clean_question(question, self.answerer.settings.max_question_chars)
        named = jur.for_question(question, self.answerer.index.uses)
        if self.filters.jurisdiction:
            self.jurisdiction = self.filters.jurisdiction
        elif named:
            self.jurisdiction = named
        query = question
        if self.topic is not None and question.casefold() == self.topic.casefold():
            self.seen = ()  # the same question again: the same answer
        elif self.is_follow_up(question):
            # Search with the topic (its places removed when the follow-up names a new one).
            topic = jur.strip_places(self.topic or "", self.answerer.index.uses) if named else (self.topic or "")
            query = f"{topic} {question}"
        else:
            self.topic = question
            self.seen = ()
        return question, query

    def ask(self, question: str) -> Answer:
        question, query = self._prepare(question)
        answer = self.answerer.answer(question, self._filters(), query=query, asker=self.jurisdiction)
        self._quoted(answer)
        return answer

    def stream(self, question: str) -> Iterator[Event]:
        """Like ask, as events: checked sentences as they pass (generated answers), then the answer."""
        question, query = self._prepare(question)
        for event in self.answerer.stream(question, self._filters(), query=query, asker=self.jurisdiction):
            if event.answer is not None:
                self._quoted(event.answer)
            yield event

    def _filters(self) -> Filters:
        return replace(self.filters, seen=self.seen) if self.seen else self.filters

    def _quoted(self, answer: Answer) -> None:
        self.seen = tuple(dict.fromkeys((*self.seen, *(quote_key(c.chunk_id, c.start) for c in answer.citations))))
