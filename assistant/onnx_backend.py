"""The embedding model run by ONNX Runtime instead of torch.

A sentence-transformers model (transformer + mean or CLS pooling + normalisation) is
exported once, locally, from its own files (torch is needed for that step only) into
the model cache (~/.cache/policy-assistant/models/); afterwards encoding needs only onnxruntime, tokenizers and
numpy, which import in a fraction of a second. "onnx" keeps float32 weights (vectors
equal to torch's to about 1e-7); "onnx-int8" quantizes the weights dynamically (faster,
vectors differ slightly, so an index built with it records a different model name).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .late_chunking import Model as LateModel
from .types import AssistantError

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export_dir(home: Path, model: str, backend: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model.strip("/")).strip("_") or "model"
    return home / "models" / f"{safe[-80:]}-{backend}"


def ensure_exported(model_path: Path, out: Path, backend: str) -> Path:
    """Export (once) the model at model_path to out/model.onnx; returns out."""
    if (out / "model.onnx").exists() and (out / "pooling.json").exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one export at a time; the others then find it done
        if (out / "model.onnx").exists() and (out / "pooling.json").exists():
            return out
        tmp = out.parent / f".{out.name}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        t0 = time.perf_counter()
        print(
            f"Preparing the embedding model: a one-time ONNX export into {out} (imports torch; about a minute)...",
            file=sys.stderr,
            flush=True,
        )
        try:
            _export(model_path, tmp, backend)
            print(f"Embedding model ready ({time.perf_counter() - t0:.0f} s; later runs skip this).", file=sys.stderr)
            shutil.rmtree(out, ignore_errors=True)
            os.rename(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _pooling(model_path: Path) -> dict[str, Any]:
    modules = json.loads((model_path / "modules.json").read_text("utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k not in ("Transformer", "Pooling", "Normalize") for k in kinds):
        raise AssistantError(
            f"the ONNX backend supports transformer + pooling models; {model_path.name} has {', '.join(kinds)}"
        )
    pool_dir = model_path / next(m["path"] for m in modules if m["type"].endswith("Pooling"))
    config = json.loads((pool_dir / "config.json").read_text("utf-8"))
    # sentence-transformers 6 writes {"pooling_mode": "mean"}; earlier versions a flag per mode.
    mode = config.get("pooling_mode") or (
        "cls" if config.get("pooling_mode_cls_token") else "mean" if config.get("pooling_mode_mean_tokens") else ""
    )
    if mode not in ("mean", "cls"):
        raise AssistantError(f"the ONNX backend supports mean or CLS pooling; {model_path.name} uses another")
    return {"mode": mode, "max_seq_length": _window(model_path)}


def _window(model_path: Path) -> int:
    """The most tokens the model reads: sentence_bert_config.json's max_seq_length, else (a
    folder sentence-transformers 6 saved) the tokenizer's model_max_length, else 256."""
    for name, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            return int(json.loads((model_path / name).read_text("utf-8"))[key])
    return 256


def _export(model_path: Path, out: Path, backend: str) -> None:
    import torch
    from transformers import AutoModel

    pooling = _pooling(model_path)
    model = AutoModel.from_pretrained(str(model_path)).eval()

    class Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = torch.ones((2, 8), dtype=torch.int64)
    fp32 = out / ("model.onnx" if backend == "onnx" else "model-fp32.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes; the axes are declared dynamic below
        torch.onnx.export(
            Hidden(model),
            (sample, sample, torch.zeros_like(sample)),
            str(fp32),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes={k: {0: "batch", 1: "tokens"} for k in (*INPUTS, "last_hidden_state")},
            opset_version=17,
            dynamo=False,
        )
    if backend == "onnx-int8":
        try:
            from onnxruntime.quantization import QuantType, quantize_dynamic
        except ImportError as exc:
            raise AssistantError(f"int8 quantization needs the 'onnx' package ({exc})") from None
        quantize_dynamic(str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8)
        fp32.unlink()
    shutil.copy(model_path / "tokenizer.json", out / "tokenizer.json")
    (out / "pooling.json").write_text(json.dumps(pooling), "utf-8")


class OnnxEncoder:
    """Unit-length vectors from an exported model, with onnxruntime and tokenizers only."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        pooling = json.loads((path / "pooling.json").read_text("utf-8"))
        self.mode = pooling["mode"]
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(pooling["max_seq_length"]))
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self._whole: Any = None  # the tokenizer without the cut at the window (token_offsets)

    def late_model(self) -> LateModel | None:
        """The model as late_chunking needs it (None for CLS pooling: a sentence has no CLS token)."""
        from tokenizers import Tokenizer

        from .late_chunking import Tokens

        if self.mode != "mean":
            return None
        whole = Tokenizer.from_str(self.tokenizer.to_str())
        whole.no_truncation()
        whole.no_padding()
        framed = whole.encode("").ids  # the start and end tokens a text is framed by
        if len(framed) != 2:
            return None

        def tokenize(texts: list[str]) -> list[Tokens]:
            return [Tokens(e.ids, e.offsets) for e in whole.encode_batch(texts, add_special_tokens=False)]

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            return np.asarray(self.session.run(None, feed)[0])

        max_tokens = self.tokenizer.truncation["max_length"] if self.tokenizer.truncation else 256
        return LateModel(tokenize, run, framed[0], framed[1], int(max_tokens), self.dim)

    @property
    def window(self) -> int:
        """The most tokens the model reads, start and end tokens included."""
        return int(self.tokenizer.truncation["max_length"]) if self.tokenizer.truncation else 512

    def token_offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """Each text's token offsets, without the start and end tokens and not cut at the window."""
        if self._whole is None:
            from tokenizers import Tokenizer

            self._whole = Tokenizer.from_str(self.tokenizer.to_str())
            self._whole.no_truncation()
            self._whole.no_padding()
        return [list(e.offsets) for e in self._whole.encode_batch(texts, add_special_tokens=False)]

    WINDOW = 4096  # texts tokenized at a time: a tokenizer Encoding costs kilobytes, so never all at once

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.WINDOW):
            window = list(texts[start : start + self.WINDOW])
            out[start : start + len(window)] = self._encode_window(window, batch_size)
        return out

    def _encode_window(self, texts: list[str], batch_size: int) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        lengths = [len(e.ids) for e in encodings]
        order = np.argsort(lengths, kind="stable")  # similar lengths together: less padding
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for rows in _batches(order, lengths, batch_size):
            width = lengths[rows[-1]]
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for j, r in enumerate(rows):
                e = encodings[r]
                ids[j, : len(e.ids)] = e.ids
                mask[j, : len(e.ids)] = e.attention_mask
                types[j, : len(e.ids)] = e.type_ids
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
            if self.mode == "cls":
                vectors = hidden[:, 0]
            else:
                weights = mask[..., None].astype(np.float32)
                vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            out[rows] = vectors / np.clip(norms, 1e-12, None)
        return out


# Tokens in one batch (rows x width, padding included), at most. On 2 cores, batches of
# 512-1,024 tokens encoded 1.18-1.21x as fast as batches of 64 texts, 2,048 1.13-1.16x and
# 4,096 0.99-1.05x (2,000 policy-like sentences and paragraphs, one run each, same vectors).
BATCH_TOKENS = 1024


def _batches(order: np.ndarray, lengths: list[int], most: int) -> Iterator[np.ndarray]:
    """Consecutive runs of `order` (texts by increasing length), each of at most `most`
    texts and BATCH_TOKENS tokens (a single longer text is a batch of its own)."""
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < most and (end - start + 1) * lengths[order[end]] <= BATCH_TOKENS:
            end += 1
        yield order[start:end]
        start = end
