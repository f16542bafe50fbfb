"""The answerer for a long-running process: follows the live generation across refreshes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from .answer import ExtractiveAnswerer, open_answerer
from .config import Settings
from .embedder import TextEncoder
from .generation import STATE
from .index import live_generation
from .types import AssistantError


class LiveAnswerer:
    """The answerer for whatever generation is live, for long-running processes (the web chat).

    Each call to get() checks state.json (one stat, and a read only when it changed);
    after a refresh the next question is answered from the new generation, while
    questions already running finish on the old one. The old one's vector store is
    closed RETIRE_AFTER seconds later (a question reads vectors only in its first
    moments), so a server that sees many refreshes does not keep every store open.
    """

    RETIRE_AFTER = 30.0

    def __init__(
        self,
        settings: Settings,
        retriever_kind: str = "hybrid",
        embedder: TextEncoder | None = None,
        on_build: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.retriever_kind = retriever_kind
        self._lock = threading.Lock()
        self._current = open_answerer(settings, retriever_kind, on_build, embedder)
        self._polled = 0.0
        self._stamp: int | str = 0
        self._stamp = self._state_stamp()
        self._retired: list[tuple[float, ExtractiveAnswerer]] = []

    def _state_stamp(self) -> int | str:
        if self.settings.chroma_url:
            # Replicas learn of a new generation from the Chroma server (asked at most every 2 s).
            now = time.monotonic()
            if now - self._polled < 2.0:
                return self._stamp
            self._polled = now
            with contextlib.suppress(AssistantError):
                live = live_generation(self.settings)
                return live.name if live else 0
            return self._stamp
        try:
            return (self.settings.index_dir / STATE).stat().st_mtime_ns
        except OSError:
            return 0

    def get(self) -> ExtractiveAnswerer:
        stamp = self._state_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    live = live_generation(self.settings)
                    # A damaged new generation: keep answering from the one we have, try again next time.
                    with contextlib.suppress(AssistantError):
                        if live and live.name != self._current.index.generation.name:
                            old = self._current
                            self._current = open_answerer(
                                self.settings, self.retriever_kind, embedder=self._current.index.embedder
                            )
                            self._retired.append((time.monotonic(), old))
                        self._stamp = stamp
        if self._retired and time.monotonic() - self._retired[0][0] > self.RETIRE_AFTER:
            with self._lock:
                now = time.monotonic()
                while self._retired and now - self._retired[0][0] > self.RETIRE_AFTER:
                    self._retired.pop(0)[1].index.close()
        return self._current

    def close(self) -> None:
        """Release every generation this object opened."""
        with self._lock:
            for _, old in self._retired:
                old.index.close()
            self._retired.clear()
            self._current.index.close()
