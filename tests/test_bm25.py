"""The question-time BM25 reader gives bm25s's own rankings and scores from the saved index."""

from __future__ import annotations

import random

import bm25s
import numpy as np
import pytest

from assistant.bm25 import Bm25Index
from assistant.types import AssistantError

WORDS = "object opt out train model public post photo delete account regulator pause data share".split()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    rng = random.Random(5)
    corpus = [[rng.choice(WORDS) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    folder = tmp_path_factory.mktemp("bm25")
    built = bm25s.BM25()
    built.index(corpus, show_progress=False)
    built.save(str(folder))
    return folder, bm25s.BM25.load(str(folder))


def test_scores_equal_bm25s_and_the_best_come_first(saved):
    folder, reference = saved
    ours = Bm25Index(folder)
    rng = random.Random(9)
    for i in range(60):
        tokens = [rng.choice(WORDS) for _ in range(rng.randint(1, 6))]  # repeats count twice
        mask = (np.random.default_rng(i).random(ours.num_docs) > 0.4).astype(np.float32) if i % 2 else None
        k = rng.choice([1, 8, 40, 1000])
        want = reference.get_scores(tokens, weight_mask=mask)
        assert np.array_equal(ours.scores(tokens) * (1 if mask is None else mask), want)
        ranked = sorted((r for r in range(len(want)) if want[r] > 0), key=lambda r: (-want[r], r))[:k]
        ids, scores = ours.retrieve(tokens, k, weight_mask=mask)
        assert ids.tolist() == ranked  # best first, a tie in row order, no zero scores
        assert np.array_equal(scores, want[ranked])


def test_unknown_tokens_score_nothing(saved):
    ours = Bm25Index(saved[0])
    assert not ours.scores(["tiktok", "zzz"]).any()
    ids, scores = ours.retrieve(["tiktok", "photo"], 5)
    assert len(ids) == 5 and scores[0] > 0


def test_a_damaged_index_is_one_clear_error(saved, tmp_path):
    (tmp_path / "params.index.json").write_text((saved[0] / "params.index.json").read_text())
    (tmp_path / "vocab.index.json").write_text("{not json")
    with pytest.raises(AssistantError, match=r"BM25 index .* damaged"):
        Bm25Index(tmp_path)


@pytest.mark.parametrize("params", ['{"method": "lucene"}', "[1, 2]", '{"method": "bm25l", "num_docs": 300}'])
def test_damaged_or_unreadable_parameters_are_one_clear_error(saved, tmp_path, params):
    for f in saved[0].iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "params.index.json").write_text(params)
    with pytest.raises(AssistantError, match=r"BM25 index .* run 'assistant refresh'"):
        Bm25Index(tmp_path)


def test_arrays_that_disagree_are_damage(saved, tmp_path):
    for f in saved[0].iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    indices = np.load(tmp_path / "indices.csc.index.npy")
    np.save(tmp_path / "indices.csc.index.npy", indices[:-1])  # a whole array, one entry short
    with pytest.raises(AssistantError, match="damaged"):
        Bm25Index(tmp_path)
