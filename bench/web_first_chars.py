"""Time from pressing Enter in the web chat to the first characters of the answer on screen.

    python bench/web_first_chars.py [--runs 20]

Starts `python app.py` on a free loopback port over the seed index, drives Debian's
chromium with Playwright, and prints the median (and p95) of warm runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

QUESTIONS = [
    "Can I opt out from the US?",
    "How do I object in the EU?",
    "Are my private messages used?",
    "What can people in Canada do?",
]
FIRST_TEXT = """(before) => {
  const bots = document.querySelectorAll('#chat [data-testid="bot"]');
  return bots.length > before && bots[bots.length - 1].innerText.trim().length > 0;
}"""


def first_chars_ms(page, question: str) -> float:
    """Press Enter on a question; milliseconds until the answer's first characters are on screen."""
    before = page.locator('#chat [data-testid="bot"]').count()
    box = page.locator("#question textarea")
    box.fill(question)
    t0 = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(FIRST_TEXT, arg=before, polling="raf", timeout=30000)
    elapsed = (time.perf_counter() - t0) * 1000
    page.wait_for_timeout(600)  # let the stream and the sources panel finish before the next question
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from assistant.config import Settings
    from assistant.refresh import refresh
    from tests.conftest import start_server

    home = Path(tempfile.mkdtemp(prefix="assistant-web-bench-"))
    settings = Settings(home=home, corpus=ROOT / "corpus")
    refresh(settings)
    proc, url = start_server(settings)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector("#question textarea")
            first_chars_ms(page, "warm-up: can I opt out?")
            times = [first_chars_ms(page, QUESTIONS[i % len(QUESTIONS)]) for i in range(args.runs)]
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    times.sort()
    print(
        json.dumps(
            {
                "runs": len(times),
                "first_chars_ms_median": round(statistics.median(times)),
                "first_chars_ms_p95": round(times[int(0.95 * (len(times) - 1))]),
                "first_chars_ms_min": round(times[0]),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
