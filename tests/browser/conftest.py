"""Browser tests: Playwright (sync API) driving Debian's Chromium against the running demo.

They run in their own pytest invocation (`make test` does this): sync Playwright cannot
share a process with the asyncio tests.  Every page visited can be saved as a screenshot
under test-output/screenshots for a reviewer to look at."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from .system import DemoSystem, start_demo

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    found = os.environ.get("TENANTGATE_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail("Debian's chromium is required in CI (apt-get install chromium)")
    pytest.skip("CHROMIUM NOT INSTALLED — browser tests skipped (apt-get install chromium)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSystem]:
    system = start_demo(tmp_path_factory.mktemp("demo"))
    try:
        yield system
    finally:
        system.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def snap(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """snap(page, "step-name"): save a full-page screenshot for reviewers."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page: Page, step: str) -> Path:
        path = SCREENSHOTS / f"{test}--{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
