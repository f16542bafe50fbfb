"""After a refresh: which eval questions' cited answers changed, and to what."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.answer import open_answerer
from assistant.config import Settings
from assistant.evaluation import changed_answers
from assistant.index import live_generation
from assistant.refresh import refresh
from tests.conftest import REVERSED
from tests.fakes import HashingEncoder

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "policies"
DOC = "docs/quillnote-data-policy.md"
QUESTION = "What happens when I delete my Quillnote account?"


def questions(path: Path, *texts: str) -> Path:
    path.write_text("".join(json.dumps({"id": f"q{i}", "question": t}) + "\n" for i, t in enumerate(texts)), "utf-8")
    return path


@pytest.mark.fast
def test_a_changed_sentence_changes_the_answer_that_cites_it_and_no_other(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "corpus")
    settings = Settings(home=tmp_path / "home", corpus=tmp_path / "corpus")
    encoder = HashingEncoder()
    refresh(settings, embedder=encoder, fetch=False)
    # The calibrated threshold is for MiniLM cosines; hashed bags of words score lower (as in test_engine).
    settings.calibration_path.write_text(json.dumps({"abstain_threshold": 0.15}), "utf-8")
    before = live_generation(settings)
    answerer = open_answerer(settings, embedder=encoder)
    old = answerer.answer(QUESTION).citations[0].quote  # the sentence its answer quotes
    answerer.index.close()
    new = old.rstrip(".") + ", as this update says."
    doc = tmp_path / "corpus" / DOC
    assert old in doc.read_text("utf-8")
    doc.write_text(doc.read_text("utf-8").replace(old, new), "utf-8")
    refresh(settings, embedder=encoder, fetch=False)
    asked = questions(tmp_path / "q.jsonl", QUESTION, "Is my data sold?")
    assert before is not None
    changed = changed_answers(settings, before, asked, encoder)
    assert [c.question for c in changed] == [QUESTION]
    assert new in changed[0].after and "(Quillnote, 1 September 2024)" in changed[0].after
    assert old in changed[0].before


def test_refresh_prints_what_changed_in_meaning(fresh, embedder, us_quote):
    refresh(fresh, embedder=embedder)
    docs = fresh.corpus / "docs"
    # The sentence the answer to the US question quotes now says the opposite.
    path = next(p for p in docs.iterdir() if us_quote in p.read_text("utf-8"))
    path.write_text(path.read_text("utf-8").replace(us_quote, REVERSED), "utf-8")
    asked = questions(fresh.home / "q.jsonl", "Can I opt out from the US?", "What is the capital of France?")
    env = {
        **os.environ,
        "ASSISTANT_HOME": str(fresh.home),
        "ASSISTANT_CORPUS": str(fresh.corpus),
        "HF_HUB_OFFLINE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "refresh", "--no-fetch", "--questions", str(asked)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Answers that changed (1 of the questions in" in out, out
    assert "the answer to 'Can I opt out from the US?' is now \u201c" in out
    assert f"it was \u201c{us_quote[:30]}" in out
