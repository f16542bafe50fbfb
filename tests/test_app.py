"""The web chat as a real server on 127.0.0.1, used through gradio_client like an API user."""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from assistant.cli import main
from assistant.types import AssistantError
from tests.conftest import REVERSED, ROOT, free_port, server_env, start_server


def _text(content: object) -> str:
    """A chat message's text, whether the client gives it as a string or as a list of parts."""
    if isinstance(content, list):
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return str(content)


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


@pytest.mark.parametrize(
    "question", ["Can I opt out from the US?", "How do I object in the EU?", "What is the capital of France?"]
)
def test_api_answer_matches_the_cli_json(web, capsys, question):
    settings, url = web
    via_api = _client(url).predict(question, "", "", api_name="/ask")
    main(["ask", question, "--json", "--home", str(settings.home), "--corpus", str(settings.corpus)])
    via_cli = json.loads(capsys.readouterr().out)
    assert via_api["text"] == via_cli["text"]
    assert via_api["abstained"] == via_cli["abstained"]
    assert [(c["doc_id"], c["start"], c["end"], c["quote"]) for c in via_api["citations"]] == [
        (c["doc_id"], c["start"], c["end"], c["quote"]) for c in via_cli["citations"]
    ]


def test_chat_streams_an_answer_with_sources(web):
    _, url = web
    client = _client(url)
    question = "Who announced it, from when does it apply, and are my DMs included?"
    expected = client.predict(question, "", "", api_name="/ask")
    assert len(expected["citations"]) >= 2  # one per answered part
    updates = list(client.submit(question, [], "auto", api_name="/chat"))
    replies = [_text(u[0][-1]["content"]) for u in updates if u[0] and u[0][-1]["role"] == "assistant"]
    replies = [r for i, r in enumerate(replies) if r and (i == 0 or r != replies[i - 1])]
    # The reply arrives a sentence at a time: first a whole cited sentence, then the rest after it.
    assert len(replies) >= 2
    assert replies[0].rstrip().endswith("[1]</a>") and "[2]" not in replies[0]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(replies))
    assert "[2]" in replies[-1]


def test_chat_shows_the_cited_passage_and_the_place_answered_for(web):
    _, url = web
    client = _client(url)
    question = "Can I opt out from the US?"
    expected = client.predict(question, "", "", api_name="/ask")
    first = expected["citations"][0]["quote"]
    job = client.submit(question, [], "auto", api_name="/chat")
    history, _box, sources, status = job.result()  # gr.State outputs are not part of the API
    assert json.dumps(first[:40])[1:-1] in json.dumps(history[-1]["content"])
    assert 'class="src-card"' in sources and "<mark>" in sources
    assert "the United States" in status


def test_ready_endpoint_says_the_server_can_answer(web):
    _, url = web
    with urllib.request.urlopen(url + "ready", timeout=10) as response:
        body = json.loads(response.read())
    assert response.status == 200 and body["ready"] is True and body["generation"]
    for path in ("docs", "redoc"):  # the app around Gradio adds no pages of its own beyond /ready
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url + path, timeout=10)
        assert missing.value.code == 404, path


def test_chosen_jurisdiction_is_used_and_uncovered_places_are_said(web):
    _, url = web
    result = _client(url).predict("Can I stop Meta using my posts?", [], "JP", api_name="/chat")
    text = json.dumps(result[0][-1]["content"])
    assert "Answering for Japan" in text and "do not mention Japan specifically" in text


def test_over_long_question_gets_a_clear_message(web):
    _, url = web
    result = _client(url).predict("why " * 1000, [], "auto", api_name="/chat")
    assert "the limit is 2,000" in json.dumps(result[0][-1]["content"])


def test_no_machine_file_is_served(web):
    _, url = web
    for path in ("gradio_api/file=/etc/passwd", "file=/etc/passwd", "gradio_api/file=README.md", "../README.md"):
        try:
            with urllib.request.urlopen(url + path, timeout=10) as response:
                body = response.read().decode("utf-8", "replace")
                assert "root:" not in body and "Policy assistant" not in body[:200], path
        except urllib.error.HTTPError as exc:
            assert exc.code in (403, 404, 405), path


def _serve_fails(settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`assistant serve` that is expected to stop at once with an error."""
    return subprocess.run(
        [sys.executable, "-m", "assistant", "serve", *args],
        cwd=ROOT,
        env=server_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_remote_bind_is_refused_without_auth(fresh):
    result = _serve_fails(fresh, "--host", "0.0.0.0", "--port", str(free_port()))
    assert result.returncode == 1
    assert "refusing to serve on 0.0.0.0 without ASSISTANT_AUTH" in result.stderr


def test_a_port_in_use_gets_a_one_line_error(fresh):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _serve_fails(fresh, "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use); "
        "is another server using it? choose another --port"
    )


def test_auth_is_enforced_on_the_api(fresh, embedder):
    from gradio_client import Client

    from assistant.refresh import refresh
    from tests.conftest import start_server

    refresh(fresh, embedder=embedder)
    proc, url = start_server(fresh, env=server_env(fresh, ASSISTANT_AUTH="reader:s3cret-pass"))
    try:
        with pytest.raises(Exception):  # noqa: B017 - the client raises its own error types for a refused login
            Client(url, verbose=False).predict("Can I opt out from the US?", "", "", api_name="/ask")
        with pytest.raises(Exception):  # noqa: B017
            Client(url, auth=("reader", "wrong"), verbose=False)
        answer = Client(url, auth=("reader", "s3cret-pass"), verbose=False).predict(
            "Can I opt out from the US?", "", "", api_name="/ask"
        )
        assert not answer["abstained"]
        # the page cannot load its configuration (components, API) without the login either
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "config", timeout=10)
        assert refused.value.code in (401, 403)
        # /ready, for load balancers, says only whether the server can answer: no login needed
        with urllib.request.urlopen(url + "ready", timeout=10) as response:
            body = json.loads(response.read())
        assert body["ready"] is True and body["generation"].startswith("g")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_feedback_export_turns_ratings_into_eval_questions(fresh):
    from assistant.eval_set import load_questions

    fresh.home.mkdir(parents=True)
    records = [
        {
            "rating": "up",
            "question": "Can I opt out from the US?",
            "answer": "At the moment, no. [1]",
            "abstained": False,
            "jurisdiction": "US",
            "citations": [
                {
                    "n": 1,
                    "doc_id": "cnet-2024-06-opt-out",
                    "chunk_id": "c",
                    "quote": "At the moment, no.",
                    "start": 1,
                    "end": 2,
                }
            ],
        },
        {
            "rating": "down",
            "question": "Does TikTok train on my videos?",
            "answer": "The documents don't say.",
            "abstained": True,
            "jurisdiction": None,
            "citations": [],
        },
    ]
    (fresh.home / "feedback.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    out = fresh.home / "new.jsonl"
    assert main(["feedback", "export", "--home", str(fresh.home), "--out", str(out)]) == 0
    questions = {q.question: q for q in load_questions(out)}
    up = questions["Can I opt out from the US?"]
    assert up.answerable and up.evidence == ["At the moment, no."] and up.sources == ["cnet-2024-06-opt-out"]
    assert up.to_filters().jurisdiction == "US"
    down = questions["Does TikTok train on my videos?"]
    assert down.extra["needs_review"] is True and down.answerable is None


def test_admin_refresh_button_refreshes_and_the_chat_answers_from_new_text(fresh, embedder, us_quote):
    from gradio_client import Client

    from assistant.refresh import refresh
    from tests.conftest import start_server

    refresh(fresh, embedder=embedder)
    proc, url = start_server(fresh, "--admin")
    try:
        client = Client(url, verbose=False)
        note, _corpus = client.predict(api_name="/refresh")
        assert note.startswith("Nothing changed.")
        (fresh.corpus / "docs" / "zeta.md").write_text(
            "# Zeta policy\n\nUsers of the Zeta app object by sending the form to the Zeta privacy desk.\n", "utf-8"
        )
        note, corpus_html = client.predict(api_name="/refresh")
        assert note.startswith("1 added") and "Zeta policy" in corpus_html
        answer = client.predict("How do Zeta users object?", "", "", api_name="/ask")
        assert any(c["doc_id"] == "zeta" for c in answer["citations"])
        # A changed sentence: the note lists the eval questions whose cited answer changed, and to what.
        # (The sentence the answer to the US question quotes now says the opposite.)
        cnet = next(p for p in (fresh.corpus / "docs").iterdir() if us_quote in p.read_text("utf-8"))
        cnet.write_text(cnet.read_text("utf-8").replace(us_quote, REVERSED), "utf-8")
        note, _corpus = client.predict(api_name="/refresh")
        assert note.startswith("0 added, 1 changed") and "Answers that changed (" in note
        assert "Can I opt out from the US?" in note and "is now “" in note
        assert f"it was “{us_quote[:30]}" in note
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_by_default_the_chat_listens_on_loopback_only_and_limits_uploads(web):
    import re as _re

    _, url = web
    port = int(_re.search(r":(\d+)/", url).group(1))
    routes = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    others = [a for a in _re.findall(r"inet (\d+\.\d+\.\d+\.\d+)", routes) if not a.startswith("127.")]
    for address in others:  # the machine's other addresses do not reach the chat
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=2):
            pass
    body = b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'
    body += b"x" * 2_000_000 + b"\r\n--b--\r\n"
    request = urllib.request.Request(
        url + "gradio_api/upload", data=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code in (400, 413)  # over the 1 MB limit


def test_a_full_queue_turns_questions_away_at_once_and_answers_the_rest(fresh, embedder, us_words):
    """--queue-size/--concurrency bound the work held; overflow is refused, not queued without limit."""
    from gradio_client.utils import QueueError

    from assistant.refresh import refresh

    refresh(fresh, embedder=embedder)
    proc, url = start_server(fresh, "--queue-size", "3", "--concurrency", "1", env=server_env(fresh))
    try:
        client = _client_with_workers(url, 40)
        burst = 30
        jobs = [client.submit("Can I opt out from the US?", [], "auto", api_name="/chat") for _ in range(burst)]
        answered, refused = 0, []
        for job in jobs:
            try:
                history = job.result(timeout=180)[0]
            except QueueError as exc:
                refused.append(str(exc))
                continue
            assert us_words in json.dumps(history[-1]["content"])
            answered += 1
        print(f"burst of {burst}: {answered} answered, {len(refused)} turned away")
        assert answered + len(refused) == burst  # every request ended one way or the other
        assert refused and all("full" in r.lower() for r in refused)
        assert answered >= 4  # one answering and three waiting were accepted
        # Once the burst has drained the chat answers as before.
        history = client.predict("How do I object in the EU?", [], "auto", api_name="/chat")[0]
        assert "object" in json.dumps(history[-1]["content"]).lower()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_rejects_a_queue_size_below_one(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--queue-size", "0"])
    err = capsys.readouterr().err
    assert "at least 1" in err and len(err.strip().splitlines()) == 1


def _client_with_workers(url: str, workers: int):
    from gradio_client import Client

    return Client(url, verbose=False, max_workers=workers)


def test_a_failed_warm_up_is_retried_now_and_then_not_at_every_ready_poll():
    from assistant.app import Readiness

    class Broken:
        calls = 0

        def answer(self, question):
            Broken.calls += 1
            raise AssistantError("the index cannot be opened")

    class Live:
        def get(self):
            return Broken()

    ready = Readiness(Live())  # type: ignore[arg-type]
    ready.warm_up()
    assert [ready.response().status_code for _ in range(5)] == [503] * 5
    assert Broken.calls == 1 and "cannot be opened" in ready.failure
    ready.failed_at -= Readiness.RETRY_S  # time passes: the next poll tries again
    assert ready.response().status_code == 503 and Broken.calls == 2
