"""Fit the query adapter (assistant/adapter.py) for `make fit`, on the fit sets only.

One item per answerable fit question: its vector, the vectors of every sentence in its
scope (its PolicyQA policy, or the whole seed corpus of its set) and which of them hold an
evidence string (the eval's credit rule). The loss is the listwise one of dense retrieval:
minus the log of the softmax mass, over the scope, of the sentences that answer, with the
similarities divided by a temperature; plus an L2 penalty that keeps W near zero (the
adapted vector near the question's own).

The settings below were chosen by leave-one-group-out hit@1 on the fit sets (every
PolicyQA fit policy and seed-corpus set held out in turn; dense sentence ranking over the
whole scope). Out of fold, PolicyQA fit hit@1 went from 0.137 (the question's own vector)
to 0.215 with L2 1e-3 and 5 epochs; 1e-4 gave 0.213, 1e-2 0.204, and 15 epochs 0.206-0.208
with evolving falling from 0.30 to 0.20.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from assistant.index import Index

L2 = 1e-3
EPOCHS = 5
TEMPERATURE = 0.05
LEARNING_RATE = 1e-3
BATCH = 64


@dataclass(frozen=True)
class Item:
    group: str
    question: np.ndarray  # the question's own vector
    sentences: np.ndarray  # every sentence vector in the question's scope
    answers: np.ndarray  # bool per sentence: holds an evidence string


def scope_sentences(index: Index) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every sentence of an index: vectors, document ids and texts, in chunk order."""
    vectors, doc_ids, texts = [], [], []
    for i in range(len(index.chunks)):
        chunk = index.chunks[i]
        text = index.documents[chunk.doc_id].text
        rows = index.sentences_of(chunk)
        for j, sent in enumerate(chunk.sentences):
            vectors.append(rows[j])
            doc_ids.append(chunk.doc_id)
            texts.append(text[sent.start : sent.end])
    return np.asarray(vectors, dtype=np.float32), np.asarray(doc_ids), texts


def train(items: Sequence[Item], seed: int = 0) -> np.ndarray:
    """W (d x d) fitted on the items."""
    import torch

    torch.manual_seed(seed)
    dim = items[0].question.shape[0]
    weights = torch.zeros(dim, dim, requires_grad=True)
    opt = torch.optim.Adam([weights], lr=LEARNING_RATE)
    qs = [torch.from_numpy(it.question) for it in items]
    ss = [torch.from_numpy(it.sentences) for it in items]
    ys = [torch.from_numpy(it.answers) for it in items]
    rng = np.random.default_rng(seed)
    for _ in range(EPOCHS):
        order = rng.permutation(len(items))
        for b in range(0, len(order), BATCH):
            batch = order[b : b + BATCH]
            loss = torch.zeros(())
            for k in batch:
                q = qs[k] + qs[k] @ weights
                logits = ss[k] @ (q / q.norm()) / TEMPERATURE
                loss = loss + torch.logsumexp(logits, 0) - torch.logsumexp(logits[ys[k]], 0)
            loss = loss / len(batch) + L2 * (weights**2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return weights.detach().numpy()


def hit_at_1(items: Iterable[Item], weights: np.ndarray | None) -> list[bool]:
    """Per item: whether the best dense match in its scope answers (with W, or without)."""
    hits = []
    for it in items:
        q = it.question if weights is None else it.question + it.question @ weights
        hits.append(bool(it.answers[int(np.argmax(it.sentences @ q))]))
    return hits


def out_of_fold(items: Sequence[Item]) -> dict[str, np.ndarray]:
    """W per group, fitted without that group's items."""
    groups = sorted({it.group for it in items})
    return {g: train([it for it in items if it.group != g]) for g in groups}
