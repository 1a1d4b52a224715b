"""The web console in a real headless browser: Debian's Chromium driven by Playwright, against the local
server of tests/e2e/conftest.py. Skipped, saying why, where there is no Chromium.

    def test_something(console, local_server):
        page = console.open("#/runs?nsfilter=demo")
        page.get_by_role("button", name="Show runs").click()

Every page the browser opens may only reach loopback; a request elsewhere is refused and fails the test,
and so does a script error or a Content-Security-Policy violation. With ``CONSOLE_SCREENSHOTS=<folder>``
the tests write the README's screenshots there (``make screenshots``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Waits for what the page shows: a run moves in a second or two locally; the page refreshes every 1.5-2 s.
EXPECT_TIMEOUT_MS = 15_000
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "[::1]", "localhost"}


def _browser_missing() -> str | None:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return (
            f"no Chromium at {CHROMIUM}: install it (apt-get install -y chromium) "
            "to run the console's browser tests"
        )
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Console:
    """One browser context on the console: ``open(fragment)`` gives its page at ``/console/<fragment>``."""

    base_url: str
    context: Any
    page: Any = None
    problems: list[str] = field(default_factory=list)
    screenshot_dir: Path | None = None

    def open(self, fragment: str = "") -> Any:
        if self.page is None:
            self.page = self.context.new_page()
            self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
            self.page.on("console", self._console_message)
        self.page.goto(f"{self.base_url}/console/{fragment}")
        return self.page

    def _console_message(self, message: Any) -> None:
        # An API refusal the test asks for is logged by the browser as a failed resource: that is fine.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error: {message.text}")

    def screenshot(self, name: str) -> None:
        """The README's picture of what the screen shows, when asked for (``CONSOLE_SCREENSHOTS``)."""
        if self.screenshot_dir is not None:
            self.page.screenshot(path=str(self.screenshot_dir / f"{name}.png"))


def _guard_loopback(context: Any, problems: list[str]) -> None:
    def refuse(route: Any) -> None:
        problems.append(f"a request beyond loopback: {route.request.url}")
        route.abort()

    def beyond_loopback(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") not in LOOPBACK_HOSTS

    context.route(beyond_loopback, refuse)


def new_console(browser: Any, base_url: str, viewport: dict[str, int] = DESKTOP) -> Console:
    context = browser.new_context(
        viewport=viewport,
        locale="en-GB",
        timezone_id="UTC",
        reduced_motion="reduce",
        service_workers="block",
    )
    directory = os.environ.get("CONSOLE_SCREENSHOTS")
    console = Console(base_url, context, screenshot_dir=Path(directory) if directory else None)
    if console.screenshot_dir is not None:
        console.screenshot_dir.mkdir(parents=True, exist_ok=True)
    _guard_loopback(context, console.problems)
    return console


@pytest.fixture
def open_console(browser: Any) -> Iterator[Callable[..., Console]]:
    """``open_console(base_url, viewport=DESKTOP)``: a fresh browser context on the console served at
    ``base_url``; each is checked at the end for script errors, policy violations and requests beyond
    loopback."""
    opened: list[Console] = []

    def open_one(base_url: str, viewport: dict[str, int] = DESKTOP) -> Console:
        console = new_console(browser, base_url, viewport)
        opened.append(console)
        return console

    yield open_one
    for console in opened:
        console.context.close()
    assert not [problem for console in opened for problem in console.problems]


@pytest.fixture
def console(open_console: Callable[..., Console], local_server: str) -> Console:
    """The console of the local server, at desktop size."""
    return open_console(local_server)


@pytest.fixture
def phone_console(open_console: Callable[..., Console], local_server: str) -> Console:
    """The same on a phone-sized screen."""
    return open_console(local_server, PHONE)
