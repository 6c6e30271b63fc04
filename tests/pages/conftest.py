"""Fixture policies built as of chosen dates, each build once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import build

FIXTURE_DOCS = Path(__file__).parent / "fixtures" / "docs"
FIXTURE_URL = "https://legal.example.test/"

BuildAsOf = Callable[..., Path]


@pytest.fixture(scope="session")
def build_as_of(tmp_path_factory: pytest.TempPathFactory) -> BuildAsOf:
    """Build the fixture policies as of a date (strict MkDocs build); cached per date."""
    built: dict[tuple[str, bool], Path] = {}

    def build_fixture(date: str, preview: bool = False) -> Path:
        key = (date, preview)
        if key not in built:
            site_dir = tmp_path_factory.mktemp(f"fixture-{date}{'-preview' if preview else ''}")
            built[key] = build(site_dir, site_url=FIXTURE_URL, date=date, docs_dir=FIXTURE_DOCS,
                               preview=preview)
        return built[key]

    return build_fixture
