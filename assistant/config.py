"""Settings: built once in an entry point from ASSISTANT_* variables and CLI flags, then passed down."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .tuned import tuned_name
from .types import AssistantError

PACKAGED_MODEL = "all-MiniLM-L6-v2"
# The default: the packaged model with biases fitted to policy questions (tuned.py); the
# packaged model itself when the fitted file is absent.
DEFAULT_MODEL = tuned_name()
# onnx: the model exported once to ONNX and run without torch (same vectors, faster start);
# torch: sentence-transformers; onnx-int8: quantized. See assistant/onnx_backend.py.
Backend = Literal["onnx", "torch", "onnx-int8"]
BACKENDS: tuple[str, ...] = get_args(Backend)
DEFAULT_BACKEND: Backend = "onnx"
# How passages are searched (retrieve.make_retriever) and who writes the answer (generate.choose).
RETRIEVERS = ("hybrid", "dense", "bm25")
# The eval questions a refresh asks of the old and the new index to say what changed in
# meaning (`refresh --questions`, and the web chat's refresh button); relative to where it runs.
REFRESH_QUESTIONS = Path("evals/questions.jsonl")
ANSWERERS = ("extractive", "llm")


def check_backend(backend: str) -> None:
    """A one-line error for an embedding backend this project does not have."""
    if backend not in BACKENDS:
        raise AssistantError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    home: Path = Path(".assistant")
    corpus: Path = Path("corpus")
    embed_model: str = DEFAULT_MODEL
    embed_backend: Backend = DEFAULT_BACKEND
    chroma_url: str | None = None
    llm_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(default=30.0, gt=0)  # seconds without a byte from the model server
    llm_retries: int = Field(default=1, ge=0)
    llm_max_tokens: int = Field(default=200, ge=16)

    top_k: int = Field(default=5, ge=1, le=50)
    max_question_chars: int = Field(default=2000, ge=10)
    embed_batch_size: int = Field(default=64, ge=1)
    # How chunk and sentence vectors are made. "two-pass": each chunk and each of its
    # sentences is encoded; "pooled": each sentence is encoded once and a chunk's vector is
    # pooled from its sentences'; "late": each chunk is encoded once and its sentences'
    # vectors are pooled from its token states (late_chunking.py).
    vectors: Literal["two-pass", "pooled", "late"] = "two-pass"
    # Abstain when the fitted probability that the documents answer falls below this.
    # None: the threshold `make fit` chose (assistant/scorer.json). A value in
    # ASSISTANT_HOME/calibration.json, written by `assistant eval --calibrate` for a
    # corpus of one's own, takes precedence.
    abstain_threshold: float | None = None
    # A generated sentence is kept only when its support in the passage it cites reaches
    # this (calibrated on evals/dev.jsonl with `assistant eval --calibrate`).
    claim_threshold: float = 0.4972

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = f"ASSISTANT_{name.upper()}"
            if env.get(key):
                values[name] = env[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        check_backend(values.get("embed_backend", DEFAULT_BACKEND))
        try:
            return cls(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else "settings"
            raise AssistantError(f"ASSISTANT_{name.upper()}: {err['msg']} (got {err.get('input')!r})") from None

    # Every file under ASSISTANT_HOME is named here once, for its writer and its readers.

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def calibration_path(self) -> Path:
        """Fitted thresholds that override the defaults above (`assistant eval --calibrate`)."""
        return self.home / "calibration.json"

    @property
    def changes_path(self) -> Path:
        """One JSON line per refresh: what was added, changed, removed, failed."""
        return self.home / "changes.jsonl"

    @property
    def feedback_path(self) -> Path:
        """Thumbs up/down from the web chat."""
        return self.home / "feedback.jsonl"

    @property
    def corpus_stat_path(self) -> Path:
        """The corpus files' sizes and times at the last complete refresh (refresh's quick check)."""
        return self.home / "corpus-stat.json"

    @property
    def fetch_state_path(self) -> Path:
        """ETag / Last-Modified and fetch times of url sources."""
        return self.home / "fetch.json"


def load_calibration(settings: Settings) -> dict[str, float | None]:
    """Calibrated values from ASSISTANT_HOME/calibration.json, over the defaults in Settings."""
    import json

    values = {
        "abstain_threshold": settings.abstain_threshold,
        "claim_threshold": settings.claim_threshold,
    }
    try:
        data = json.loads(settings.calibration_path.read_text("utf-8"))
    except (OSError, ValueError):
        return values
    for key in values:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            values[key] = float(data[key])
    return values
