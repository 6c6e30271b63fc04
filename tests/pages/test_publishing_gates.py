"""The build is a gate: what `check` refuses, `build` and the nightly `rebuild.sh` refuse too.

Each test works in a real git repository made from the product (the seeds committed on the
day they really entered it, 2026-11-22), as legal would: write a version, commit it on a given
day, then run `check` and `build` the way CI and the server do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import ROOT, cli

SITE_URL = "https://legal.example.test/"
SEEDS_DAY = "2026-11-22"  # when the seeds entered the product's repository
CURRENT = ROOT / "docs" / "privacy" / "versions" / "2026-11-22.md"
APPROVED_ACK = (
    "acknowledged:\n  - rule: section-numbering\n    match: section 6\n"
    "    reason: Carried from the current text, which skips section 6.\n"
    "    approved_by: Ana Legal\n    approved_on: 2026-11-22\n"
)


def git(repo: Path, *args: str, day: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Legal", "GIT_AUTHOR_EMAIL": "legal@example.test",
           "GIT_COMMITTER_NAME": "Legal", "GIT_COMMITTER_EMAIL": "legal@example.test"}
    if day is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{day}T12:00:00+00:00"
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True,
                          check=True, timeout=60)
    return done.stdout


def commit(repo: Path, day: str, message: str = "legal: a change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, day=day)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The product's site sources in a fresh git repository, seeds committed on their real day."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("docs", "overrides"):
        shutil.copytree(ROOT / name, repo / name)
    for name in ("mkdocs.yml", "policies.lock"):
        shutil.copy(ROOT / name, repo / name)
    (repo / "deploy").mkdir()
    shutil.copy(ROOT / "deploy" / "rebuild.sh", repo / "deploy" / "rebuild.sh")
    git(repo, "init", "-q", "-b", "main")
    commit(repo, SEEDS_DAY, "the seeds")
    return repo


def current_body() -> str:
    return CURRENT.read_text(encoding="utf-8").split("\n---\n", 1)[1]


def add_version(repo: Path, effective: str, published: str, *, material: bool = True,
                summary: str = "Section 14 gives a postal address.", ack: str = APPROVED_ACK,
                body: str | None = None) -> Path:
    path = repo / "docs" / "privacy" / "versions" / f"{effective}.md"
    text = body if body is not None else current_body() + "\nWrite to us at 1 Example Street.\n"
    path.write_text(
        f"---\ntitle: Privacy Policy\neffective: {effective}\npublished: {published}\n"
        f"material: {'true' if material else 'false'}\nsummary:\n  - {summary}\n{ack}---\n{text}",
        encoding="utf-8")
    return path


def lock(repo: Path, day: str) -> None:
    cli("lock", "--today", day, cwd=repo)


def errors_of(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.search(r":\d+: error \[", line)]


def check_and_build(repo: Path, day: str) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    checked = cli("check", "--today", day, check=False, cwd=repo)
    built = cli("build", "--date", day, "--site-url", SITE_URL, "--site-dir", str(repo / "site"),
                check=False, cwd=repo)
    return checked, built


def assert_both_refuse(repo: Path, day: str, expected: str) -> list[str]:
    """`check` and `build` fail with the same file:line errors, one of them ``expected``."""
    checked, built = check_and_build(repo, day)
    assert checked.returncode == 1, checked.stdout
    assert built.returncode == 1, built.stderr
    errors = errors_of(checked.stdout)
    assert any(expected in line for line in errors), "\n".join(errors)
    assert errors_of(built.stderr) == errors  # the same messages, so legal reads one language
    assert "the check refuses to publish this" in built.stderr
    assert not (repo / "site" / "index.html").exists()  # nothing was built
    return errors


def test_the_untouched_product_and_a_good_new_version_pass_both(repo: Path) -> None:
    checked, built = check_and_build(repo, "2026-12-02")
    assert (checked.returncode, built.returncode) == (0, 0), checked.stdout + built.stderr
    add_version(repo, "2027-01-10", "2026-12-02")
    lock(repo, "2026-12-02")
    commit(repo, "2026-12-02")
    checked, built = check_and_build(repo, "2026-12-02")
    assert (checked.returncode, built.returncode) == (0, 0), checked.stdout + built.stderr
    assert "approved by Ana Legal on 2026-11-22" in checked.stdout  # the check lists approvals
    assert (repo / "site" / "privacy" / "2027-01-10" / "index.html").is_file()


def test_an_edited_version_in_effect_is_refused(repo: Path) -> None:
    path = repo / "docs" / "privacy" / "versions" / "2026-11-22.md"
    path.write_text(path.read_text().replace("ImaRouter collects", "ImaRouter gathers", 1))
    commit(repo, "2026-12-02")
    assert_both_refuse(repo, "2026-12-02",
                       "docs/privacy/versions/2026-11-22.md:1: error [immutable] published versions are "
                       "immutable: this version took effect on November 22, 2026 and its text has changed")


def test_a_version_missing_from_the_lock_is_refused(repo: Path) -> None:
    add_version(repo, "2027-01-10", "2026-12-02")
    commit(repo, "2026-12-02")
    assert_both_refuse(repo, "2026-12-02",
                       "docs/privacy/versions/2027-01-10.md:1: error [lock] this version is not recorded in "
                       "policies.lock")


def test_a_material_version_with_17_days_notice_is_refused(repo: Path) -> None:
    add_version(repo, "2026-12-19", "2026-12-02")
    lock(repo, "2026-12-02")
    commit(repo, "2026-12-02")
    assert_both_refuse(repo, "2026-12-02",
                       "docs/privacy/versions/2026-12-19.md:3: error [notice-period] a material change needs "
                       "at least 30 days' notice: published 2026-12-02, effective 2026-12-19 (17 days)")


def test_a_backdated_published_date_is_refused_naming_both_dates(repo: Path) -> None:
    # Typed 'published: 2026-11-25' (46 days of notice); git saw the file first on 2026-12-05.
    add_version(repo, "2027-01-10", "2026-11-25")
    lock(repo, "2026-12-05")
    commit(repo, "2026-12-05")
    errors = assert_both_refuse(repo, "2026-12-05",
                                "docs/privacy/versions/2027-01-10.md:4: error [published-date] 'published: "
                                "2026-11-25' is before 2026-12-05 (commit ")
    assert "Set 'published' to 2026-12-05 or later" in errors[0]


def test_an_uncommitted_version_enters_the_repository_today(repo: Path) -> None:
    import datetime as dt

    today = dt.date.today()
    add_version(repo, (today + dt.timedelta(days=60)).isoformat(), (today - dt.timedelta(days=3)).isoformat())
    lock(repo, today.isoformat())
    checked = cli("check", "--today", today.isoformat(), check=False, cwd=repo)
    assert checked.returncode == 1
    assert f"is before {today} (not committed yet: today)" in checked.stdout


def test_an_acknowledgement_without_its_approver_is_refused(repo: Path) -> None:
    unapproved = APPROVED_ACK.replace("    approved_by: Ana Legal\n    approved_on: 2026-11-22\n", "")
    add_version(repo, "2027-01-10", "2026-12-02", ack=unapproved)
    lock(repo, "2026-12-02")
    commit(repo, "2026-12-02")
    assert_both_refuse(repo, "2026-12-02",
                       "docs/privacy/versions/2027-01-10.md:8: error [approval] the acknowledgement of "
                       "[section-numbering] matching 'section 6' names no approver")


def test_an_unedited_new_version_is_refused(repo: Path) -> None:
    cli("new-version", "privacy", "--effective", "2027-01-10", "--today", "2026-12-02", cwd=repo)
    commit(repo, "2026-12-02")
    errors = assert_both_refuse(repo, "2026-12-02",
                                "docs/privacy/versions/2027-01-10.md:14: error [unchanged] the text is the same "
                                "as the version effective 2026-11-22")
    assert any("[unchanged] the summary is still the text 'new-version' wrote" in e for e in errors)


def test_a_material_version_that_only_rewords_is_warned_not_refused(repo: Path) -> None:
    body = current_body().replace("ImaRouter collects, uses, discloses", "ImaRouter collects, uses, shares", 1)
    add_version(repo, "2027-01-10", "2026-12-02", body=body, summary="Clearer wording in the opening.")
    lock(repo, "2026-12-02")
    commit(repo, "2026-12-02")
    checked, built = check_and_build(repo, "2026-12-02")
    assert (checked.returncode, built.returncode) == (0, 0), checked.stdout
    assert ("2027-01-10.md:5: warning [material-wording] 'material: true', but only wording changed "
            "(the same 37 blocks and headings; 1 block reworded): every visitor will be asked to consent again"
            ) in checked.stdout


def test_without_git_history_the_check_says_what_it_could_not_check(repo: Path, tmp_path: Path) -> None:
    tarball = tmp_path / "tarball"
    shutil.copytree(repo, tarball, ignore=shutil.ignore_patterns(".git"))
    checked = cli("check", "--today", "2026-12-02", cwd=tarball)
    assert "note: 'published' dates were not checked against the repository:" in checked.stdout
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True)
    checked = cli("check", "--today", "2026-12-02", cwd=shallow)
    assert "the repository is a shallow clone (its history is cut)" in checked.stdout


def test_rebuild_keeps_the_live_site_when_the_new_build_is_refused_and_says_why(repo: Path) -> None:
    target = repo.parent / "srv"
    env = {**os.environ, "LEGAL_SITE_URL": SITE_URL, "LEGAL_BUILD_DATE": "2026-12-02",
           "IMAROUTER_LEGAL": str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "imarouter-legal"),
           "LEGAL_CONSENT_LOG_DIR": str(repo / "no-log")}

    def rebuild() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(repo / "deploy" / "rebuild.sh"), str(target)], env=env,
                              capture_output=True, text=True, timeout=300)

    first = rebuild()
    assert first.returncode == 0, first.stderr
    live = os.readlink(target / "site")
    page = (target / "site" / "privacy" / "index.html").read_text()

    add_version(repo, "2026-12-19", "2026-12-02")  # 17 days of notice for a material change
    lock(repo, "2026-12-02")
    commit(repo, "2026-12-02")
    refused = rebuild()
    assert refused.returncode == 1
    assert os.readlink(target / "site") == live  # the last good build is still served
    assert (target / "site" / "privacy" / "index.html").read_text() == page
    assert not (target / "site" / "privacy" / "2026-12-19").exists()
    reason = "2026-12-19.md:3: error [notice-period] a material change needs at least 30 days' notice"
    assert reason in refused.stderr
    report = (target / "REBUILD-REFUSED.txt").read_text()
    assert f"still serves {live}" in report and reason in report
    assert sorted(p.name for p in (target / "builds").iterdir()) == [Path(live).name]  # no half build left

    (repo / "docs" / "privacy" / "versions" / "2026-12-19.md").unlink()
    lock(repo, "2026-12-02")
    commit(repo, "2026-12-02", "legal: withdraw the short-notice version")
    fixed = rebuild()
    assert fixed.returncode == 0, fixed.stderr
    assert os.readlink(target / "site") != live
    assert not (target / "REBUILD-REFUSED.txt").exists()


def test_a_repository_squashed_into_one_commit_still_checks_and_builds(tmp_path: Path) -> None:
    # Its one commit is dated after the rules came in; the versions it starts with are older than
    # the repository, which git cannot date, so they are not held to 'published-date'.
    repo = tmp_path / "squashed"
    repo.mkdir()
    for name in ("docs", "overrides"):
        shutil.copytree(ROOT / name, repo / name)
    for name in ("mkdocs.yml", "policies.lock"):
        shutil.copy(ROOT / name, repo / name)
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "2026-12-10", "everything, squashed")
    checked, built = check_and_build(repo, "2026-12-10")
    assert (checked.returncode, built.returncode) == (0, 0), checked.stdout + built.stderr
    assert ("note: 'published' of 2 versions of the repository's first commit not checked: git cannot date a "
            "text older than the repository (2025-03-31.md, 2026-11-22.md)") in checked.stdout
    # A version added after the first commit is held to it.
    shutil.rmtree(repo / "site")
    add_version(repo, "2027-02-01", "2026-12-01")
    lock(repo, "2026-12-12")
    commit(repo, "2026-12-12")
    assert_both_refuse(repo, "2026-12-12", "'published: 2026-12-01' is before 2026-12-12 (commit ")
