"""Browser tests (issue #7): the built dashboard (``web/dist``) in headless Chromium
(Debian's ``/usr/bin/chromium`` through Playwright's ``executable_path``; no browser
download) against ``quantum run --demo`` started for real in a subprocess, once
per test session, on a simulated Tuesday 10:00 KST so that prices move and orders
fill at any wall-clock time.

Every test's page fails it on any console error or uncaught page error, and leaves
a full-page screenshot of its end state in ``test-output/e2e/<test>.png`` (the
platform's output is in ``test-output/e2e/platform.log``).

Skipped (loudly: a warning and the skip reason) only when Chromium or the built app
cannot be had; ``make test`` installs the one (as root) and builds the other.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from bench.web import CHROMIUM_ARGS, chromium_path, demo_platform, web_built
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "e2e"


def _skip(reason: str) -> None:
    warnings.warn(f"browser tests SKIPPED: {reason}", UserWarning, stacklevel=2)
    pytest.skip(f"browser tests SKIPPED: {reason}")


@pytest.fixture(scope="session")
def platform_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the demo platform (one per session)."""
    if chromium_path() is None:
        _skip(
            "no chromium at $QTP_CHROMIUM or /usr/bin/chromium "
            "(make test installs it as root: apt-get install -y chromium)"
        )
    if not web_built():
        _skip(
            "web/dist (or $QTP_WEB_DIST) is not built: make web, or cd web && npm ci && npm run build"
        )
    data_dir = tmp_path_factory.mktemp("e2e-platform")
    with demo_platform(data_dir, log_path=OUTPUT / "platform.log") as base:
        yield base


@pytest.fixture(scope="session")
def browser(platform_url: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class BrowserErrors:
    messages: list[str] = field(default_factory=list)
    reported: int = 0

    def fail_on_new(self, when: str) -> None:
        fresh = self.messages[self.reported :]
        self.reported = len(self.messages)
        if fresh:
            pytest.fail(f"the browser reported errors {when}:\n" + "\n".join(fresh), pytrace=False)


BROWSER_ERRORS = pytest.StashKey[BrowserErrors]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test whose page logged an error fails (a failure of the test itself, not of
    its teardown), unless it already failed on its own."""
    result = yield
    errors = item.stash.get(BROWSER_ERRORS, None)
    if errors is not None:
        errors.fail_on_new("during the test")
    return result


@pytest.fixture
def page(browser: Browser, platform_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh tab (own sessionStorage) on the platform. Any ``console.error`` or
    uncaught exception fails the test; nothing is ignored. Its end state is saved
    as ``test-output/e2e/<test>.png``, passed or failed."""
    context = browser.new_context(
        base_url=platform_url, viewport={"width": 1280, "height": 900}, locale="ko-KR"
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors = BrowserErrors()
    request.node.stash[BROWSER_ERRORS] = errors

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location
            errors.messages.append(
                f"console.error: {message.text} ({where.get('url')}:{where.get('lineNumber')})"
            )

    def on_page_error(error: Error) -> None:
        errors.messages.append(f"pageerror: {error.name}: {error.message}\n{error.stack}")

    tab.on("console", on_console)
    tab.on("pageerror", on_page_error)
    try:
        yield tab
    finally:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            tab.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)
        finally:
            context.close()
    errors.fail_on_new("(after the test body, before its teardown)")


@pytest.fixture(scope="session")
def api(platform_url: str) -> Iterator[httpx.Client]:
    """A plain HTTP client on the platform (checks behind the UI's back)."""
    with httpx.Client(base_url=platform_url, timeout=30) as client:
        yield client
