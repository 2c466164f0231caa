"""Fixtures of the browser tests: a live server on loopback and Debian's Chromium.

The live server is the real app on a database of its own (an SQLite file in
a temporary folder, migrated and loaded through the real importers, then
committed), served by werkzeug in a thread (:mod:`tests.browser.live`).
Playwright drives the Chromium that Debian packages (``.ci/run`` installs
it); Playwright's own browser downloads are never used. Every test runs
once on a phone-sized viewport and once on a desktop one, each in a fresh
browser context.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.browser.live import CLIENT_LIMIT, LiveServer, make_app, make_database, serving
from tests.browser.pages import Site

CHROMIUM = Path("/usr/bin/chromium")
# The machine may have no network: without the background-networking flags
# Chromium keeps trying to reach Google's services (NOTES.md).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots are kept: $XUEJI_TEST_ARTIFACTS, else test-artifacts/screenshots."""
    folder = Path(os.environ.get("XUEJI_TEST_ARTIFACTS") or REPO / "test-artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="package")
def live_database(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("browser")
    return make_database(folder), folder


@pytest.fixture(scope="package")
def live_server(live_database: tuple[str, Path]) -> Iterator[LiveServer]:
    with serving(make_app(*live_database)) as server:
        yield server


@pytest.fixture
def limited_server(live_database: tuple[str, Path]) -> Iterator[LiveServer]:
    """The same site allowing one client CLIENT_LIMIT lookups a minute.

    A new app per test: creating one gives the process-wide limiter a fresh
    in-memory store, so each viewport starts with the whole allowance.
    """
    with serving(make_app(*live_database, lookup_client_limits=f"{CLIENT_LIMIT} per minute")) as server:
        yield server


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)"
        # On CI a missing browser is a broken machine, not a reason to skip.
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def open_site(browser: Browser, viewport: str, artifacts: Path) -> Iterator[Callable[[LiveServer], Site]]:
    """Open a tab on a live server in a fresh context (no cookies) of the test's viewport."""
    contexts: list[BrowserContext] = []

    def open_(server: LiveServer) -> Site:
        context = browser.new_context(**VIEWPORTS[viewport], locale="zh-CN")
        contexts.append(context)
        return Site(context.new_page(), server.url, viewport, artifacts)

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def site(open_site: Callable[[LiveServer], Site], live_server: LiveServer) -> Site:
    return open_site(live_server)
