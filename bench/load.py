"""Load test: concurrent web-chat users against a real `assistant serve` on loopback.

    python bench/load.py [--users 16] [--questions 25] [--json-out FILE]

Starts its own server over a private copy of the seed corpus on 127.0.0.1, then runs
two rounds of `users` gradio_client users each asking `questions` questions through the
chat API: one round on a quiet server, one while `assistant refresh --force` runs again
and again. Then it waits until the server has let go of the generations the refreshes
retired and compares its open files with the quiet round's. Prints p50/p95 latency per
round and the server's memory and open files, and exits non-zero on any failed request,
on files kept open by retired generations, or when the run exceeds --max-seconds.
Bounded in count and time, loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Can I opt out from the US?",
    "How do I object in the EU?",
    "Are my private messages used?",
    "I live in Canada, what can I do?",
    "When does the new policy take effect?",
    "Can my friends' posts about me still be used?",
    "What proof do I need if I'm not in Europe?",
    "Does Meta use my chats with its AI?",
    "What is the capital of France?",
    "Can Meta reject my objection?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(home: Path, corpus: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_CORPUS": str(corpus),
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    env.pop("ASSISTANT_AUTH", None)
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the server exited while starting") from None
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start in 120 s")


LEAK_SLACK = 25  # open files a settled server may hold beyond its quiet count (one generation holds about 12)


def server_footprint(pid: int) -> dict[str, int]:
    """The server's resident memory and open files (a leak of old index generations shows in both)."""
    with open(f"/proc/{pid}/status") as fh:
        rss_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS"))
    return {"rss_mb": rss_kb // 1024, "open_files": len(os.listdir(f"/proc/{pid}/fd"))}


def user(url: str, n: int, offset: int) -> tuple[list[float], list[str]]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    latencies: list[float] = []
    failures: list[str] = []
    for i in range(n):
        question = QUESTIONS[(offset + i) % len(QUESTIONS)]
        t0 = time.perf_counter()
        try:
            history, _box, _sources, _status = client.predict(question, [], "auto", api_name="/chat")
            reply = json.dumps(history[-1]["content"])
            if "⚠️" in reply or not ("[1]" in reply or "don't say" in reply):
                failures.append(f"{question!r}: unexpected reply {reply[:120]}")
        except Exception as exc:  # a failed request is what this test counts
            failures.append(f"{question!r}: {type(exc).__name__}: {exc}")
        latencies.append((time.perf_counter() - t0) * 1000)
    return latencies, failures


def round_(url: str, users: int, questions: int) -> dict[str, object]:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        results = list(pool.map(lambda k: user(url, questions, k), range(users)))
    latencies = [x for lat, _ in results for x in lat]
    failures = [f for _, fs in results for f in fs]
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "failed": len(failures),
        "failures": failures[:10],
        "p50_ms": round(statistics.median(latencies)),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)]),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--questions", type=int, default=25)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    if not (1 <= args.users <= 64 and 1 <= args.questions <= 100):
        raise SystemExit("--users must be 1..64 and --questions 1..100")
    t_all = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="assistant-load-"))
    home, corpus = work / "home", work / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_CORPUS": str(corpus), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "assistant", "refresh"], cwd=ROOT, env=env, check=True, capture_output=True)
    proc, url = start(home, corpus)
    figures: dict[str, object] = {"users": args.users, "questions_per_user": args.questions}
    try:
        figures["quiet"] = round_(url, args.users, args.questions)
        figures["quiet"]["server"] = server_footprint(proc.pid)  # type: ignore[index]
        print("quiet:", json.dumps(figures["quiet"]), flush=True)
        stop = threading.Event()
        refreshes = {"done": 0, "failed": 0}

        def refresh_loop() -> None:
            while not stop.is_set():
                r = subprocess.run(
                    [sys.executable, "-m", "assistant", "refresh", "--force"], cwd=ROOT, env=env, capture_output=True
                )
                refreshes["done" if r.returncode == 0 else "failed"] += 1

        thread = threading.Thread(target=refresh_loop)
        thread.start()
        try:
            figures["during_refresh"] = round_(url, args.users, args.questions)
        finally:
            stop.set()
            thread.join()
        figures["during_refresh"]["refreshes_completed"] = refreshes["done"]  # type: ignore[index]
        figures["during_refresh"]["refreshes_failed"] = refreshes["failed"]  # type: ignore[index]
        figures["during_refresh"]["server"] = server_footprint(proc.pid)  # type: ignore[index]
        print("during refresh:", json.dumps(figures["during_refresh"]), flush=True)
        # The server lets go of a retired generation RETIRE_AFTER seconds after the switch,
        # at its next question: after that its footprint should be back near the quiet one.
        sys.path.insert(0, str(ROOT))
        from assistant.live import LiveAnswerer

        time.sleep(LiveAnswerer.RETIRE_AFTER + 1)
        _, errors = user(url, 1, 0)
        figures["settled"] = {"failed": len(errors), "server": server_footprint(proc.pid)}
        print("settled:", json.dumps(figures["settled"]), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    figures["total_s"] = round(time.perf_counter() - t_all, 1)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(figures, indent=2))
    failed = sum(figures[k]["failed"] for k in ("quiet", "during_refresh", "settled"))  # type: ignore[index,misc]
    kept = figures["settled"]["server"]["open_files"] - figures["quiet"]["server"]["open_files"]  # type: ignore[index,operator]
    if kept > LEAK_SLACK:
        print(f"FAILED: the server kept {kept} more files open after the refreshes than before", file=sys.stderr)
        return 1
    if failed or figures["during_refresh"]["refreshes_failed"]:  # type: ignore[index]
        print(f"FAILED: {failed} failed requests", file=sys.stderr)
        return 1
    if figures["total_s"] > args.max_seconds:  # type: ignore[operator]
        print(f"FAILED: took {figures['total_s']} s (limit {args.max_seconds} s)", file=sys.stderr)
        return 1
    print(f"ok: 0 failed requests in {figures['total_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
