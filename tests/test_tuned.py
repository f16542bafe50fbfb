"""The shipped encoder: the packaged model's folder with the fitted bias changes added."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from assistant import tuned
from assistant.types import AssistantError


def base_folder(tmp_path):
    base = tmp_path / "base"
    (base / "1_Pooling").mkdir(parents=True)
    (base / "modules.json").write_text("[]", "utf-8")
    (base / "1_Pooling" / "config.json").write_text("{}", "utf-8")
    save_file(
        {"layer.bias": np.zeros(3, np.float32), "layer.weight": np.ones((2, 3), np.float32)},
        str(base / "model.safetensors"),
    )
    return base


def deltas(tmp_path, values, name="bias.npz"):
    path = tmp_path / name
    with path.open("wb") as f:
        np.savez_compressed(f, **{"layer.bias": np.asarray(values, np.float32)})
    tuned.tuned_name.cache_clear()
    return path


@pytest.mark.fast
def test_the_folder_is_the_base_with_the_changes_added(tmp_path):
    base, path = base_folder(tmp_path), deltas(tmp_path, [0.5, -1.0, 0.0])
    name = tuned.tuned_name(path)
    out = tuned.assemble(base, name, tmp_path / "cache", path)
    assert out.name == name and tuned.is_tuned(name)
    weights = load_file(str(out / "model.safetensors"))
    assert weights["layer.bias"].tolist() == [0.5, -1.0, 0.0]
    assert weights["layer.weight"].tolist() == [[1.0] * 3] * 2  # what has no change stays
    assert (out / "1_Pooling" / "config.json").exists() and (out / "modules.json").exists()
    assert not list(out.parent.glob("*.tmp-*"))  # nothing half-written is left beside it


@pytest.mark.fast
def test_the_name_follows_the_values_not_the_file(tmp_path):
    first = tuned.tuned_name(deltas(tmp_path, [0.5, 0.0, 0.0], "a.npz"))
    again = tuned.tuned_name(deltas(tmp_path, [0.5, 0.0, 0.0], "b.npz"))
    other = tuned.tuned_name(deltas(tmp_path, [0.25, 0.0, 0.0], "c.npz"))
    assert first == again != other


@pytest.mark.fast
def test_changes_that_do_not_fit_the_model_are_refused(tmp_path):
    base, path = base_folder(tmp_path), deltas(tmp_path, [1.0, 2.0])  # 2 values for a bias of 3
    with pytest.raises(AssistantError, match="does not fit"):
        tuned.assemble(base, tuned.tuned_name(path), tmp_path / "cache", path)
    assert not (tmp_path / "cache" / "models" / tuned.tuned_name(path)).exists()


@pytest.mark.fast
def test_a_name_this_version_does_not_ship_is_refused(tmp_path):
    base, path = base_folder(tmp_path), deltas(tmp_path, [0.5, 0.0, 0.0])
    with pytest.raises(AssistantError, match="not the one this version ships"):
        tuned.assemble(base, tuned.PREFIX + "00000000", tmp_path / "cache", path)


def test_the_real_model_with_changed_biases_is_assembled_and_encodes(tmp_path, monkeypatch, embedder):
    """The packaged model's folder, one bias moved: it loads offline through the default
    backend, and its vectors are near the packaged model's but not the same."""
    path = tmp_path / "encoder_bias.npz"
    with path.open("wb") as f:
        np.savez_compressed(
            f,
            **{
                "encoder.layer.5.output.dense.bias": np.random.default_rng(0)
                .normal(scale=0.05, size=384)
                .astype(np.float32)
            },
        )
    monkeypatch.setattr(tuned, "BIAS_FILE", path)
    tuned.tuned_name.cache_clear()
    name = tuned.tuned_name(path)
    from assistant.embedder import Embedder

    texts = ["Can I object to AI training?", "People in the US cannot opt out."]
    mine = Embedder(name, cache=tmp_path / "cache").encode(texts)
    base = embedder.encode(texts)
    cosines = (mine * base).sum(axis=1)
    assert (cosines > 0.9).all() and (cosines < 0.99999).all()
    tuned.tuned_name.cache_clear()


@pytest.mark.fast
def test_a_folder_another_process_made_meanwhile_is_kept(tmp_path, monkeypatch):
    base, path = base_folder(tmp_path), deltas(tmp_path, [0.5, 0.0, 0.0])
    name = tuned.tuned_name(path)
    rename = os.rename

    def theirs_first(src, dst):  # another process renames its finished folder into place first
        shutil.copytree(src, dst)
        (Path(dst) / "theirs").write_text("", "utf-8")
        rename(src, dst)

    monkeypatch.setattr(tuned.os, "rename", theirs_first)
    out = tuned.assemble(base, name, tmp_path / "cache", path)
    assert (out / "theirs").exists() and (out / "model.safetensors").exists()
    assert not list(out.parent.glob("*.tmp-*"))
