"""The web dashboard's budget (issue #7): the built JavaScript's gzip size and how
soon the market page shows a quote, in headless Chromium against a real platform.

    python -m bench.web [--quick]

``web_js_kb_gzip``: every ``web/dist/assets/*.js`` (or ``$QTP_WEB_DIST``'s) gzipped at level 9, summed
(the lazy admin chunk included). ``market_page_ready_ms``: a signed-in tab (tokens
in sessionStorage, as ``web/src/api/tokens.ts`` keeps them) opens
``/market/005930``; navigation start to the quote price on screen (median).
``first_contentful_paint_ms``: the browser's own ``first-contentful-paint`` entry
(median). The platform is ``quantum run --demo`` in a subprocess on loopback with
the built-in simulator, as ``tests/e2e`` runs it. Budget: < 500 kB, < 1500 ms.

Chromium is Debian's ``/usr/bin/chromium`` (``QTP_CHROMIUM`` overrides), driven by
Playwright with ``executable_path``: no browser download.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench._harness import platform_process, report
from quantum.platform.web import default_dist

ROOT = Path(__file__).resolve().parents[1]
DEMO_TRADER = ("demo", "demo-trader-1")
DEMO_ADMIN = ("admin", "demo-admin-1")
DEMO_ACCOUNT = "KIWOOM_ACC_DEMO"
SIMULATED_START = "2026-11-24T10:00:00+09:00"
"""A Tuesday inside the regular session: orders fill and prices move at any wall time."""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    """Debian's chromium (or ``QTP_CHROMIUM``), None when there is none."""
    configured = os.environ.get("QTP_CHROMIUM", "").strip()
    candidates = [configured] if configured else ["/usr/bin/chromium"]
    for candidate in candidates:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium")
    return found if found and not configured else None


def web_built() -> bool:
    """The dist folder the platform serves (``web/dist`` or ``QTP_WEB_DIST``) is built."""
    return (default_dist() / "index.html").is_file()


@contextlib.contextmanager
def demo_platform(
    data_dir: Path, log_path: Path | None = None, ready_timeout: float = 90.0
) -> Iterator[str]:
    """``quantum run --demo`` with the built-in simulator on a simulated Tuesday
    10:00 KST (real-time clock); yields its base URL."""
    env = {
        "QTP_SIMULATOR_PORT": "0",
        "QTP_SIMULATOR_CLOCK": "real",
        "QTP_SIMULATOR_START": SIMULATED_START,
        "QTP_LOGIN_LIMIT_PER_CLIENT": "10000/minute",
        "QTP_LOGIN_LIMIT_PER_USERNAME": "10000/minute",
    }
    with platform_process(
        data_dir, env, demo=True, log_path=log_path, ready_timeout=ready_timeout
    ) as base:
        yield base


def login(base: str, username: str, password: str) -> dict[str, Any]:
    """The token pair ``POST /api/v1/auth/login`` answers (as the app stores it)."""
    answer = httpx.post(
        f"{base}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30
    )
    answer.raise_for_status()
    tokens: dict[str, Any] = answer.json()
    return tokens


def js_gzip_bytes(dist: Path | None = None) -> int:
    dist = dist or default_dist()
    total = 0
    for path in sorted((dist / "assets").glob("*.js")):
        total += len(gzip.compress(path.read_bytes(), compresslevel=9))
    return total


WATCH_SCRIPT = """(() => {
  const seen = () => {
    if (window.__qtpQuoteAt === undefined && document.querySelector('[data-testid=quote-price]')) {
      window.__qtpQuoteAt = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true });
})();"""
"""Stamps the moment the quote price enters the DOM (ms since navigation start),
so the figure carries no Playwright round trip."""

READY_SCRIPT = """() => {
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return { ready: window.__qtpQuoteAt, fcp: fcp ? fcp.startTime : null };
}"""


def measure_market_page(
    base: str, tokens: dict[str, Any], runs: int
) -> tuple[list[float], list[float]]:
    """``runs`` cold loads (fresh context, no HTTP cache) of ``/market/005930`` by a
    signed-in tab: ms to the quote price, ms to first contentful paint."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise SystemExit("no chromium: apt-get install -y chromium (or set QTP_CHROMIUM)")
    ready: list[float] = []
    paints: list[float] = []
    seed = f"sessionStorage.setItem('qtp.tokens', {json.dumps(json.dumps(tokens))});"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            for _ in range(runs + 1):  # the first load warms the server (and is dropped)
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.add_init_script(seed)
                context.add_init_script(WATCH_SCRIPT)
                page = context.new_page()
                page.goto(f"{base}/market/005930", wait_until="commit")
                page.wait_for_selector("[data-testid=quote-price]", timeout=30_000)
                figures = page.evaluate(READY_SCRIPT)
                ready.append(float(figures["ready"]))
                if figures["fcp"] is not None:
                    paints.append(float(figures["fcp"]))
                context.close()
        finally:
            browser.close()
    return ready[1:], paints[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="median of 3 loads (default: 10)")
    args = parser.parse_args()
    if not web_built():
        raise SystemExit("web/dist is not built: cd web && npm ci && npm run build")
    report("web_js_kb_gzip", js_gzip_bytes() / 1000, "kB")
    runs = 3 if args.quick else 10
    with tempfile.TemporaryDirectory() as folder, demo_platform(Path(folder)) as base:
        tokens = login(base, *DEMO_TRADER)
        ready, paints = measure_market_page(base, tokens, runs)
    report("market_page_ready_ms", statistics.median(ready), "ms")
    if paints:
        report("first_contentful_paint_ms", statistics.median(paints), "ms")


if __name__ == "__main__":
    main()
