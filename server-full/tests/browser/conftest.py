"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, a
real SMTP server and a folder for screenshots (slapd comes from the
``synccore.users.slapd_fixtures`` plugin).

Playwright drives the system's Chromium (``/usr/bin/chromium``, or
``SYNC_TEST_CHROMIUM``) and never downloads a browser of its own. Without
Chromium or Playwright the tests skip with the reason, unless
``SYNC_TEST_REQUIRE_ALL_ENGINES=1`` (CI), which makes them fail instead.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from synccore.testing import require_all_engines
from syncreg.testing import SMTPCapture

CHROMIUM_ENV = "SYNC_TEST_CHROMIUM"
# The machine may have no network: keep Chromium from calling home, updating
# components or syncing, and from needing a GPU or a sandbox (tests run as root).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps", "--disable-extensions"]


def _unavailable(reason: str) -> None:
    if require_all_engines():
        pytest.fail(f"browser tests cannot run: {reason}")
    pytest.skip(f"browser tests need {reason}")


def find_chromium() -> str | None:
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """One headless Chromium for the session; each test opens its own context."""
    executable = find_chromium()
    if executable is None:
        _unavailable("Chromium (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright (requirements-dev.txt)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def screenshots(request) -> Path:
    """``test-artifacts/<test name>/`` under the checkout (git-ignored), emptied first."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "_")
    folder = request.config.rootpath / "test-artifacts" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def smtp_server() -> Iterator[SMTPCapture]:
    with SMTPCapture() as server:
        yield server
