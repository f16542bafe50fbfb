"""Faults: a damaged vector store (under a running server) or BM25 index, a full disk."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.refresh import refresh

from .conftest import ROOT, copy_corpus, server_env, start_server


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = server_env(settings)
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def chat(url: str, question: str) -> str:
    from gradio_client import Client

    history, *_ = Client(url, verbose=False).predict(question, [], "auto", api_name="/chat")
    return json.dumps(history[-1]["content"], ensure_ascii=False)


def live_store(settings: Settings) -> Path:
    state = json.loads((settings.index_dir / "state.json").read_text("utf-8"))
    return settings.index_dir / state["store"]


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
def test_a_damaged_store_is_reported_and_refresh_rebuilds_it(tmp_path, embedder, damage, us_words):
    settings = Settings(home=tmp_path / "home", corpus=copy_corpus(tmp_path / "corpus"))
    refresh(settings, embedder=embedder)
    proc, url = start_server(settings)
    try:
        assert us_words in chat(url, "Can I opt out from the US?")
        store = live_store(settings)
        if damage == "deleted":
            shutil.rmtree(store)
        else:
            for f in store.rglob("*"):
                if f.is_file():
                    with open(f, "r+b") as fh:
                        fh.truncate(f.stat().st_size // 3)
        # A new process cannot use it: one line, and what to do.
        asked = cli(settings, "ask", "How do I object in the EU?")
        assert asked.returncode == 1 and "run 'assistant refresh'" in asked.stderr
        assert len(asked.stderr.strip().splitlines()) == 1
        # The running server either still answers (a deleted store it has open) or says the index is unavailable.
        reply = chat(url, "How do I object in the EU?")
        assert "Right to object" in reply or "unavailable" in reply
        rebuilt = cli(settings, "refresh")
        assert rebuilt.returncode == 0 and "damaged or incomplete; rebuilding" in rebuilt.stdout, rebuilt.stderr
        assert "Right to object" in chat(url, "How do I object in the EU?")  # the server moved to the rebuilt index
        assert cli(settings, "ask", "Can I opt out from the US?").returncode == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
def test_a_damaged_bm25_index_is_one_line_and_a_plain_refresh_rebuilds_it(tmp_path, embedder, damage):
    settings = Settings(home=tmp_path / "home", corpus=copy_corpus(tmp_path / "corpus"))
    refresh(settings, embedder=embedder)
    generation = json.loads((settings.index_dir / "state.json").read_text("utf-8"))["generation"]
    data = settings.index_dir / generation / "bm25" / "data.csc.index.npy"
    if damage == "deleted":
        data.unlink()
    else:
        with open(data, "r+b") as fh:
            fh.truncate(data.stat().st_size // 2)
    asked = cli(settings, "ask", "How do I object in the EU?")
    assert asked.returncode == 1 and "BM25 index" in asked.stderr and "run 'assistant refresh'" in asked.stderr
    assert len(asked.stderr.strip().splitlines()) == 1
    rebuilt = cli(settings, "refresh")
    assert rebuilt.returncode == 0 and "damaged or incomplete; rebuilding" in rebuilt.stdout, rebuilt.stdout
    assert cli(settings, "ask", "How do I object in the EU?").returncode == 0


def _small_disk(path: Path, size_mb: int) -> bool:
    """A tmpfs of size_mb at path (needs root; False when mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)]).returncode == 0


def test_a_full_disk_while_writing_leaves_the_old_index_serving(tmp_path, embedder, us_quote):
    disk = tmp_path / "disk"
    if not _small_disk(disk, 48):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        settings = Settings(home=disk / "home", corpus=copy_corpus(tmp_path / "corpus"))
        refresh(settings, embedder=embedder)
        state_before = (settings.index_dir / "state.json").read_text("utf-8")
        free = shutil.disk_usage(disk).free
        with open(disk / "filler", "wb") as fh:  # leave about 150 kB
            fh.write(b"\0" * max(0, free - 150_000))
        result = cli(settings, "refresh", "--force")
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stderr.startswith("error: writing the new index failed (no space left")
        assert "the live index g000001 is unchanged" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert (settings.index_dir / "state.json").read_text("utf-8") == state_before
        asked = cli(settings, "ask", "Can I opt out from the US?", "--json")
        assert asked.returncode == 0 and json.loads(asked.stdout)["text"].startswith(us_quote)
        (disk / "filler").unlink()
        assert cli(settings, "refresh", "--force").returncode == 0
    finally:
        subprocess.run(["umount", "-l", str(disk)])
