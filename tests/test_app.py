"""The web chat as a real server on 127.0.0.1, used through gradio_client like an API user."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.index import refresh

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_AUTH"}
    env.update(
        ASSISTANT_HOME=str(settings.home),
        ASSISTANT_CORPUS=str(settings.corpus),
        HF_HUB_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    from assistant.config import Settings
    from tests.conftest import copy_corpus

    base = tmp_path_factory.mktemp("app")
    settings = Settings(home=base / "home", corpus=copy_corpus(base / "corpus"))
    refresh(settings, embedder=embedder)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("server did not start in 120 s")
    yield settings, url
    proc.terminate()
    proc.wait(timeout=30)


def test_api_answer_matches_the_cli_json(server, capsys):
    from gradio_client import Client

    settings, url = server
    client = Client(url, verbose=False)
    via_api = client.predict("Can I opt out from the US?", "", "", api_name="/ask")
    main(
        ["ask", "Can I opt out from the US?", "--json", "--home", str(settings.home), "--corpus", str(settings.corpus)]
    )
    via_cli = json.loads(capsys.readouterr().out)
    assert via_api["text"] == via_cli["text"]
    assert [c["quote"] for c in via_api["citations"]] == [c["quote"] for c in via_cli["citations"]]
    assert not via_api["abstained"]


def test_chat_streams_an_answer_with_sources(server):
    from gradio_client import Client

    _, url = server
    client = Client(url, verbose=False)
    job = client.submit("Can I opt out from the US?", [], api_name="/chat")
    updates = list(job)
    assert len(updates) > 2  # streamed in pieces
    history = job.result()[0]
    reply = history[-1]["content"]
    text = reply if isinstance(reply, str) else json.dumps(reply)
    assert "At the moment, no." in text and "Sources" in text and "CNET" in text


def test_out_of_corpus_question_is_shown_as_related_not_as_sources(server):
    from gradio_client import Client

    _, url = server
    history = Client(url, verbose=False).predict("What is the capital of France?", [], api_name="/chat")[0]
    text = json.dumps(history[-1]["content"])
    assert "The documents don't say." in text and "Related passages" in text and "Sources" not in text


def test_remote_bind_is_refused_without_auth(fresh):
    env = _env(fresh)
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "serve", "--host", "0.0.0.0", "--port", str(_free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "refusing to serve on 0.0.0.0 without ASSISTANT_AUTH" in result.stderr
