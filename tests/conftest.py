"""Shared fixtures: the real packaged model, real Chroma on tmp_path, the seed corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest

from assistant.answer import ExtractiveAnswerer, open_answerer
from assistant.config import Settings
from assistant.index import Embedder, refresh

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


@pytest.fixture
def fresh(tmp_path: Path) -> Settings:
    """Settings with a private copy of the seed corpus and no index yet."""
    return Settings(home=tmp_path / "home", corpus=copy_corpus(tmp_path / "corpus"))
