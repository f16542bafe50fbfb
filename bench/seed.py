"""Figures for the seed corpus, measured in one run: index build, warm latency, cold ask, peak memory.

    python bench/seed.py [--json-out FILE]

Speed targets live here, not in unit tests; machines are noisy, so compare figures
from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = ["Can I opt out from the US?", "How do I object in the EU?", "What is the capital of France?"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from assistant.answer import open_answerer
    from assistant.config import Settings
    from assistant.embedder import Embedder
    from assistant.refresh import refresh
    from bench.scale import peak_kb, run_assistant, timed

    home = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    figures: dict[str, object] = {}
    try:
        wall, peak = run_assistant(home / "cli", ROOT / "corpus", None, "refresh")
        figures["refresh_process_s"] = round(wall, 2)
        figures["refresh_peak_rss_mb"] = round(peak)
        wall, peak = run_assistant(home / "cli", ROOT / "corpus", None, "ask", QUESTIONS[0])
        figures["cold_ask_process_s"] = round(wall, 2)
        figures["ask_peak_rss_mb"] = round(peak)

        settings = Settings(home=home / "lib", corpus=ROOT / "corpus")
        embedder = Embedder.for_settings(settings)  # the configured backend, as the product uses it
        embedder.encode(["load"])
        t0 = time.perf_counter()
        report = refresh(settings, embedder=embedder)
        figures["index_build_s_model_loaded"] = round(time.perf_counter() - t0, 3)
        figures["chunks"] = report.embedded_chunks
        answerer = open_answerer(settings, embedder=embedder)
        per_question = {}
        for q in QUESTIONS:
            answerer.answer(q)  # warm
            retrieval, whole = timed(answerer, [q] * args.runs)
            per_question[q] = {
                "retrieval_ms_median": round(statistics.median(retrieval), 1),
                "answer_ms_median": round(statistics.median(whole), 1),
            }
        figures["warm"] = per_question
        figures["bench_process_peak_rss_mb"] = round(peak_kb() / 1024)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(figures, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
