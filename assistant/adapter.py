"""The query adapter: a linear map, fitted on data, that moves a question's vector towards
the vectors of the sentences that answer such questions.

A question ("do they share my location?") and the policy sentence that answers it ("We may
disclose precise geolocation data to our partners") are worded differently, and a general
sentence-embedding model places them further apart than the sentence a question most
resembles. `make fit` (evals/fit.py) fits W on the fit sets' (question, answering sentence)
pairs, every other sentence of the same document as a negative:

    adapted(q) = normalise(q + q @ W)

Only the question's vector moves: document vectors, and so every index, stay as they are,
and an answer costs one 384 x 384 product more. W is fitted for one embedding model and is
used only with it (`model` in the file); with another model the question keeps its own vector.
"""

from __future__ import annotations

import zipfile
from functools import cache
from pathlib import Path

import numpy as np

from .types import AssistantError

ADAPTER_FILE = Path(__file__).with_name("query_adapter.npz")


class QueryAdapter:
    def __init__(self, weights: np.ndarray, model: str) -> None:
        self.weights = weights.astype(np.float32)
        self.model = model

    def __call__(self, vector: np.ndarray) -> np.ndarray:
        moved = vector + vector @ self.weights
        norm = float(np.linalg.norm(moved))
        return (moved / norm).astype(np.float32) if norm > 0 else vector

    def save(self, path: Path = ADAPTER_FILE) -> None:
        with path.open("wb") as f:
            np.savez_compressed(f, weights=self.weights.astype(np.float16), model=np.asarray(self.model))

    @classmethod
    def load(cls, path: Path = ADAPTER_FILE) -> QueryAdapter:
        try:
            with np.load(path, allow_pickle=False) as data:
                weights, model = data["weights"], str(data["model"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise AssistantError(f"{path.name} is damaged ({type(exc).__name__}); run 'make fit'") from None
        if weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
            raise AssistantError(f"{path.name} is damaged (weights of shape {weights.shape}); run 'make fit'")
        return cls(weights, model)


@cache
def _packaged(path: Path) -> QueryAdapter | None:
    return QueryAdapter.load(path) if path.exists() else None


def for_model(model_name: str, dim: int, path: Path = ADAPTER_FILE) -> QueryAdapter | None:
    """The fitted adapter when it was fitted for this embedding model, else None."""
    adapter = _packaged(path)
    if adapter is None or adapter.model != model_name or adapter.weights.shape[0] != dim:
        return None
    return adapter
