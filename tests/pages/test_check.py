"""The legal team's linter: every rule with a source that breaks it and the exact message."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from lxml import html

from legal_pages.lint import Report, check
from legal_pages.lock import update_lock
from tests.harness import ROOT, cli

TODAY = dt.date(2026, 6, 15)
GOOD_BODY = "## 1. Scope\n\nWe process data.\n\n## 2. Contact\n\nWrite to us.\n"


def write(docs: Path, name: str, front: str | None = None, body: str = GOOD_BODY, slug: str = "demo") -> Path:
    """A version file; ``front`` replaces the default (valid) front matter."""
    folder = docs / slug / "versions"
    folder.mkdir(parents=True, exist_ok=True)
    if front is None:
        front = (f"title: Demo\neffective: {name}\npublished: {name}\nmaterial: false\n"
                 "summary:\n  - Something changed.\n")
    path = folder / f"{name}.md"
    path.write_text(f"---\n{front}---\n\n{body}", encoding="utf-8")
    return path


def run(docs: Path, today: dt.date = TODAY, notice_days: int = 30, lock: bool = True) -> Report:
    lock_path = docs.parent / "policies.lock"
    if lock:
        update_lock(docs, lock_path, today)
    return check(docs, lock_path=lock_path, today=today, notice_days=notice_days)


def messages(report: Report, rule: str | None = None) -> list[tuple[str, int, str]]:
    return [(f.path.name, f.line, f.message) for f in report.findings if rule in (None, f.rule)]


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "index.md").write_text("# Home\n")
    return d


def test_a_valid_version_passes(docs: Path) -> None:
    write(docs, "2026-01-01")
    report = run(docs)
    assert report.findings == []
    assert report.summary() == "Checked 1 version of 1 policy: 0 errors, 0 acknowledged, 0 warnings."


def test_a_missing_required_field_is_an_error(docs: Path) -> None:
    write(docs, "2026-01-01", "title: Demo\neffective: 2026-01-01\npublished: 2026-01-01\nsummary: [x]\n")
    assert messages(run(docs)) == [
        ("2026-01-01.md", 1, "the required field 'material' is missing (true or false)")
    ]


def test_a_field_of_the_wrong_type_is_an_error(docs: Path) -> None:
    write(docs, "2026-01-01",
          "title: Demo\neffective: 2026-01-01\npublished: 2026-01-01\nmaterial: yes please\nsummary: [x]\n")
    assert messages(run(docs)) == [
        ("2026-01-01.md", 5, "'material' must be true or false, not 'yes please'")
    ]


def test_an_unknown_field_is_an_error(docs: Path) -> None:
    write(docs, "2026-01-01", "title: Demo\neffective: 2026-01-01\npublished: 2026-01-01\n"
                              "material: false\nsummary: [x]\nefective: 2026-01-01\n")
    assert messages(run(docs), "front-matter") == [(
        "2026-01-01.md", 7,
        "unknown field 'efective' (known fields: title, effective, published, material, summary, "
        "acknowledged, draft, note)",
    )]


def test_the_file_name_must_be_the_effective_date(docs: Path) -> None:
    write(docs, "2026-01-02", "title: Demo\neffective: 2026-01-01\npublished: 2026-01-01\n"
                              "material: false\nsummary: [x]\n")
    assert messages(run(docs), "front-matter") == [
        ("2026-01-02.md", 3, "the file name '2026-01-02.md' does not match 'effective: 2026-01-01'")
    ]


def test_an_impossible_date_is_an_error(docs: Path) -> None:
    write(docs, "2026-02-28", "title: Demo\neffective: 2026-02-30\npublished: 2026-01-01\n"
                              "material: false\nsummary: [x]\n")
    assert messages(run(docs), "front-matter") == [
        ("2026-02-28.md", 3, "'2026-02-30' is not a valid date (day is out of range for month)")
    ]


def test_published_after_effective_is_an_error(docs: Path) -> None:
    write(docs, "2026-01-01", "title: Demo\neffective: 2026-01-01\npublished: 2026-02-01\n"
                              "material: false\nsummary: [x]\n")
    assert messages(run(docs)) == [
        ("2026-01-01.md", 4, "'published: 2026-02-01' is after 'effective: 2026-01-01'")
    ]


def test_a_material_change_needs_the_notice_period(docs: Path) -> None:
    write(docs, "2026-07-01", "title: Demo\neffective: 2026-07-01\npublished: 2026-06-17\n"
                              "material: true\nsummary: [x]\n")
    assert messages(run(docs)) == [(
        "2026-07-01.md", 3,
        "a material change needs at least 30 days' notice: published 2026-06-17, effective 2026-07-01 "
        "(14 days)",
    )]
    assert messages(run(docs, notice_days=14)) == []


def test_editing_a_version_in_effect_breaks_immutability(docs: Path) -> None:
    path = write(docs, "2026-01-01")
    run(docs)
    path.write_text(path.read_text().replace("We process data.", "We process your data."))
    report = run(docs, lock=False)
    assert messages(report) == [(
        "2026-01-01.md", 1,
        "published versions are immutable: this version took effect on January 1, 2026 and its text has "
        "changed since it was recorded in policies.lock. Restore it, and publish a correction as a new "
        "version (imarouter-legal new-version demo --effective YYYY-MM-DD)",
    )]
    recorded, refused = update_lock(docs, docs.parent / "policies.lock", TODAY)
    assert (recorded, refused) == ([], ["demo/versions/2026-01-01.md"])


def test_deleting_a_version_in_effect_breaks_immutability(docs: Path) -> None:
    write(docs, "2026-01-01")
    old = write(docs, "2026-02-01")
    run(docs)
    old.unlink()
    assert messages(run(docs, lock=False)) == [(
        "2026-02-01.md", 1,
        "this version took effect on February 1, 2026 in policies.lock but its file is gone: "
        "published versions may not be deleted",
    )]


def test_an_upcoming_version_may_change_but_must_be_locked_again(docs: Path) -> None:
    path = write(docs, "2026-09-01")
    assert messages(run(docs, lock=False)) == [(
        "2026-09-01.md", 1,
        "this version is not recorded in policies.lock: run 'imarouter-legal lock' and commit the lock file "
        "with it",
    )]
    run(docs)
    path.write_text(path.read_text().replace("We process data.", "We process less data."))
    assert [m for _, _, m in messages(run(docs, lock=False))] == [
        "this version has changed since it was recorded in policies.lock: run 'imarouter-legal lock' and "
        "commit the lock file with it"
    ]
    assert messages(run(docs)) == []


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("## 1. A\n\nx\n\n## 3. C\n\nx\n", 14, "section 3 follows section 1: section 2 is missing"),
        ("## 1. A\n\nx\n\n## 4. D\n\nx\n", 14, "section 4 follows section 1: sections 2 to 3 are missing"),
        ("## 1. A\n\nx\n\n## 1. A again\n\nx\n", 14, "section 1 appears twice"),
        ("## 1. A\n\nx\n\n## 2. B\n\nx\n\n## 1. C\n\nx\n", 18, "section 1 comes after section 2"),
        ("## 2. B\n\nx\n", 10, "numbering starts at section 2 instead of 1"),
    ],
)
def test_section_numbers_that_skip_repeat_or_go_back_are_errors(
    docs: Path, body: str, line: int, message: str
) -> None:
    write(docs, "2026-01-01", body=body)
    assert messages(run(docs), "section-numbering") == [("2026-01-01.md", line, message)]


def test_subsections_are_numbered_under_their_own_section(docs: Path) -> None:
    write(docs, "2026-01-01", body="## 1. A\n\n### 1. a\n\nx\n\n### 2. b\n\nx\n\n## 2. B\n\n### 1. a\n\nx\n")
    assert messages(run(docs)) == []


def test_an_empty_section_is_an_error(docs: Path) -> None:
    write(docs, "2026-01-01", body="## 1. Scope\n\nText.\n\n## 2. Contact\n\n## 3. End\n\nText.\n")
    assert messages(run(docs)) == [("2026-01-01.md", 14, "section '2. Contact' is empty")]


def test_headings_out_of_order_are_errors(docs: Path) -> None:
    write(docs, "2026-01-01", body="# Title\n\nText.\n\n## 1. Scope\n\n#### Details\n\nText.\n")
    assert messages(run(docs), "heading-order") == [
        ("2026-01-01.md", 10,
         "'Title' is a level-1 heading: the title comes from 'title', sections start at '##'"),
        ("2026-01-01.md", 16, "'Details' jumps from heading level 2 to 4"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Write to [email\u00a0protected].",
         "'[email\u00a0protected]' is a scraping artefact where an e-mail address should be"),
        ("We keep data for TODO days.", "'TODO' is a placeholder"),
        ("Lorem ipsum dolor sit amet.", "'Lorem ipsum' is placeholder text"),
        ("Contact {{ company_email }} today.", "'{{ company_email }}' is an unreplaced template variable"),
        ("Operated by [COMPANY NAME].", "'[COMPANY NAME]' is an unfilled placeholder"),
    ],
)
def test_placeholders_and_scraping_artefacts_are_errors(docs: Path, text: str, message: str) -> None:
    write(docs, "2026-01-01", body=f"## 1. Scope\n\n{text}\n")
    assert messages(run(docs)) == [("2026-01-01.md", 12, message)]


def test_links_to_missing_pages_and_relative_links_are_errors(docs: Path) -> None:
    write(docs, "2026-01-01", slug="terms")
    write(docs, "2026-01-01", body=(
        "## 1. Links\n\nSee [terms](/terms/), [history](/demo/history/), [web](https://example.com/),"
        " [top](#1-links) and [feed](/feed.xml).\n\nSee [gone](/nowhere/) and [rel](../terms/index.md).\n"
    ))
    report = run(docs)
    assert messages(report, "broken-link") == [
        ("2026-01-01.md", 14, "the link '/nowhere/' points to no page of the site"),
        ("2026-01-01.md", 14, "the link '../terms/index.md' is relative: write it from the site root, like "
                              "/privacy/ (a relative link breaks between the current and the archived copies)"),
    ]


def test_an_acknowledged_finding_is_listed_but_does_not_fail(docs: Path) -> None:
    write(docs, "2026-01-01", "title: Demo\neffective: 2026-01-01\npublished: 2026-01-01\nmaterial: false\n"
          "summary: [x]\nacknowledged:\n  - rule: placeholder\n    match: TODO\n    reason: Verbatim.\n"
          "    approved_by: Ana Legal\n    approved_on: 2026-01-01\n"
          "  - rule: empty-section\n    reason: Nothing is empty any more.\n"
          "    approved_by: Ana Legal\n    approved_on: 2026-01-01\n",
          body="## 1. Scope\n\nWe keep data for TODO days.\n")
    report = run(docs)
    assert [(f.severity, f.rule) for f in report.findings] == [
        ("acknowledged", "placeholder"), ("warning", "empty-section")
    ]
    assert report.errors == []
    assert report.findings[0].format().endswith(
        "2026-01-01.md:21: acknowledged [placeholder] 'TODO' is a placeholder "
        "(acknowledged, approved by Ana Legal on 2026-01-01: Verbatim.)"
    )
    assert report.findings[1].message == "the acknowledged finding [empty-section] no longer occurs"


def test_the_seed_versions_pass_with_their_known_defects_acknowledged() -> None:
    report = check(ROOT / "docs", lock_path=ROOT / "policies.lock", today=dt.date(2026, 11, 22))
    assert report.errors == []
    acknowledged = {(f.path.name, f.line, f.rule) for f in report.findings if f.severity == "acknowledged"}
    assert {
        ("2025-03-31.md", 67, "placeholder"),
        ("2025-03-31.md", 75, "placeholder"),
        ("2026-11-22.md", 68, "section-numbering"),
    } <= acknowledged
    assert [f.message for f in report.findings if f.rule == "section-numbering"] == [
        "section 7 follows section 5: section 6 is missing"
    ]


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The real docs and lock file, copied, so a test may change them."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "policies.lock", tmp_path / "policies.lock")
    return tmp_path


def test_editing_the_2025_03_31_text_fails_the_check_naming_the_file(project_copy: Path) -> None:
    path = project_copy / "docs" / "privacy" / "versions" / "2025-03-31.md"
    path.write_text(path.read_text().replace("values your privacy", "cares about your privacy"))
    result = cli("check", "--today", "2026-11-22", check=False, cwd=project_copy)
    assert result.returncode == 1
    assert ("docs/privacy/versions/2025-03-31.md:1: error [immutable] published versions are immutable: "
            "this version took effect on March 31, 2025") in result.stdout
    assert result.stdout.splitlines()[-1] == (  # the warnings: acknowledgements from before approvals
        "Checked 2 versions of 1 policy: 1 error, 4 acknowledged, 3 warnings."
    )


def test_new_version_is_refused_until_edited_then_checks_and_builds_as_upcoming(project_copy: Path) -> None:
    created = cli("new-version", "privacy", "--effective", "2026-12-31", "--today", "2026-11-22",
                  cwd=project_copy)
    path = project_copy / "docs" / "privacy" / "versions" / "2026-12-31.md"
    assert "created docs/privacy/versions/2026-12-31.md" in created.stdout
    text = path.read_text()
    assert text.startswith("---\ntitle: Privacy Policy\neffective: 2026-12-31\npublished: 2026-11-22\n"
                           "material: true\n")
    assert "## 14. Contact Us" in text
    unedited = cli("check", "--today", "2026-11-22", check=False, cwd=project_copy)
    assert unedited.returncode == 1
    errors = [line for line in unedited.stdout.splitlines() if ": error [" in line]
    assert errors == [
        "docs/privacy/versions/2026-12-31.md:7: error [unchanged] the summary is still the text 'new-version' "
        "wrote ('New version of the Privacy Policy, effective December 31, 2026.'): say in plain words what "
        "changed for the reader",
        "docs/privacy/versions/2026-12-31.md:8: error [approval] the acknowledgement of [section-numbering] "
        "matching 'section 6' names no approver: add 'approved_by: NAME' and 'approved_on: YYYY-MM-DD' (who in "
        "legal accepted the finding, and when)",
        "docs/privacy/versions/2026-12-31.md:14: error [unchanged] the text is the same as the version effective "
        "2026-11-22: a new version must change the text (delete this file if nothing changes)",
    ]
    # Legal edits what new-version left to edit: summary, text, approval of the carried finding.
    text = text.replace("- New version of the Privacy Policy, effective December 31, 2026.",
                        "- Section 13 now names the date of the last review.")
    text = text.replace("    would change the text legal approved.'\n",
                        "    would change the text legal approved.'\n"
                        "  approved_by: Ana Legal\n  approved_on: 2026-11-22\n")
    text += "\nThis policy was last reviewed in November 2026.\n"
    path.write_text(text)
    cli("lock", "--today", "2026-11-22", cwd=project_copy)
    result = cli("check", "--today", "2026-11-22", "--notice-days", "30", check=False, cwd=project_copy)
    assert result.returncode == 0, result.stdout
    assert ("2026-12-31.md:59: acknowledged [section-numbering] section 7 follows section 5: section 6 is "
            "missing (acknowledged, approved by Ana Legal on 2026-11-22:") in result.stdout
    site = project_copy / "site"
    cli("build", "--docs-dir", str(project_copy / "docs"), "--site-dir", str(site), "--date", "2026-11-30",
        "--site-url", "https://legal.example.test/")
    upcoming = html.parse(str(site / "privacy" / "2026-12-31" / "index.html")).getroot()
    notice = upcoming.cssselect(".legal-notice--upcoming")[0].text_content()
    assert "This version is not yet in effect" in notice
    current = html.parse(str(site / "privacy" / "index.html")).getroot()
    assert current.cssselect(".legal-version-meta time")[0].get("datetime") == "2026-11-22"
    assert "December 31, 2026" in current.cssselect(".legal-notice--coming")[0].text_content()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["terms", "--effective", "2026-12-31"], "there is no policy 'terms' under docs (policies: privacy)"),
        (["privacy", "--effective", "2026-11-22"],
         "the effective date 2026-11-22 must be after today (2026-11-22): a version in effect can no longer be "
         "edited"),
        (["privacy", "--effective", "2026-12-32"],
         "--effective must be a date written YYYY-MM-DD, not '2026-12-32'"),
    ],
)
def test_new_version_refuses_bad_input_with_a_clear_message(
    project_copy: Path, args: list[str], message: str
) -> None:
    result = cli("new-version", *args, "--today", "2026-11-22", check=False, cwd=project_copy)
    assert result.returncode != 0
    assert message in result.stderr
    assert sorted(p.name for p in (project_copy / "docs" / "privacy" / "versions").iterdir()) == [
        "2025-03-31.md", "2026-11-22.md"
    ]


def test_preview_shows_drafts_marked_and_the_live_build_hides_them(project_copy: Path) -> None:
    docs = project_copy / "docs"
    write(docs, "2027-02-01", "title: Privacy Policy\neffective: 2027-02-01\npublished: 2026-12-20\n"
          "material: false\ndraft: true\nsummary: [A draft.]\n", slug="privacy")
    cli("lock", "--today", "2026-11-22", cwd=project_copy)
    live, preview = project_copy / "live", project_copy / "preview"
    common = ["--docs-dir", str(docs), "--date", "2026-11-22", "--site-url", "https://legal.example.test/"]
    cli("build", "--site-dir", str(live), *common)
    cli("build", "--site-dir", str(preview), "--preview", *common)
    assert not (live / "privacy" / "2027-02-01").exists()
    page = html.parse(str(preview / "privacy" / "2027-02-01" / "index.html")).getroot()
    notice = page.cssselect(".legal-notice--preview")[0].text_content()
    assert "Preview of a draft: this version is not published." in notice
    assert "not published on any date while it stays one" in notice
    assert "December 20, 2026" not in notice  # a draft is published on no date
    assert "Preview build." in page.cssselect(".legal-announce--preview")[0].text_content()
