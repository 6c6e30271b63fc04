"""The operator's consent report, on receipts whose rates are known in advance, on SQLite
and PostgreSQL: the command's file and the API page show exactly those figures, the
small-count rule hides what it must, and the report changes nothing in the log."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import html
from sqlalchemy import inspect, select

from consent_api.report_page import CSP
from consent_api.schema import checkpoints, engine_for, nodes, receipts
from consent_api.signing import Key, ReceiptSigner
from tests.api.conftest import KEY1, OPERATOR, Api, request_body
from tests.api.generated import Choice, at, store
from tests.harness import ROOT

SIGNER = ReceiptSigner([Key(KEY1["kid"], KEY1["secret"])])  # the api fixture's token key

R1, R2 = "1111111111111111", "2222222222222222"
CHANGE = "2026-11-22"  # the seed's second version takes effect


def scenario() -> list[Choice]:
    """October 1 to November 29, 2026. Under the 2025 version (to November 21): 520 receipts,
    analytics granted by exactly 60%. Under the 2026 version: 200 receipts, analytics by
    exactly 40%; 20 of them are withdrawals by visitors who accepted all in
    October. The config revision changes on November 10; a few visitors send GPC. One in five
    read the banner in German, one in ten in Polish, the rest in English."""
    made: list[Choice] = []
    accepters: list[str] = []
    for n in range(520):
        day = dt.date(2026, 10, 1) + dt.timedelta(days=n // 10)
        analytics, advertising = n % 5 < 3, n % 4 == 0
        subject = f"00000000-0000-4000-8000-{n:012d}"
        if analytics and day.month == 10 and len(accepters) < 20:
            advertising = True
            accepters.append(subject)
        made.append(Choice(at(day.isoformat(), n), {"necessary": True, "analytics": analytics,
                                                    "advertising": advertising},
                           version="2025-03-31", revision=R1 if day < dt.date(2026, 11, 10) else R2,
                           method="dialog" if n % 10 == 3 else "banner", gpc=n % 50 == 7, subject=subject,
                           language=language_of(n)))
    for n in range(200):
        day = dt.date(2026, 11, 22) + dt.timedelta(days=n // 25)
        analytics = n % 5 < 2
        withdrawal = not analytics and n % 3 == 0 and bool(accepters)
        subject = accepters.pop() if withdrawal else f"00000000-0000-4000-9000-{n:012d}"
        made.append(Choice(at(day.isoformat(), n), {"necessary": True, "analytics": analytics,
                                                    "advertising": n % 4 == 1 and not withdrawal},
                           version="2026-11-22", revision=R2, method="withdrawal" if withdrawal else "banner",
                           subject=subject, language=language_of(n)))
    return made


def language_of(n: int) -> str:
    return "de" if n % 10 in (1, 6) else "pl" if n % 10 == 9 else "en"


def tally(choices: list[Choice]) -> dict[str, int]:
    return {"receipts": len(choices), "analytics": sum(c.choices["analytics"] for c in choices),
            "advertising": sum(c.choices["advertising"] for c in choices), "gpc": sum(c.gpc for c in choices)}


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%"


def tables(document: str) -> dict[str, list[list[str]]]:
    """Every table of the report by its caption: rows of cell texts (the header row first)."""
    root: Any = html.fromstring(document)
    return {str(t.findtext("caption")): [[" ".join(c.text_content().split()) for c in tr.xpath("th|td")]
                                         for tr in t.iter("tr")] for t in root.iter("table")}


def row(table: list[list[str]], name: str) -> dict[str, str]:
    [found] = [r for r in table[1:] if r[0] == name]
    return dict(zip(table[0], found, strict=True))


def fingerprint(db_url: str) -> str:
    """Everything the log holds, hashed: receipts, tree nodes, checkpoints."""
    engine = engine_for(db_url)
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table, order in ((receipts, receipts.c.seq), (nodes, nodes.c.idx), (checkpoints, checkpoints.c.tree_size)):
            for r in conn.execute(select(table).order_by(order)):
                digest.update(repr(tuple(r)).encode())
    engine.dispose()
    return digest.hexdigest()


@pytest.fixture
def loaded(api: Api) -> Iterator[tuple[Api, list[Choice]]]:
    made = scenario()
    engine = engine_for(api.env["DATABASE_URL"])
    store(engine, Path(api.env["CONSENT_SITE_DIR"]), made, signer=SIGNER)
    engine.dispose()
    yield api, made


def report_file(api: Api, tmp: Path, *args: str) -> str:
    out = tmp / "report.html"
    done = api.flask("report", *args, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out.read_text()


def test_the_report_shows_exactly_the_rates_the_receipts_were_made_with(
    loaded: tuple[Api, list[Choice]], tmp_path: Path
) -> None:
    api, made = loaded
    assert api.flask("seal").returncode == 0  # the API's sealer would otherwise change the log meanwhile
    before_log = fingerprint(api.env["DATABASE_URL"])
    found = tables(report_file(api, tmp_path, "--since", "2026-10-01", "--until", "2026-12-01", "--by", "month"))

    versions = found["Grant rates by policy version"]
    before, after = tally([c for c in made if c.version != CHANGE]), tally([c for c in made if c.version == CHANGE])
    assert row(versions, "privacy 2025-03-31") == {"Policy version": "privacy 2025-03-31", "Receipts": "520",
                                                   "Analytics granted": "60.0%",
                                                   "Advertising granted": pct(before["advertising"], 520)}
    assert row(versions, "privacy 2026-11-22") == {"Policy version": "privacy 2026-11-22", "Receipts": "200",
                                                   "Analytics granted": "40.0%",
                                                   "Advertising granted": pct(after["advertising"], 200)}

    by_month: dict[str, list[Choice]] = defaultdict(list)
    by_revision: dict[str, list[Choice]] = defaultdict(list)
    for c in made:
        by_month[f"{c.when:%Y-%m}"].append(c)
        by_revision[c.revision].append(c)
    months = found["Receipts and grant rates per month"]
    for month, group in [*by_month.items(), ("Whole window", made)]:
        t = tally(group)
        assert row(months, month) | {"Changes": ""} == {
            "Month": month, "Receipts": f"{t['receipts']:,}", "Analytics granted": pct(t["analytics"], t["receipts"]),
            "Advertising granted": pct(t["advertising"], t["receipts"]), "Sent GPC": pct(t["gpc"], t["receipts"]),
            "Changes": ""}
    assert row(months, "2026-11")["Changes"] == (
        f"2026-11-10: config revision {R2} first seen, {CHANGE}: privacy {CHANGE} in effect")
    revisions = found["Grant rates by config revision"]
    for revision, group in by_revision.items():
        t = tally(group)
        assert row(revisions, revision)["Analytics granted"] == pct(t["analytics"], t["receipts"])

    by_language: dict[str, list[Choice]] = defaultdict(list)
    for c in made:
        by_language[c.language].append(c)
    languages = found["Grant rates by language"]
    assert [r[0] for r in languages[1:]] == ["en (English)", "de (German)", "pl (Polish)"]  # most receipts first
    for code, name in (("en", "English"), ("de", "German"), ("pl", "Polish")):
        t = tally(by_language[code])
        assert row(languages, f"{code} ({name})") == {
            "Language": f"{code} ({name})", "Receipts": f"{t['receipts']:,}",
            "Analytics granted": pct(t["analytics"], t["receipts"]),
            "Advertising granted": pct(t["advertising"], t["receipts"])}
    assert len({row(languages, n)["Analytics granted"] for n in ("en (English)", "de (German)", "pl (Polish)")}) > 1

    methods = found["Receipts by method per month"]
    assert row(methods, "Whole window") == {
        "Month": "Whole window", "Banner": f"{sum(c.method == 'banner' for c in made):,}",
        "Settings dialog": str(sum(c.method == "dialog" for c in made)), "Global Privacy Control": "0",
        "Withdrawal": "20", "Sent GPC": pct(sum(c.gpc for c in made), len(made))}

    # Each visitor once per view: the 20 who accepted in October and withdrew in November
    # count as granting in the first view and refusing in the latest.
    first: dict[str, Choice] = {}
    latest: dict[str, Choice] = {}
    for c in made:
        first.setdefault(c.subject, c)
        latest[c.subject] = c
    views = found["Visitors by their first and latest choice"]
    for name, view in (("First choice", first), ("Latest choice", latest)):
        t = tally(list(view.values()))
        assert row(views, name) == {
            "View": name, "Visitors": f"{len(view):,}", "Analytics granted": pct(t["analytics"], t["receipts"]),
            "Advertising granted": pct(t["advertising"], t["receipts"]), "Sent GPC": pct(t["gpc"], t["receipts"]),
            "Withdrawal": "0" if name == "First choice" else "20"}
    assert len(first) == 700 and row(views, "First choice")["Analytics granted"] != row(
        views, "Latest choice")["Analytics granted"]

    # The API page: the same figures, for the operator's header only.
    status, headers, page = api.call("GET", "api/v1/report?since=2026-10-01&until=2026-12-01&by=month",
                                     headers={"Authorization": f"Bearer {OPERATOR}"})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"] == CSP and headers["Cache-Control"] == "no-store"
    assert tables(page) == found
    assert fingerprint(api.env["DATABASE_URL"]) == before_log  # the report changed nothing


def test_the_report_holds_counts_only_and_hides_small_groups(api: Api, tmp_path: Path) -> None:
    """Seven receipts in a week, two of them with GPC, one withdrawal: no rate is shown for
    that week or that revision, and no id, token or page of any receipt is in the report."""
    made = [Choice(at("2026-09-16", n), {"necessary": True, "analytics": n < 4, "advertising": False},
                   version="2025-03-31", revision=R2, gpc=n < 2, method="withdrawal" if n == 6 else "banner")
            for n in range(7)]
    made += [Choice(at("2026-09-23", n), {"necessary": True, "analytics": n % 2 == 0, "advertising": False},
                    version="2025-03-31", revision=R1) for n in range(30)]
    engine = engine_for(api.env["DATABASE_URL"])
    store(engine, Path(api.env["CONSENT_SITE_DIR"]), made, signer=SIGNER)
    with engine.connect() as conn:
        secrets = [v for r in conn.execute(select(receipts.c.receipt_id, receipts.c.subject_id, receipts.c.token))
                   for v in r]
    engine.dispose()
    # One real receipt through the API too: its page URL and token must not show either.
    status, _, created = api.call("POST", "api/v1/receipts", request_body())
    assert status == 201
    document = report_file(api, tmp_path, "--since", "2026-09-14", "--until", "2026-09-28", "--by", "week")
    found = tables(document)
    weeks = found["Receipts and grant rates per week"]
    assert row(weeks, "2026-W38") == {"Week": "2026-W38", "Receipts": "fewer than 10", "Analytics granted": "-",
                                      "Advertising granted": "-", "Sent GPC": "-", "Changes": ""}
    assert row(weeks, "2026-W39")["Analytics granted"] == "50.0%"
    assert row(found["Grant rates by config revision"], R2)["Receipts"] == "fewer than 10"
    assert row(found["Receipts by method per week"], "2026-W38")["Withdrawal"] == "fewer than 10"
    text = document.lower()
    for secret in [*secrets, created["token"], created["receipt"]["consentReceiptID"], "127.0.0.1:8000/privacy"]:
        assert secret.lower() not in text
    assert "fewer than 10" in text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_report_refuses_bad_input_clearly_and_keeps_the_last_file(api: Api, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("last week's report")
    for args, message in ((["--since", "2026-13-01"], "since: '2026-13-01' is not a date (YYYY-MM-DD)"),
                          (["--since", "2026-11-01", "--until", "2026-10-01"], "is not before until"),
                          (["--since", "2025-01-01", "--until", "2026-11-01", "--by", "day"], "too long a window")):
        done = api.flask("report", *args, "--out", str(out))
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert out.read_text() == "last week's report"
    for query, field in (("since=yesterday", "since"), ("by=hour", "by")):
        status, _, body = api.call("GET", f"api/v1/report?{query}", headers={"Authorization": f"Bearer {OPERATOR}"})
        assert status == 400 and body["field"] == field, body
    # The operator's header only: nothing else opens it, and never a token in the URL.
    assert api.call("GET", "api/v1/report")[0] == 401
    assert api.call("GET", f"api/v1/report?token={OPERATOR}")[0] == 401
    status, _, created = api.call("POST", "api/v1/receipts", request_body())
    assert status == 201
    assert api.call("GET", "api/v1/report", headers={"Authorization": f"Bearer {created['token']}"})[0] == 403


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_report_opens_offline_under_its_policy_and_is_accessible(
    loaded: tuple[Api, list[Choice]], tmp_path: Path, page: Any, scheme: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    from tests.widget.test_accessibility import WCAG_AA

    api, _ = loaded
    document = report_file(api, tmp_path, "--since", "2026-10-01", "--until", "2026-12-01", "--by", "week")
    out = tmp_path / "report.html"
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.add_init_script("document.addEventListener('securitypolicyviolation', "
                         "(e) => (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI))")
    page.emulate_media(color_scheme=scheme)
    page.goto(out.as_uri())
    page.wait_for_load_state("load")
    assert requests == [out.as_uri()]  # the file itself: nothing else is fetched
    assert page.evaluate("window.__csp || []") == [] and problems == []
    images = page.locator("img")
    assert images.count() == 7 and document.count("data:image/svg+xml;base64,") == 7
    assert page.evaluate("[...document.images].every((i) => i.complete && i.naturalWidth > 0)")
    assert page.locator("table").count() == 6
    results = Axe().run(page, options=WCAG_AA)
    assert [v["id"] for v in results.response["violations"]] == []
    shots = ROOT / "test-output"
    shots.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.screenshot(path=str(shots / f"consent-report-{api.env['DATABASE_URL'].split(':')[0]}-{scheme}.png"),
                    full_page=True)


def test_a_database_from_before_the_report_gets_its_columns_filled_by_init_db(api: Api, tmp_path: Path) -> None:
    """An operator upgrading: init-db adds the report's columns to an existing log and fills
    them from each receipt; the log still verifies and the report counts the old receipts."""
    for choices in ({"analytics": True, "advertising": False}, {"analytics": False, "advertising": False}):
        status, _, _ = api.call("POST", "api/v1/receipts", request_body(choices={"necessary": True, **choices}))
        assert status == 201
    api.stop()
    engine = engine_for(api.env["DATABASE_URL"])
    with engine.begin() as conn:  # the table as the version before the report made it
        conn.exec_driver_sql("DROP INDEX ix_consent_receipts_report")
        for column in ("created_day", "method", "gpc", "policy_id", "policy_version", "config_revision", "choices",
                       "language"):
            conn.exec_driver_sql(f"ALTER TABLE consent_receipts DROP COLUMN {column}")
    done = api.flask("init-db")
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        rows = conn.execute(select(receipts)).all()
    engine.dispose()
    assert sorted(r.choices for r in rows) == ["advertising=0,analytics=0,necessary=1",
                                               "advertising=0,analytics=1,necessary=1"]
    assert {(r.method, r.gpc, r.policy_id, r.policy_version) for r in rows} == {
        ("banner", False, "privacy", "2026-11-22")}
    assert api.flask("seal").returncode == 0
    verify = api.flask("verify")
    assert verify.returncode == 0, verify.stderr
    found = tables(report_file(api, tmp_path, "--threshold", "2"))
    assert row(found["Grant rates by policy version"], "privacy 2026-11-22")["Analytics granted"] == "50.0%"


def test_a_database_from_before_the_language_column_gets_it_filled_by_init_db(api: Api, tmp_path: Path) -> None:
    """The version before languages had every report column but ``language``: init-db adds it,
    fills it from each receipt, indexes it with the others; the log still verifies."""
    for language in ("de", "en", "de"):
        status, _, _ = api.call("POST", "api/v1/receipts", request_body(language=language))
        assert status == 201
    api.stop()
    engine = engine_for(api.env["DATABASE_URL"])
    before = ("created_day, method, gpc, policy_id, policy_version, config_revision, choices, subject_id, seq")
    with engine.begin() as conn:  # the table and its index as the version before languages made them
        conn.exec_driver_sql("DROP INDEX ix_consent_receipts_report")
        conn.exec_driver_sql("ALTER TABLE consent_receipts DROP COLUMN language")
        conn.exec_driver_sql(f"CREATE INDEX ix_consent_receipts_report ON consent_receipts ({before})")
    done = api.flask("init-db")
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        assert sorted(conn.execute(select(receipts.c.language)).scalars()) == ["de", "de", "en"]
    [index] = [i for i in inspect(engine).get_indexes("consent_receipts") if i["name"] == "ix_consent_receipts_report"]
    assert index["column_names"] == [*before.split(", ")[:7], "language", "subject_id", "seq"]
    # A row written meanwhile by a process of the earlier version (no language): the next
    # init-db fills it too, and leaves alone a row that is not a receipt at all.
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE consent_receipts SET language = NULL WHERE seq = 1")
        conn.exec_driver_sql("INSERT INTO consent_receipts (receipt_id, subject_id, created_at, request_sha256, "
                             "body, token, kid) VALUES ('x', 'y', 0, 'z', 'not json', 't', 'k')")
    done = api.flask("init-db")
    assert done.returncode == 0, done.stderr
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT language FROM consent_receipts WHERE seq = 1").scalar() == "de"
        conn.exec_driver_sql("DELETE FROM consent_receipts WHERE receipt_id = 'x'")
    engine.dispose()
    assert api.flask("seal").returncode == 0
    verify = api.flask("verify")
    assert verify.returncode == 0, verify.stderr
    found = tables(report_file(api, tmp_path, "--threshold", "2"))
    assert row(found["Grant rates by language"], "de (German)")["Receipts"] == "2"
    assert row(found["Grant rates by language"], "en (English)")["Receipts"] == "fewer than 2"
