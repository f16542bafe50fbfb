"""Server mode: every command against a real `chroma run` on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.answer import open_answerer
from assistant.cli import main
from assistant.config import Settings
from assistant.live import LiveAnswerer
from assistant.refresh import refresh

from .conftest import copy_corpus, free_port

# the venv's own `chroma` (the tests may run without the venv on PATH)
CHROMA = Path(sys.executable).parent / "chroma"
if not CHROMA.exists():
    CHROMA = Path(shutil.which("chroma") or "chroma")


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("`chroma run` did not start")
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def test_refresh_ask_and_eval_through_the_server(chroma_url, tmp_path, capsys, us_quote):
    home, corpus = tmp_path / "home", copy_corpus(tmp_path / "corpus")
    common = ["--home", str(home), "--corpus", str(corpus), "--chroma-url", chroma_url]
    assert main(["refresh", *common]) == 0
    assert not (home / "index" / "chroma").exists()  # the vectors are on the server, not on this disk
    capsys.readouterr()
    assert main(["ask", "Can I opt out from the US?", "--json", *common]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["text"].startswith(us_quote)
    out = tmp_path / "eval.json"
    assert main(["eval", "--quiet", "--json-out", str(out), "--check", *common]) == 0
    assert json.loads(out.read_text())["summary"]["evidence_hit@5"] >= 0.95


def test_replicas_share_the_index_and_see_a_refresh(chroma_url, tmp_path, embedder):
    corpus = copy_corpus(tmp_path / "corpus")
    writer = Settings(home=tmp_path / "writer", corpus=corpus, chroma_url=chroma_url)
    refresh(writer, embedder=embedder)
    # Two replicas on other "machines": their own empty ASSISTANT_HOME, the same server.
    replicas = [
        LiveAnswerer(
            Settings(home=tmp_path / f"replica{i}", corpus=tmp_path / "absent", chroma_url=chroma_url),
            embedder=embedder,
        )
        for i in range(2)
    ]
    for live in replicas:
        answer = live.get().answer("How do I object in the EU?")
        assert any("Right to object" in c.quote for c in answer.citations)
    # The corpus changes; the writer refreshes; the replicas answer from the new generation.
    (corpus / "docs" / "regulator-note.txt").write_text(
        "Regulator note\n\nThe regulator says complaints about Meta AI training take about eleven weeks.\n", "utf-8"
    )
    report = refresh(writer, embedder=embedder)
    assert report.added == ["regulator-note"]
    time.sleep(2.1)  # replicas ask the server for the live generation at most every 2 s
    for live in replicas:
        assert live.get().index.generation.name == report.generation
        answer = live.get().answer("How long do complaints to the regulator take?")
        assert any(c.doc_id == "regulator-note" for c in answer.citations)


def test_an_unreachable_server_is_a_one_line_error(tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    code = main(
        ["ask", "Can I opt out?", "--home", str(tmp_path / "h"), "--corpus", str(tmp_path), "--chroma-url", url]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: Chroma server at") and len(err.strip().splitlines()) == 1


def test_an_index_on_the_server_opens_without_local_files(chroma_url, tmp_path, embedder):
    settings = Settings(home=tmp_path / "a", corpus=copy_corpus(tmp_path / "corpus"), chroma_url=chroma_url)
    refresh(settings, embedder=embedder)
    other = settings.model_copy(update={"home": tmp_path / "b"})
    answerer = open_answerer(other, embedder=embedder)
    assert answerer.answer("Are my private messages used?").citations
    assert (tmp_path / "b" / "index" / answerer.index.generation.name / "chunks.json").exists()


def test_a_replica_polling_the_server_does_not_pile_up_clients(chroma_url, tmp_path, embedder, monkeypatch):
    from chromadb.api.shared_system_client import SharedSystemClient

    writer = Settings(home=tmp_path / "writer", corpus=copy_corpus(tmp_path / "corpus"), chroma_url=chroma_url)
    refresh(writer, embedder=embedder)
    live = LiveAnswerer(
        Settings(home=tmp_path / "r", corpus=tmp_path / "absent", chroma_url=chroma_url), embedder=embedder
    )
    monkeypatch.setattr(live, "_polled", 0.0)
    open_before = len(SharedSystemClient._identifier_to_system)
    for _ in range(20):
        live._polled = 0.0  # as if 2 s had passed: ask the server again
        assert live.get().answer("Are my private messages used?").citations
    assert len(SharedSystemClient._identifier_to_system) <= open_before
    live.close()
