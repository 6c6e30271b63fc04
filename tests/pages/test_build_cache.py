"""The build cache (legal_pages/cache.py): a rebuild from it publishes exactly what a build
without it publishes, and a corrupt, foreign or outdated entry is never published.

Each test builds the real site (docs/: the seeds' two versions, in every language) with its own
cache folder. A warm or repaired build is compared with the cold one file by file, byte for
byte, so every property the other tests check on a built site (the exact redline, the compare
page's blocks that compare.js diffs to the same HTML, the anchors) holds for it too.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from legal_pages.build import build_site
from legal_pages.cache import FINGERPRINT_FILE, BuildCache
from tests.harness import BUILD_DATE, ROOT

SITE_URL = "https://legal.example.test/"


def build(site_dir: Path, cache_dir: Path, *, cache: bool = True) -> Path:
    build_site(config_file=ROOT / "mkdocs.yml", site_dir=site_dir, build_date=BUILD_DATE, site_url=SITE_URL,
               plugin_options={"legal-pages": {"cache_dir": str(cache_dir)}}, cache=cache)
    return site_dir


def files_of(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def assert_same_site(built: Path, expected: dict[str, bytes]) -> None:
    got = files_of(built)
    assert sorted(got) == sorted(expected)
    differ = [name for name in expected if got[name] != expected[name]]
    assert not differ, f"{len(differ)} files differ from the build without a cache, first: {differ[:5]}"


def entries(cache_dir: Path, kind: str) -> list[Path]:
    return sorted((cache_dir / kind).rglob("*.json"))


def cache_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("legal-pages cache (")]


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The site as a build without any cache publishes it."""
    root = tmp_path_factory.mktemp("no-cache")
    site = build(root / "site", root / "cache", cache=False)
    assert not (root / "cache").exists()  # --no-cache neither reads nor writes the folder
    return files_of(site)


def test_a_warm_rebuild_publishes_the_same_site_and_makes_nothing_again(
    tmp_path: Path, cold: dict[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    cache_dir = tmp_path / "cache"
    with caplog.at_level(logging.INFO, logger="mkdocs.plugins.legal_pages"):
        assert_same_site(build(tmp_path / "first", cache_dir), cold)
        first = cache_lines(caplog)
        caplog.clear()
        assert_same_site(build(tmp_path / "second", cache_dir), cold)
        second = cache_lines(caplog)
    # Every language: its pages, its redline and its compare blocks, made once (a language whose
    # policy is untranslated reuses the English text's redline and blocks), then reused.
    assert len(first) == 7 and first[0].startswith("legal-pages cache (en): 0 reused, 9 made"), first
    assert len(second) == 7 and all(", 0 made, 0 rejected" in line for line in second), second
    assert entries(cache_dir, "page") and entries(cache_dir, "redline") and entries(cache_dir, "blocks")


def _content(path: Path) -> str:
    return str(json.loads(path.read_text(encoding="utf-8"))["content"])


def test_a_corrupt_or_foreign_cache_entry_is_ignored_made_again_and_never_published(
    tmp_path: Path, cold: dict[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    cache_dir = tmp_path / "cache"
    build(tmp_path / "first", cache_dir)
    redline_entry = entries(cache_dir, "redline")[0]
    pages = entries(cache_dir, "page")
    blocks = entries(cache_dir, "blocks")
    # An insider's edit that keeps the entry well-formed: "not" taken out of the redline.
    entry = json.loads(redline_entry.read_text(encoding="utf-8"))
    assert " not " in entry["content"]
    entry["content"] = entry["content"].replace(" not ", " ", 1)
    redline_entry.write_text(json.dumps(entry), encoding="utf-8")
    # One page's entry copied over another's (hash right, key wrong); a truncated write.
    shutil.copyfile(pages[0], pages[1])
    blocks[0].write_bytes(blocks[0].read_bytes()[:100])
    with caplog.at_level(logging.INFO, logger="mkdocs.plugins.legal_pages"):
        assert_same_site(build(tmp_path / "second", cache_dir), cold)
    rejected = [r.getMessage() for r in caplog.records if "ignored the cache entry" in r.getMessage()]
    assert len(rejected) == 3, rejected
    reasons = " ".join(rejected)
    assert "its content does not match its hash" in reasons
    assert "written for another key" in reasons and "not JSON of an entry" in reasons
    # Made again: the next build reads all three as good entries.
    assert " not " in _content(redline_entry) and _content(pages[1]) != _content(pages[0])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mkdocs.plugins.legal_pages"):
        assert_same_site(build(tmp_path / "third", cache_dir), cold)
    assert all(", 0 made, 0 rejected" in line for line in cache_lines(caplog)), cache_lines(caplog)


def test_the_cache_is_emptied_when_the_engine_changes_and_only_its_own_folders(tmp_path: Path) -> None:
    """Another engine (an upgrade, an edited template) wrote the folder: nothing of it is read,
    and nothing else in the folder is touched."""
    cache_dir = tmp_path / "cache"
    old_entry = cache_dir / "page" / ("ab" * 32 + ".json")
    old_entry.parent.mkdir(parents=True)
    old_entry.write_text("{}", encoding="utf-8")
    (cache_dir / FINGERPRINT_FILE).write_text("0" * 64 + "\n", encoding="ascii")
    (cache_dir / "notes").mkdir()
    (cache_dir / "notes" / "keep.txt").write_text("mine", encoding="utf-8")
    cache = BuildCache(cache_dir)
    assert not old_entry.exists() and (cache_dir / "notes" / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert (cache_dir / FINGERPRINT_FILE).read_text(encoding="ascii").strip() == cache._fingerprint
    assert cache.remember("page", ["x"], lambda: "made") == "made"
    assert BuildCache(cache_dir).remember("page", ["x"], lambda: "again") == "made"  # same engine: kept
    assert BuildCache(cache_dir, read=False).remember("page", ["x"], lambda: "again") == "again"


def test_a_cache_that_cannot_be_written_slows_the_build_but_does_not_stop_it(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache = BuildCache(cache_dir)
    (cache_dir / "page").write_text("a file where the kind's folder goes", encoding="utf-8")
    assert cache.remember("page", ["x"], lambda: "made") == "made"
    assert cache.remember("page", ["x"], lambda: "made again") == "made again"
