"""Shared fixtures: the real packaged model, real Chroma on tmp_path, the seed corpus."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest

from assistant.answer import ExtractiveAnswerer, open_answerer
from assistant.config import Settings
from assistant.embedder import Embedder
from assistant.refresh import refresh

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """One loaded model for the whole session (loading costs seconds)."""
    model = Embedder()
    model.encode(["warm up"])
    return model


def copy_corpus(dest: Path) -> Path:
    shutil.copytree(SEED_CORPUS, dest)
    return dest


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """Settings whose index holds the seed corpus; shared, so tests must not change it."""
    base = tmp_path_factory.mktemp("seed")
    settings = Settings(home=base / "home", corpus=copy_corpus(base / "corpus"))
    refresh(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="session")
def answerer(seed_settings: Settings, embedder: Embedder) -> ExtractiveAnswerer:
    return open_answerer(seed_settings, embedder=embedder)


# The question tests ask of the seed corpus when they need an answer that quotes something,
# and a sentence that says the opposite of its answer (for tests that change the corpus).
US_QUESTION = "Can I opt out from the US?"
REVERSED = "People in the US can now opt out of AI training in the app settings."


@pytest.fixture(scope="session")
def us_quote(answerer: ExtractiveAnswerer) -> str:
    """The sentence the seed corpus's answer to US_QUESTION quotes first. Tests that check an
    answer arrives whole (through a server, a browser, another backend) compare with it,
    rather than with a sentence the fitted scorer happened to rank first once."""
    answer = answerer.answer(US_QUESTION)
    assert not answer.abstained and answer.citations
    return answer.citations[0].quote


@pytest.fixture(scope="session")
def us_words(us_quote: str) -> str:
    """A stretch of us_quote that reads the same in JSON, HTML and a terminal (plain letters)."""
    runs = re.findall(r"[A-Za-z0-9 ,.\-]{12,}", us_quote)
    return max(runs, key=len).strip()[:40]


@pytest.fixture
def fresh(tmp_path: Path) -> Settings:
    """Settings with a private copy of the seed corpus and no index yet."""
    return Settings(home=tmp_path / "home", corpus=copy_corpus(tmp_path / "corpus"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_AUTH"}
    env.update(
        ASSISTANT_HOME=str(settings.home),
        ASSISTANT_CORPUS=str(settings.corpus),
        HF_HUB_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        NO_PROXY="127.0.0.1,localhost",
        **extra,
    )
    return env


def start_server(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """`python app.py` on a free loopback port; returns the process and its URL once /ready says it can answer."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), *args],
        cwd=ROOT,
        env=env or server_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2):
                return proc, f"http://127.0.0.1:{port}/"
        except OSError:  # not listening yet, or /ready says 503 while it warms up
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("server was not ready in 120 s")


@pytest.fixture(scope="session")
def web(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder):
    """The web chat served for real on 127.0.0.1 over its own copy of the seed index."""
    base = tmp_path_factory.mktemp("web")
    settings = Settings(home=base / "home", corpus=copy_corpus(base / "corpus"))
    refresh(settings, embedder=embedder)
    proc, url = start_server(settings)
    yield settings, url
    proc.terminate()
    proc.wait(timeout=30)
