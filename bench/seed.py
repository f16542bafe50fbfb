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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = ["Can I opt out from the US?", "How do I object in the EU?", "What is the capital of France?"]


def child(home: Path, *args: str) -> tuple[float, float]:
    """Run `assistant ...` as a new process: (wall seconds, peak RSS MB of that process)."""
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_CORPUS": str(ROOT / "corpus")}
    t0 = time.perf_counter()
    wrapper = (
        "import runpy, sys; sys.argv = ['assistant', *sys.argv[1:]];\n"
        "try:\n    runpy.run_module('assistant', run_name='__main__')\n"
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would report the parent's size
        "finally:\n    print('PEAK_KB', [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0],"
        " file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    peak = next(int(line.split()[1]) for line in out.stderr.splitlines() if line.startswith("PEAK_KB"))
    return wall, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from assistant.answer import open_answerer
    from assistant.config import Settings
    from assistant.index import Embedder, refresh

    home = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    figures: dict[str, object] = {}
    try:
        wall, peak = child(home / "cli", "refresh")
        figures["refresh_process_s"] = round(wall, 2)
        figures["refresh_peak_rss_mb"] = round(peak)
        wall, peak = child(home / "cli", "ask", QUESTIONS[0])
        figures["cold_ask_process_s"] = round(wall, 2)
        figures["ask_peak_rss_mb"] = round(peak)

        embedder = Embedder()
        embedder.encode(["load"])
        settings = Settings(home=home / "lib", corpus=ROOT / "corpus")
        t0 = time.perf_counter()
        report = refresh(settings, embedder=embedder)
        figures["index_build_s_model_loaded"] = round(time.perf_counter() - t0, 3)
        figures["chunks"] = report.embedded_chunks
        answerer = open_answerer(settings, embedder=embedder)
        per_question = {}
        for q in QUESTIONS:
            answerer.answer(q)  # warm
            retrieval, whole = [], []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                answerer.retriever.retrieve(q, 8)
                retrieval.append((time.perf_counter() - t0) * 1000)
                answerer.encode._cache.clear()
                t0 = time.perf_counter()
                answerer.answer(q)
                whole.append((time.perf_counter() - t0) * 1000)
                answerer.encode._cache.clear()
            per_question[q] = {
                "retrieval_ms_median": round(statistics.median(retrieval), 1),
                "answer_ms_median": round(statistics.median(whole), 1),
            }
        figures["warm"] = per_question
        with open("/proc/self/status") as fh:
            figures["bench_process_peak_rss_mb"] = round(
                next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) / 1024
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(figures, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
