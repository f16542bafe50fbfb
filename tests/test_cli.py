"""The `assistant` command run as a real process, the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from assistant.refresh import refresh

ROOT = Path(__file__).resolve().parent.parent


def run(settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ASSISTANT_HOME": str(settings.home),
        "ASSISTANT_CORPUS": str(settings.corpus),
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ask_builds_the_index_on_first_use(fresh):
    result = run(fresh, "ask", "Can I opt out from the US?", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert not answer["abstained"] and answer["citations"]
    assert "building it" in result.stderr
    assert (fresh.index_dir / "state.json").exists()


def test_bad_input_gets_one_line_and_leaves_the_index_untouched(fresh, embedder):
    refresh(fresh, embedder=embedder)
    state = (fresh.index_dir / "state.json").read_bytes()

    empty = run(fresh, "ask", "   ")
    assert (
        empty.returncode == 1
        and empty.stderr.strip() == "error: the question is empty; ask something about the documents"
    )

    huge = run(fresh, "ask", "why " * 25_000)
    assert huge.returncode == 1 and len(huge.stderr.strip().splitlines()) == 1 and "limit is 2,000" in huge.stderr

    manifest = fresh.corpus / "sources.toml"
    good = manifest.read_text("utf-8")
    manifest.write_text(good + '\n[[source]]\nid = "broken\n', "utf-8")
    broken = run(fresh, "refresh")
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert broken.stderr.startswith("error: ") and "sources.toml:" in broken.stderr

    manifest.write_text(good, "utf-8")
    vanished = fresh.corpus / "docs" / "cnet-2024-06-opt-out-meta-ai.txt"
    kept_text = vanished.read_bytes()
    vanished.unlink()
    missing = run(fresh, "refresh")  # reported, the last indexed version kept, nothing lost
    assert missing.returncode == 0, missing.stderr
    assert "failed    cnet-2024-06-opt-out:" in missing.stdout and "Nothing changed" in missing.stdout
    assert "cnet-2024-06-opt-out-meta-ai.txt: file does not exist" in missing.stdout
    strict = run(fresh, "refresh", "--strict")
    assert strict.returncode == 1 and "file does not exist" in strict.stderr
    vanished.write_bytes(kept_text)
    (fresh.corpus / "docs" / "bad.txt").write_bytes(b"\xff\xfe\x00broken")
    bad = run(fresh, "refresh")
    assert bad.returncode == 0 and "failed    bad: " in bad.stdout and "bad.txt: not UTF-8 text" in bad.stdout
    bad_strict = run(fresh, "refresh", "--strict")
    assert bad_strict.returncode == 1 and len(bad_strict.stderr.strip().splitlines()) == 1

    assert (fresh.index_dir / "state.json").read_bytes() == state
    still = run(fresh, "ask", "Can I opt out from the US?", "--json")
    assert still.returncode == 0 and json.loads(still.stdout)["citations"]


def test_refresh_reports_what_changed(fresh):
    first = run(fresh, "refresh")
    assert first.returncode == 0 and "2 added" in first.stdout
    second = run(fresh, "refresh")
    assert second.returncode == 0 and second.stdout.startswith("Nothing changed: 2 documents, 0 chunks embedded")


def test_terminal_chat_keeps_the_conversation(fresh, embedder):
    refresh(fresh, embedder=embedder)
    result = run(fresh, "chat", stdin="Can I opt out from the US?\nWhat about the UK?\n\n")
    assert result.returncode == 0, result.stderr
    assert "answering for the United States" in result.stdout
    assert "answering for the United Kingdom" in result.stdout
