"""Refresh cost, measured in one run: nothing changed, one seed document changed, and a
synthetic corpus of 1,000 documents with 10 changed (chunks embedded and seconds).

    python bench/refresh.py [--docs 1000] [--changed 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def synthetic(corpus: Path, n: int, version: dict[int, int]) -> None:
    docs = corpus / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        v = version.get(i, 0)
        clauses = " ".join(
            f"Clause {i}.{j}: users in region {j % 7} may object to processing of category {j} data"
            + (f" (revision {v})" if v and j == 3 else "")
            + "."
            for j in range(12)
        )
        (docs / f"policy-{i:04d}.md").write_text(
            f"# Policy note {i}\n\n## Who may object\n\n{clauses}\n\n## How\n\nSend the form to office {i % 13}.\n",
            "utf-8",
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=10)
    args = parser.parse_args()
    from assistant.config import Settings
    from assistant.embedder import Embedder
    from assistant.refresh import refresh

    embedder = Embedder()
    embedder.encode(["load"])
    work = Path(tempfile.mkdtemp(prefix="assistant-refresh-bench-"))
    out: dict[str, object] = {}
    try:
        seed = Settings(home=work / "seed-home", corpus=work / "seed")
        shutil.copytree(ROOT / "corpus", seed.corpus)
        first = refresh(seed, embedder=embedder)
        out["seed_first_build"] = {"chunks_embedded": first.embedded_chunks, "seconds": round(first.seconds, 2)}
        same = refresh(seed, embedder=embedder)
        out["seed_nothing_changed"] = {"chunks_embedded": same.embedded_chunks, "seconds": round(same.seconds, 3)}
        env = {**os.environ, "ASSISTANT_HOME": str(seed.home), "ASSISTANT_CORPUS": str(seed.corpus)}
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "assistant", "refresh"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        out["seed_nothing_changed_cli_process_s"] = round(time.perf_counter() - t0, 2)
        doc = seed.corpus / "docs" / "ttcsirt-2024-meta-public-posts-ai.txt"
        doc.write_text(doc.read_text("utf-8") + "\nAn added closing paragraph about the objection deadline.\n", "utf-8")
        one = refresh(seed, embedder=embedder)
        out["seed_one_changed"] = {
            "chunks_embedded": one.embedded_chunks,
            "chunks_reused": one.reused_chunks,
            "seconds": round(one.seconds, 2),
        }

        big = Settings(home=work / "big-home", corpus=work / "big")
        synthetic(big.corpus, args.docs, {})
        full = refresh(big, embedder=embedder, fetch=False)
        out[f"synthetic_{args.docs}_first_build"] = {
            "chunks_embedded": full.embedded_chunks,
            "seconds": round(full.seconds, 1),
        }
        none = refresh(big, embedder=embedder, fetch=False)
        out[f"synthetic_{args.docs}_nothing_changed"] = {
            "chunks_embedded": none.embedded_chunks,
            "seconds": round(none.seconds, 2),
        }
        synthetic(big.corpus, args.docs, {i * (args.docs // args.changed): 1 for i in range(args.changed)})
        some = refresh(big, embedder=embedder, fetch=False)
        out[f"synthetic_{args.docs}_{args.changed}_changed"] = {
            "documents_changed": len(some.changed),
            "chunks_embedded": some.embedded_chunks,
            "chunks_reused": some.reused_chunks,
            "seconds": round(some.seconds, 1),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
