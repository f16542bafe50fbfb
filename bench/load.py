"""Load test: concurrent web-chat users against a real `assistant serve` on loopback.

    python bench/load.py [--users 16 32 64] [--questions 6] [--rounds quiet refresh busy]
                         [--json-out FILE] [--before FILE]

Starts its own server over a private copy of the seed corpus on 127.0.0.1, waits for its
readiness endpoint (/ready: the index loaded and one answer computed), then, for each
number of users, runs these rounds of users each asking `questions` questions through the
chat's HTTP API and reading the answer as it streams:

- quiet: nothing else running;
- refresh: `assistant refresh --force` runs again and again beside the server;
- busy: another process keeps one core busy (`while True: pass`).

Each round prints answers/s, the time to the first streamed piece (the first sentence
on the screen) and to the whole answer (p50/p95), and how long the page's config took to
load while the answers were being computed (p95, probed every 0.2 s: the page must stay
responsive). After the refresh rounds it waits until the server has let go of the
generations the refreshes retired and compares its open files with the quiet round's.
Exits non-zero on any failed request, on files kept open by retired generations, or when
the run exceeds --max-seconds. With --before FILE (a --json-out of an earlier run), that
run's figures are printed beside the new ones. Bounded in count and time, loopback only.
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
from typing import Any

import httpx

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
ROUNDS = ("quiet", "refresh", "busy")
LEAK_SLACK = 25  # open files a settled server may hold beyond its quiet count (one generation holds about 12)
TIMEOUT = httpx.Timeout(60.0, connect=30.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(home: Path, corpus: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start `assistant serve` and wait until its /ready says it can answer."""
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
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited while starting")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server was not ready in 120 s")


def server_footprint(pid: int) -> dict[str, int]:
    """The server's resident memory and open files (a leak of old index generations shows in both)."""
    with open(f"/proc/{pid}/status") as fh:
        rss_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS"))
    return {"rss_mb": rss_kb // 1024, "open_files": len(os.listdir(f"/proc/{pid}/fd"))}


def ask(client: httpx.Client, url: str, question: str) -> tuple[float, float, str]:
    """One chat question as the page asks it; (seconds to the first piece, to the whole answer, reply)."""
    t0 = time.perf_counter()
    r = client.post(f"{url}/gradio_api/call/chat", json={"data": [question, [], "auto", "extractive", None]})
    r.raise_for_status()
    first = None
    reply = ""
    event = ""
    with client.stream("GET", f"{url}/gradio_api/call/chat/{r.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event in ("generating", "complete", "error"):
                if event == "error":
                    raise RuntimeError(f"the server said: {line[6:][:200]}")
                history = json.loads(line[6:])[0]
                if history and history[-1].get("role") == "assistant" and history[-1].get("content"):
                    first = first if first is not None else time.perf_counter() - t0
                    reply = json.dumps(history[-1]["content"])
                if event == "complete":
                    return first or 0.0, time.perf_counter() - t0, reply
    raise RuntimeError("the stream ended without a complete answer")


def user(url: str, n: int, offset: int) -> tuple[list[tuple[float, float]], list[str]]:
    times: list[tuple[float, float]] = []
    failures: list[str] = []
    with httpx.Client(timeout=TIMEOUT) as client:
        for i in range(n):
            question = QUESTIONS[(offset + i) % len(QUESTIONS)]
            try:
                first, whole, reply = ask(client, url, question)
                times.append((first, whole))
                if "⚠️" in reply or not ("[1]" in reply or "don't say" in reply):
                    failures.append(f"{question!r}: unexpected reply {reply[:120]}")
            except Exception as exc:  # a failed request is what this test counts
                failures.append(f"{question!r}: {type(exc).__name__}: {exc}")
    return times, failures


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(q * len(ordered)) - 1)] if ordered else 0.0


def probe_config(url: str, stop: threading.Event, out: list[float], failures: list[str]) -> None:
    """Load the page's config every 0.2 s, as a newly opened page does, and time it."""
    with httpx.Client(timeout=TIMEOUT) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                client.get(f"{url}/config").raise_for_status()
                out.append(time.perf_counter() - t0)
            except httpx.HTTPError as exc:
                failures.append(f"page config: {type(exc).__name__}: {exc}")
            stop.wait(0.2)


def round_(url: str, users: int, questions: int) -> dict[str, Any]:
    stop, config_s, config_failures = threading.Event(), [], []  # type: ignore[var-annotated]
    probe = threading.Thread(target=probe_config, args=(url, stop, config_s, config_failures))
    probe.start()
    t0 = time.perf_counter()
    try:
        with ThreadPoolExecutor(users) as pool:
            results = list(pool.map(lambda k: user(url, questions, k), range(users)))
    finally:
        seconds = time.perf_counter() - t0
        stop.set()
        probe.join()
    times = [t for ts, _ in results for t in ts]
    failures = [f for _, fs in results for f in fs] + config_failures
    firsts, wholes = [t[0] * 1000 for t in times], [t[1] * 1000 for t in times]
    return {
        "users": users,
        "requests": users * questions,
        "failed": len(failures),
        "failures": failures[:10],
        "answers_per_s": round(len(times) / seconds, 1),
        "first_piece_p50_ms": round(statistics.median(firsts)) if firsts else None,
        "first_piece_p95_ms": round(pct(firsts, 0.95)) if firsts else None,
        "answer_p50_ms": round(statistics.median(wholes)) if wholes else None,
        "answer_p95_ms": round(pct(wholes, 0.95)) if wholes else None,
        "page_config_p95_ms": round(pct([c * 1000 for c in config_s], 0.95)) if config_s else None,
        "seconds": round(seconds, 1),
    }


class Beside:
    """Something else running on the machine during a round: refreshes, or a busy core."""

    def __init__(self, kind: str, env: dict[str, str]) -> None:
        self.kind, self.env = kind, env
        self.stop = threading.Event()
        self.refreshes = {"done": 0, "failed": 0}
        self.thread: threading.Thread | None = None
        self.busy: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Beside:
        if self.kind == "refresh":
            self.thread = threading.Thread(target=self._refresh_loop)
            self.thread.start()
        elif self.kind == "busy":
            self.busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def _refresh_loop(self) -> None:
        while not self.stop.is_set():
            r = subprocess.run(
                [sys.executable, "-m", "assistant", "refresh", "--force"], cwd=ROOT, env=self.env, capture_output=True
            )
            self.refreshes["done" if r.returncode == 0 else "failed"] += 1

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        if self.busy is not None:
            self.busy.kill()
            self.busy.wait()


def previous(path: Path | None) -> dict[tuple[Any, Any], dict[str, Any]]:
    """The figures of an earlier run written to `path`, by (users, round)."""
    try:
        old = json.loads(path.read_text()) if path else {}
    except (OSError, ValueError):
        return {}
    return {(r.get("users"), r.get("round")): r for r in old.get("rounds", []) if isinstance(r, dict)}


SHOWN = ("answers_per_s", "first_piece_p50_ms", "first_piece_p95_ms", "answer_p95_ms", "page_config_p95_ms", "failed")


def show(row: dict[str, Any], old: dict[str, Any] | None) -> str:
    parts = [f"{row['users']:>2} users {row['round']:<7}"]
    for key in SHOWN:
        was = f" (was {old[key]})" if old and old.get(key) is not None else ""
        parts.append(f"{key}={row[key]}{was}")
    if "refreshes_completed" in row:
        parts.append(f"refreshes={row['refreshes_completed']}")
    return "  ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--rounds", nargs="+", choices=ROUNDS, default=list(ROUNDS))
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--before", type=Path, help="an earlier run's --json-out, printed beside this one")
    args = parser.parse_args()
    if not all(1 <= u <= 64 for u in args.users) or not 1 <= args.questions <= 100:
        raise SystemExit("--users must be 1..64 and --questions 1..100")
    before = previous(args.before)
    t_all = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="assistant-load-"))
    home, corpus = work / "home", work / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_CORPUS": str(corpus), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "assistant", "refresh"], cwd=ROOT, env=env, check=True, capture_output=True)
    proc, url = start(home, corpus)
    rows: list[dict[str, Any]] = []
    figures: dict[str, Any] = {"questions_per_user": args.questions, "rounds": rows}
    try:
        quiet_files = server_footprint(proc.pid)["open_files"]
        for users in args.users:
            for kind in args.rounds:
                with Beside(kind, env) as beside:
                    row = {"round": kind, **round_(url, users, args.questions)}
                if kind == "refresh":
                    row["refreshes_completed"] = beside.refreshes["done"]
                    row["refreshes_failed"] = beside.refreshes["failed"]
                row["server"] = server_footprint(proc.pid)
                rows.append(row)
                print(show(row, before.get((users, kind))), flush=True)
        if "refresh" in args.rounds:
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
    failed = sum(r["failed"] + r.get("refreshes_failed", 0) for r in rows) + figures.get("settled", {}).get("failed", 0)
    if "settled" in figures:
        kept = figures["settled"]["server"]["open_files"] - quiet_files
        if kept > LEAK_SLACK:
            print(f"FAILED: the server kept {kept} more files open after the refreshes than before", file=sys.stderr)
            return 1
    if failed:
        print(f"FAILED: {failed} failed requests", file=sys.stderr)
        return 1
    if figures["total_s"] > args.max_seconds:
        print(f"FAILED: took {figures['total_s']} s (limit {args.max_seconds} s)", file=sys.stderr)
        return 1
    print(f"ok: 0 failed requests in {figures['total_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
