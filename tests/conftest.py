"""Shared fixtures: the real site built once per session, served by a real server,
and a real Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import BUILD_DATE, CHROMIUM, CHROMIUM_ARGS, Served, build, free_port, serve


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The product's own docs, built (strict) as of BUILD_DATE and served on a free port."""
    port = free_port()
    site_dir = tmp_path_factory.mktemp("site")
    build(site_dir, site_url=f"http://127.0.0.1:{port}/", date=BUILD_DATE)
    with serve(site_dir, port) as served:
        yield served


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium when installed, Playwright's bundled browser otherwise."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        options: dict[str, Any] = {"args": CHROMIUM_ARGS}
        if CHROMIUM.exists():
            options["executable_path"] = str(CHROMIUM)
        browser = playwright.chromium.launch(**options)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def seeds_dir() -> Path:
    return Path(__file__).parent / "pages" / "fixtures" / "seeds"
