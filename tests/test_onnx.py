"""The ONNX embedding backend: same vectors as torch (fp32), no torch at query time."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from assistant.answer import open_answerer
from assistant.cli import main
from assistant.config import Settings
from assistant.embedder import Embedder
from assistant.index import open_index
from assistant.refresh import refresh
from assistant.types import AssistantError

from .conftest import ROOT, copy_corpus

TEXTS = ["Can I opt out from the US?", "European users can object with the Right to object form.", "x"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


def test_onnx_fp32_gives_the_torch_vectors(embedder, models):
    onnx = Embedder(backend="onnx", cache=models)
    assert onnx.name == embedder.name  # interchangeable: an index built with one is read with the other
    a, b = embedder.encode(TEXTS), onnx.encode(TEXTS)
    assert b.shape == a.shape and np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(a * b, axis=1))) > 0.9999
    exported = next(models.glob("models/*-onnx")) / "model.onnx"
    stamp = exported.stat().st_mtime_ns
    Embedder(backend="onnx", cache=models).encode(["again"])  # exported once, then reused
    assert exported.stat().st_mtime_ns == stamp


def test_a_model_loaded_in_the_background_is_loaded_once_and_gives_the_same_vectors(models):
    import threading

    plain = Embedder(backend="onnx", cache=models).encode(TEXTS)
    early = Embedder(backend="onnx", cache=models)
    early.preload()
    early.preload()  # asked twice: still one load
    loaded = []
    threads = [threading.Thread(target=lambda: loaded.append(early._load())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(m) for m in loaded}) == 1
    assert np.array_equal(early.encode(TEXTS), plain)
    broken = Embedder("/nonexistent/model", backend="onnx", cache=models)
    broken.preload()  # a failing load in the background says nothing; the first use says why
    with pytest.raises(AssistantError, match="local model folder"):
        broken.encode(["x"])


def test_int8_vectors_are_another_model_and_still_answer(tmp_path, embedder, models, us_quote):
    settings = Settings(home=tmp_path / "home", corpus=copy_corpus(tmp_path / "corpus"))
    refresh(settings, embedder=embedder)
    int8 = Embedder(backend="onnx-int8", cache=models)
    assert int8.name.endswith("+onnx-int8")
    with pytest.raises(AssistantError, match="run 'assistant refresh' to re-embed"):
        open_index(settings, int8)
    report = refresh(settings, embedder=int8)
    assert report.reason.startswith("embedding model changed") and report.reused_chunks == 0
    answer = open_answerer(settings, embedder=int8).answer("Can I opt out from the US?")
    assert answer.citations[0].quote == us_quote


def test_a_cold_ask_on_onnx_never_imports_torch(seed_settings, models, us_quote):
    script = (
        "import runpy, sys; sys.argv = ['assistant', 'ask', 'Can I opt out from the US?'];\n"
        "try:\n    runpy.run_module('assistant', run_name='__main__')\n"
        "finally:\n    print('TORCH', 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    home = seed_settings.home
    # the export is made once per machine (with torch); every later process runs without it
    Embedder(backend="onnx").encode(["export"])
    env = {
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_CORPUS": str(seed_settings.corpus),
        "ASSISTANT_EMBED_BACKEND": "onnx",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, env={**_env(), **env}, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert us_quote in out.stdout
    assert "TORCH False False" in out.stdout


def test_an_unknown_backend_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASSISTANT_EMBED_BACKEND", "gpu-magic")
    code = main(["refresh", "--home", str(tmp_path / "h"), "--corpus", str(copy_corpus(tmp_path / "c"))])
    err = capsys.readouterr().err
    assert code == 1 and "unknown embedding backend 'gpu-magic'" in err and len(err.strip().splitlines()) == 1


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}


def test_eval_metrics_hold_on_onnx(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASSISTANT_EMBED_BACKEND", "onnx")
    out = tmp_path / "eval.json"
    code = main(["eval", "--quiet", "--check", "--set", "visible", "--json-out", str(out),
                 "--home", str(tmp_path / "home"), "--corpus", str(copy_corpus(tmp_path / "corpus"))])  # fmt: skip
    assert code == 0, capsys.readouterr().err  # the visible set's floors hold with the ONNX backend
    assert json.loads(out.read_text())["summary"]["n"] >= 80


def test_batches_hold_a_token_budget_and_every_text_once():
    from assistant.onnx_backend import BATCH_TOKENS, _batches

    lengths = [3, 300, 12, 12, 40, 7, 90, 12, 5, 200]
    order = np.argsort(lengths, kind="stable")
    batches = list(_batches(order, lengths, most=4))
    assert [int(i) for b in batches for i in b] == [int(i) for i in order]
    for b in batches:
        width = max(lengths[i] for i in b)
        assert len(b) <= 4
        assert len(b) == 1 or len(b) * width <= BATCH_TOKENS  # a text over the budget goes alone


def test_onnx_vectors_do_not_depend_on_how_texts_are_batched(models):
    onnx = Embedder(backend="onnx", cache=models)
    texts = [f"Sentence {i} says {'more and more ' * (i % 9)}about objecting." for i in range(40)] + TEXTS
    one_by_one = np.vstack([onnx.encode([t]) for t in texts])
    assert float(np.max(np.abs(onnx.encode(texts) - one_by_one))) < 1e-5


@pytest.mark.parametrize(
    ("config", "mode"),
    [
        ({"pooling_mode": "mean"}, "mean"),  # sentence-transformers 6
        ({"pooling_mode": "cls"}, "cls"),
        ({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}, "mean"),  # earlier versions
        ({"pooling_mode_cls_token": True}, "cls"),
        ({"pooling_mode": "max"}, None),
        ({"pooling_mode_max_tokens": True}, None),
    ],
)
def test_pooling_is_read_from_either_format_of_the_model_folder(tmp_path, config, mode):
    from assistant.onnx_backend import _pooling

    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules), "utf-8")
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(config), "utf-8")
    if mode is None:
        with pytest.raises(AssistantError, match="mean or CLS pooling"):
            _pooling(tmp_path)
    else:
        assert _pooling(tmp_path) == {"mode": mode, "max_seq_length": 256}


def test_the_window_is_read_from_the_model_folder_of_either_format(tmp_path):
    from assistant.onnx_backend import _window

    assert _window(tmp_path) == 256
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 128}), "utf-8")
    assert _window(tmp_path) == 128  # sentence-transformers 6 keeps it with the tokenizer
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 200}), "utf-8")
    assert _window(tmp_path) == 200  # earlier versions: it wins over the tokenizer's 512
