"""Refreshing the corpus: fetching from a real HTTP server on 127.0.0.1, incremental re-embedding,
explained changes, offline fallback, bad sources, kill -9 mid-refresh, refresh beside questions."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import Settings
from assistant.index import open_index
from assistant.live import LiveAnswerer
from assistant.refresh import refresh, refresh_lock
from tests.conftest import ROOT, server_env

PAGE = """<html><head><title>Help: objecting to AI training</title></head><body>
<nav>Home | Help | Sign in</nav><article><h1>Objecting to AI training</h1>
<p>People in the Atlantis region can object to their posts being used to train AI models by writing to the
privacy office of the platform.</p>
<h2>What the office needs</h2><p>The office needs your account name and a short statement of the objection.</p>
{extra}</article><footer>Copyright 2024. Related posts.</footer></body></html>"""


class Site:
    """Pages served by a real HTTP server; tests change them between refreshes."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.conditional_hits = 0
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, headers, body = site.pages.get(self.path, (404, {}, b"not here"))
                if status == 200 and headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                    site.conditional_hits += 1
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def html(self, path: str, text: str, etag: str = "") -> None:
        headers = {"Content-Type": "text/html; charset=utf-8", **({"ETag": etag} if etag else {})}
        self.pages[path] = (200, headers, text.encode("utf-8"))


@pytest.fixture
def site():
    s = Site()
    yield s
    s.server.shutdown()


def add_url(settings: Settings, site: Site, path: str, source_id: str) -> None:
    assert (
        main(
            [
                "add",
                site.url + path,
                "--id",
                source_id,
                "--title",
                "Objecting to AI training",
                "--publisher",
                "Example help centre",
                "--kind",
                "help-page",
                "--corpus",
                str(settings.corpus),
            ]
        )
        == 0
    )


def test_url_source_is_fetched_snapshotted_and_refreshed_incrementally(fresh, embedder, site, capsys):
    site.html("/help", PAGE.format(extra=""), etag='"v1"')
    add_url(fresh, site, "/help", "atlantis-help")
    first = refresh(fresh, embedder=embedder)
    assert "atlantis-help" in first.added and not first.failed
    snapshot = fresh.corpus / "docs" / "atlantis-help.md"
    text = snapshot.read_text("utf-8")
    assert "privacy office" in text and "Sign in" not in text and "Copyright" not in text
    index = open_index(fresh, embedder)
    assert index.documents["atlantis-help"].fetched  # when it was fetched
    from assistant.answer import open_answerer

    cited = open_answerer(fresh, embedder=embedder).answer("How can people in Atlantis object to AI training?")
    assert any(c.doc_id == "atlantis-help" and c.fetched for c in cited.citations)

    again = refresh(fresh, embedder=embedder)
    assert again.nothing_changed and again.embedded_chunks == 0 and site.conditional_hits == 1

    site.html(
        "/help", PAGE.format(extra="<h2>Deadline</h2><p>Objections must arrive within thirty days.</p>"), etag='"v2"'
    )
    changed = refresh(fresh, embedder=embedder)
    assert changed.changed == ["atlantis-help"] and changed.unchanged
    assert 1 <= changed.embedded_chunks <= 2 and changed.reused_chunks >= 14
    assert any("thirty days" in p for p in changed.passages_added["atlantis-help"])
    record = json.loads((fresh.home / "changes.jsonl").read_text("utf-8").splitlines()[-1])
    assert {"id": "atlantis-help", "status": "changed"}.items() <= record["documents"][0].items()

    site.pages["/help"] = (404, {}, b"gone")
    offline = refresh(fresh, embedder=embedder)
    assert "HTTP 404" in offline.failed["atlantis-help"] and offline.nothing_changed
    assert "thirty days" in snapshot.read_text("utf-8")  # the last snapshot is kept
    assert "atlantis-help" in open_index(fresh, embedder).documents


def test_a_fetched_page_is_dated_by_its_metadata_else_by_the_fetch_marked_as_such(fresh, embedder, site):
    undated = "<html><body><article><h1>Objecting</h1><p>{}</p></article></body></html>"
    text = "People in the Atlantis region can object to AI training by writing to the privacy office."
    site.html("/undated", undated.format(text), etag='"v1"')
    site.html(
        "/dated",
        '<html><head><meta property="article:published_time" content="2025-03-04"></head>'
        + undated.format("Atlantis members may also ask the office to delete their training data.")[6:],
    )
    add_url(fresh, site, "/undated", "atlantis-undated")
    add_url(fresh, site, "/dated", "atlantis-dated")
    refresh(fresh, embedder=embedder)
    docs = open_index(fresh, embedder).documents
    assert (docs["atlantis-dated"].published, docs["atlantis-dated"].dated) == ("2025-03-04", "page")
    first = docs["atlantis-undated"]
    assert first.dated == "fetched" and first.published == first.fetched[:10]
    from assistant.answer import open_answerer

    answer = open_answerer(fresh, embedder=embedder).answer("How can people in Atlantis object to AI training?")
    cited = [c for c in answer.citations if c.doc_id == "atlantis-undated"]
    assert cited and cited[0].dated == "fetched"  # `--json` and the front ends can say so
    # Fetching the same text again keeps its date, and is no change.
    again = refresh(fresh, embedder=embedder)
    assert again.nothing_changed
    assert open_index(fresh, embedder).documents["atlantis-undated"].published == first.published


def test_refresh_lists_affected_eval_questions_and_eval_runs_only_those(fresh, embedder, site, capsys, tmp_path):
    site.html("/help", PAGE.format(extra=""))
    add_url(fresh, site, "/help", "atlantis-help")
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "atl",
                "question": "How do people in Atlantis object?",
                "sources": ["atlantis-help"],
                "evidence": ["privacy office"],
            }
        )
        + "\n"
        + json.dumps({"id": "us", "question": "Can I opt out from the US?", "sources": ["cnet-2024-06-opt-out"]})
        + "\n",
        "utf-8",
    )
    args = ["--home", str(fresh.home), "--corpus", str(fresh.corpus)]
    capsys.readouterr()
    assert main(["refresh", *args, "--questions", str(questions)]) == 0
    site.html("/help", PAGE.format(extra="<p>Objections must arrive within thirty days.</p>"))
    capsys.readouterr()
    assert main(["refresh", *args, "--questions", str(questions)]) == 0
    out = capsys.readouterr().out
    assert "changed   atlantis-help" in out and "+ " in out and "Eval questions to re-check (1" in out and "atl" in out
    assert main(["eval", *args, "--questions", str(questions), "--only-affected", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "1 questions depend on" in out and "\n1 questions, " in out


@pytest.mark.parametrize(
    "path, setup, reason",
    [
        ("/missing", None, "HTTP 404"),
        ("/error", (500, {"Content-Type": "text/html"}, b"oops"), "HTTP 500"),
        ("/loop", (302, {"Location": "/loop"}, b""), "too many redirects"),
        ("/file.pdf", (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 \x00\x01"), "not a web page"),
        ("/binary", (200, {"Content-Type": "text/html"}, b"\x00\x01\x02" * 1000), "binary content"),
        ("/huge", (200, {"Content-Type": "text/html", "Content-Length": str(50_000_000)}, b"<p>x</p>"), "limit"),
        ("/empty", (200, {"Content-Type": "text/html"}, b"<html><body></body></html>"), "no main text"),
    ],
)
def test_bad_urls_are_reported_and_the_rest_is_indexed(fresh, embedder, site, path, setup, reason):
    if setup:
        site.pages[path] = setup
    add_url(fresh, site, path, "bad-source")
    report = refresh(fresh, embedder=embedder)
    assert reason in report.failed["bad-source"] and len(report.failed["bad-source"].splitlines()) == 1
    assert set(report.added) == {"cnet-2024-06-opt-out", "ttcsirt-2024-meta-public-posts"}


def test_unreachable_server_is_a_failure_not_a_crash(fresh, embedder):
    assert (
        main(
            [
                "add",
                "http://127.0.0.1:9/nothing",
                "--id",
                "offline",
                "--title",
                "Offline page",
                "--corpus",
                str(fresh.corpus),
            ]
        )
        == 0
    )
    report = refresh(fresh, embedder=embedder)
    assert "unreachable" in report.failed["offline"] and len(report.added) == 2


def test_bad_manifest_entries_are_skipped_and_reported(fresh, embedder):
    manifest = fresh.corpus / "sources.toml"
    manifest.write_text(
        manifest.read_text("utf-8")
        + '\n[[source]]\nid = "Bad Id"\ntitle = "x"\npath = "docs/x.md"\n'
        + '\n[[source]]\nid = "cnet-2024-06-opt-out"\ntitle = "dup"\npath = "docs/y.md"\n',
        "utf-8",
    )
    report = refresh(fresh, embedder=embedder)
    assert any("Bad Id" in r for r in report.failed.values())
    assert any("duplicate id 'cnet-2024-06-opt-out'" in r for r in report.failed.values())
    assert set(report.added) == {"cnet-2024-06-opt-out", "ttcsirt-2024-meta-public-posts"}


def test_add_a_local_file_copies_it_into_the_corpus(fresh, tmp_path):
    outside = tmp_path / "regulator-note.txt"
    outside.write_text("Regulator note\nUsers may complain to the regulator.\n", "utf-8")
    assert (
        main(["add", str(outside), "--kind", "regulator", "--jurisdiction", "EU", "--corpus", str(fresh.corpus)]) == 0
    )
    assert (fresh.corpus / "docs" / "regulator-note.txt").exists()
    entries = (fresh.corpus / "sources.toml").read_text("utf-8")
    assert 'id = "regulator-note"' in entries and 'kind = "regulator"' in entries
    assert main(["add", str(outside), "--corpus", str(fresh.corpus)]) == 1  # the id is taken: one-line error


def _many_documents(corpus: Path, n: int) -> None:
    for i in range(n):
        (corpus / "docs" / f"synthetic-{i:04d}.md").write_text(
            f"# Policy note {i}\n\n"
            + " ".join(
                f"Clause {i}.{j}: users in region {j % 7} may object to processing of category {j} data."
                for j in range(12)
            )
            + "\n",
            "utf-8",
        )


def test_kill_9_while_embedding_leaves_a_consistent_index_and_the_next_refresh_completes(fresh, embedder):
    refresh(fresh, embedder=embedder)
    before = json.loads((fresh.index_dir / "state.json").read_text("utf-8"))
    _many_documents(fresh.corpus, 300)
    env = server_env(fresh)
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "refresh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    new_gen = fresh.index_dir / "g000002"
    deadline = time.monotonic() + 120
    while not new_gen.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert new_gen.exists(), "the refresh never started building"
    time.sleep(1.0)  # well inside embedding 300 documents
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = json.loads((fresh.index_dir / "state.json").read_text("utf-8"))
    assert state["generation"] == before["generation"]  # still the old, complete generation
    old = open_index(fresh, embedder)
    assert len(old.documents) == 2 and old.collection.count() == len(old.chunks)

    report = refresh(fresh, embedder=embedder)  # completes the work
    assert len(report.added) == 300
    index = open_index(fresh, embedder)
    assert len(index.documents) == 302 and index.collection.count() == len(index.chunks)
    assert sorted(p.name for p in fresh.index_dir.glob("g0*")) == [before["generation"], report.generation]


def test_questions_are_answered_while_a_refresh_runs_and_then_from_the_new_text(fresh, embedder):
    refresh(fresh, embedder=embedder)
    live = LiveAnswerer(fresh, embedder=embedder)
    _many_documents(fresh.corpus, 60)
    (fresh.corpus / "docs" / "zeta.md").write_text(
        "# Zeta policy\n\nUsers of the Zeta app can object by sending the objection form to the Zeta privacy desk.\n",
        "utf-8",
    )
    errors: list[BaseException] = []
    answered = 0
    done = threading.Event()

    def refresher() -> None:
        try:
            refresh(fresh, embedder=embedder)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=refresher)
    thread.start()
    while not done.is_set():
        answer = live.get().answer("Can I opt out from the US?")
        assert not answer.abstained and answer.citations
        answered += 1
    thread.join()
    assert not errors and answered >= 1
    after = live.get().answer("How do Zeta users object?")
    assert any(c.doc_id == "zeta" for c in after.citations)


def test_a_second_refresh_waits_for_the_first(fresh, embedder):
    refresh(fresh, embedder=embedder)
    env = server_env(fresh)
    with refresh_lock(fresh):
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "refresh"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(12)  # long enough to load and reach the lock
        assert proc.poll() is None  # waiting, not failing, not writing
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "waiting for it to end" in err and "Nothing changed" in out


def test_a_long_running_reader_closes_the_stores_of_retired_generations(fresh, embedder, monkeypatch):
    """A server that sees many refreshes keeps a bounded number of vector stores open."""
    from chromadb.api.shared_system_client import SharedSystemClient

    refresh(fresh, embedder=embedder)
    live = LiveAnswerer(fresh, embedder=embedder)
    monkeypatch.setattr(LiveAnswerer, "RETIRE_AFTER", 0.0)
    open_before = len(SharedSystemClient._identifier_to_system)
    note = fresh.corpus / "docs" / "desk-note.txt"
    for i in range(6):
        note.write_text(f"Desk note\n\nThe privacy desk answers objections within {i + 3} weeks.\n", "utf-8")
        report = refresh(fresh, embedder=embedder)
        answerer = live.get()
        assert answerer.index.generation.name == report.generation
        answer = answerer.answer("How long does the privacy desk take to answer objections?")
        assert any(f"{i + 3} weeks" in c.quote for c in answer.citations)
        live.get()  # the generation just retired is closed now (RETIRE_AFTER is 0 here)
    # Only the live generation's store is still open (the builds closed theirs, too).
    assert len(SharedSystemClient._identifier_to_system) <= open_before
    live.close()
    assert len(SharedSystemClient._identifier_to_system) < open_before
