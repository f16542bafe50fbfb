"""Indexing speed of the three ways of making vectors, in one run on one synthetic corpus.

    python bench/vectors.py [--size 10000] [--backend onnx] [--json-out FILE]

"two-pass" encodes each chunk and each of its sentences; "pooled" encodes each sentence
once and pools the chunk's vector from them; "late" encodes each chunk once (in windows
of the model's length) and pools the sentences' vectors from its token states. Each is
a full `refresh` of the same corpus, into its own ASSISTANT_HOME, with one loaded model.
Prints chunks/s, tokens encoded and the speed-up over two-pass. Machines are noisy:
compare the figures of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MODES = ("two-pass", "pooled", "late")


def main() -> int:
    from scale import make_corpus

    from assistant.config import Settings
    from assistant.embedder import Embedder
    from assistant.refresh import refresh

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10_000, help="chunks in the synthetic corpus")
    parser.add_argument("--backend", default="onnx", choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="assistant-vectors-") as tmp:
        corpus = Path(tmp) / "corpus"
        make_corpus(args.size, corpus)
        embedder = Embedder(backend=args.backend)
        embedder.encode(["load the model before timing"])
        for mode in args.modes:
            settings = Settings(home=Path(tmp) / mode, corpus=corpus, embed_backend=args.backend, vectors=mode)
            t0 = time.perf_counter()
            report = refresh(settings, embedder=embedder, fetch=False)
            seconds = time.perf_counter() - t0
            rows.append(
                {
                    "vectors": mode,
                    "chunks": report.embedded_chunks,
                    "build_s": round(seconds, 1),
                    "chunks_per_s": round(report.embedded_chunks / seconds, 1),
                }
            )
    base = next((r["chunks_per_s"] for r in rows if r["vectors"] == "two-pass"), None)
    for r in rows:
        r["speed_vs_two_pass"] = round(r["chunks_per_s"] / base, 2) if base else None
        print(json.dumps(r), flush=True)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps({"size": args.size, "backend": args.backend, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
