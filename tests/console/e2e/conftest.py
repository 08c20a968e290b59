"""End-to-end console tests: Debian's Chromium driven by Playwright against Zenith's real
ASGI server (uvicorn) on the test PostgreSQL database and Redis, a real Celery worker
where transfers move. Any request leaving the machine fails the test. Screenshots go to
``var/test-artefacts/console-e2e/`` (or ``$ZENITH_TEST_ARTEFACTS``); the path is printed."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.support.server import ROOT, ZenithServer
from tests.support.worker import database_url

CHROMIUM = os.environ.get("ZENITH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
ARTEFACTS = Path(os.environ.get("ZENITH_TEST_ARTEFACTS", ROOT / "var" / "test-artefacts")) / (
    "console-e2e"
)
PASSWORD = "correct-horse-battery"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ARTEFACTS.exists() and any(ARTEFACTS.iterdir()):
        terminalreporter.write_line(f"console e2e screenshots: {ARTEFACTS}")


@pytest.fixture(scope="module")
def playwright_session() -> Iterator[Playwright]:
    # Playwright's sync API keeps an event loop in this thread, which Django takes for an
    # async context: allowed here, for this module's tests only (the server and the
    # worker are started without it, so they keep Django's check).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            yield p
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def server(tmp_path: Path, transactional_db: Any) -> Iterator[ZenithServer]:
    """A fresh server per test: its per-process caches (node ids, newest values
    published) start empty, as the test's rows are new."""
    env = {
        "DATABASE_URL": database_url(),
        "ZENITH_VAR_DIR": str(tmp_path / "var"),
        "ZENITH_TRANSFER_DIR": str(tmp_path / "transfers"),
        "ZENITH_SIM_DIR": str(tmp_path / "sim"),
        "DJANGO_ALLOW_ASYNC_UNSAFE": "",
    }
    with ZenithServer(env, tmp_path / "server.log") as running:
        yield running


class Browsing:
    """Browser contexts (one per person) that refuse and record any non-local request."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.browser = browser
        self.base = base
        self.contexts: list[BrowserContext] = []
        self.outside: list[str] = []

    def _guard(self, route: Any) -> None:
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def page(self) -> Page:
        context = self.browser.new_context(viewport={"width": 1500, "height": 950})
        context.route("**/*", self._guard)
        self.contexts.append(context)
        page = context.new_page()
        page.on(
            "websocket",
            lambda ws: (
                None
                if (urlparse(ws.url).hostname or "") in LOCAL_HOSTS
                else self.outside.append(ws.url)
            ),
        )
        page.on("pageerror", lambda exc: self.outside.append(f"page error: {exc}"))
        return page

    def login(self, username: str, path: str = "/") -> Page:
        page = self.page()
        page.goto(self.base + path)
        assert "/accounts/login/" in page.url
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browsing(browser: Browser, server: ZenithServer) -> Iterator[Browsing]:
    session = Browsing(browser, server.url)
    yield session
    session.close()
    assert session.outside == [], f"requests left the machine (or pages failed): {session.outside}"


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    def take(page: Page, name: str) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    return take


def wait_live(page: Page, view: str | None = None) -> None:
    page.wait_for_selector("#live-state[data-state=live]", timeout=10_000)
    if view:
        page.wait_for_function(
            "v => (document.body.dataset.synced || '').split(' ').includes(v)",
            arg=view,
            timeout=10_000,
        )
