"""Our consent widget against vanilla-cookieconsent 3.1 and against no widget at all, on
the same Material pages.

In one run: builds the site, fetches vanilla-cookieconsent from the npm registry
(``npm pack``; not committed), makes three variants of two built pages (the privacy
policy, and the changes page of its latest version):

- ``ours``: as built;
- ``none``: the same page with every part of our widget removed;
- ``vanilla``: ``none`` plus vanilla-cookieconsent (hideFromBots: false, three buttons);

serves them with the product's server and measures each in headless Chromium, the three
variants alternating load by load, without and with 4x CPU throttling (Chromium's DevTools
protocol, as a slow phone): shipped bytes (gzip -9 of JS + CSS), and per load the first
contentful paint, the largest contentful paint, the time to the banner being fully visible
and the layout shift. Medians are printed with their spread (the quartiles).

Usage: .venv/bin/python bench/bench_widget.py [--runs 21] [--smoke]
Goals (issues 5, 28): JS + CSS <= 5 KB gzip; banner visible in <= 1/4 of vanilla's time;
median FCP and LCP within 10 ms of the page without a widget, plain and throttled; zero
layout shift.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.harness import CHROMIUM, CHROMIUM_ARGS, build, free_port, serve  # noqa: E402

VANILLA = "vanilla-cookieconsent@3.1.0"
VANILLA_INIT = """
CookieConsent.run({
  hideFromBots: false,
  categories: {necessary: {enabled: true, readOnly: true}, analytics: {}, advertising: {}},
  language: {default: "en", translations: {en: {
    consentModal: {title: "Your cookie choices", description: "We use cookies.",
      acceptAllBtn: "Accept all", acceptNecessaryBtn: "Reject all", showPreferencesBtn: "Customize"},
    preferencesModal: {title: "Cookie settings", acceptAllBtn: "Accept all",
      acceptNecessaryBtn: "Reject all", savePreferencesBtn: "Save my choices",
      sections: [{title: "Analytics", linkedCategory: "analytics"},
                 {title: "Advertising", linkedCategory: "advertising"}]}
  }}}
});
"""

#: Records FCP, LCP, layout shifts and the first animation frame where the banner is fully shown.
PROBE = """
window.__probe = {shift: 0, visible: null, fcp: null, lcp: null};
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) if (!e.hadRecentInput) __probe.shift += e.value;
}).observe({type: "layout-shift", buffered: true});
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) if (e.name === "first-contentful-paint") __probe.fcp = e.startTime;
}).observe({type: "paint", buffered: true});
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) __probe.lcp = e.startTime;
}).observe({type: "largest-contentful-paint", buffered: true});
(function tick() {
  const el = document.querySelector("#imr-consent-banner, #cc-main .cm");
  if (el) {
    const s = getComputedStyle(el), r = el.getBoundingClientRect();
    if (s.display !== "none" && s.visibility !== "hidden" && parseFloat(s.opacity) >= 0.99 && r.height > 0) {
      __probe.visible = performance.now(); return;
    }
  }
  requestAnimationFrame(tick);
})();
"""


def gz(data: bytes) -> int:
    return len(gzip.compress(data, 9))


def fetch_vanilla(dest: Path) -> tuple[Path, Path]:
    subprocess.run(["npm", "pack", VANILLA, "--silent"], cwd=dest, check=True, capture_output=True)
    with tarfile.open(next(dest.glob("vanilla-cookieconsent-*.tgz"))) as tar:
        tar.extractall(dest, filter="data")
    return dest / "package/dist/cookieconsent.umd.js", dest / "package/dist/cookieconsent.css"


#: Our inline stylesheet and boot script (no pattern may run past the element's end).
OUR_STYLE = r"<style>(?:(?!</style>).)*?imr-consent(?:(?!</style>).)*?</style>"
OUR_BOOT = r"<script>(?:(?!</script>).)*?imr-consent-config(?:(?!</script>).)*?</script>"
OUR_TEXTS = (r"<template id=\"imr-consent-banner-template\">.*?</template>"
             r"|<script type=\"application/json\" id=\"imr-consent-config\">.*?</script>")
OUR_DIALOG = r"<dialog id=\"imr-consent-dialog\".*?</dialog>"


def strip_ours(html: str) -> str:
    """The page without any part of our widget: its config, inline stylesheet and boot script,
    the banner's template, the deferred script and the dialog."""
    for pattern in (r'<script type="application/json" id="imr-consent-config">.*?</script>', OUR_STYLE,
                    r'<template id="imr-consent-banner-template">.*?</template>', OUR_BOOT,
                    r'<script src="[^"]*assets/consent/[^"]*"[^>]*></script>',
                    r'<dialog id="imr-consent-dialog".*?</dialog>'):
        html, count = re.subn(pattern, "", html, flags=re.S)
        if count != 1:
            raise SystemExit(f"bench_widget: the page no longer has exactly one {pattern[:40]!r}: update strip_ours")
    return html


METRICS = ("fcp", "lcp", "visible", "shift")


def load(browser: Any, url: str, throttle: float) -> dict[str, float]:
    """One cold load in a new context: the probe's figures."""
    # The measuring probe and vanilla's inline set-up are not in the site's Content-Security-
    # Policy (which refuses both, and eval for wait_for_function): the bench lifts it.
    context = browser.new_context(bypass_csp=True)
    context.route("**/*googletagmanager.com/**", lambda route: route.abort())
    page = context.new_page()
    if throttle > 1:
        page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    page.add_init_script(PROBE)
    page.goto(url)
    page.wait_for_function("window.__probe.fcp !== null && window.__probe.lcp !== null", timeout=30_000)
    page.wait_for_timeout(300 * throttle)
    probe: dict[str, float] = page.evaluate("window.__probe")
    context.close()
    return probe


def spread(values: list[float]) -> str:
    """Median and quartiles, as 'median (q1-q3)'."""
    if not values:
        return "-"
    if len(values) < 4:
        return f"{statistics.median(values):.1f}"
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"{statistics.median(values):.1f} ({q1:.0f}-{q3:.0f})"


def paired(ours: list[float], none: list[float]) -> str:
    """The median of the load-by-load differences, with a 95% bootstrap interval: a difference
    whose interval holds 0 is not told apart from the machine's noise by this many loads."""
    diffs = [a - b for a, b in zip(ours, none, strict=False)]
    if len(diffs) < 4:
        return f"{statistics.median(diffs):+.1f} ms" if diffs else "-"
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(diffs, k=len(diffs))) for _ in range(2000))
    return f"{statistics.median(diffs):+.1f} ms ({medians[50]:+.0f} to {medians[1949]:+.0f})"


def measure(browser: Any, urls: dict[str, str], runs: int, throttle: float) -> dict[str, dict[str, list[float]]]:
    """``runs`` loads of each variant, alternating load by load (a slow moment of the machine
    falls on all three alike)."""
    found: dict[str, dict[str, list[float]]] = {name: {m: [] for m in METRICS} for name in urls}
    for _ in range(runs):
        for name, url in urls.items():
            probe = load(browser, url, throttle)
            for metric in METRICS:
                if probe.get(metric) is not None:
                    found[name][metric].append(float(probe[metric]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--smoke", action="store_true", help="one load each, no warm-up: for the suite")
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        site = build(tmp / "site", site_url=f"http://127.0.0.1:{port}/")
        vanilla_js, vanilla_css = fetch_vanilla(tmp)
        shutil.copy(vanilla_js, site / "cookieconsent.umd.js")
        shutil.copy(vanilla_css, site / "cookieconsent.css")
        vanilla_tags = f'<script src="/cookieconsent.umd.js"></script><script>{VANILLA_INIT}</script>'
        latest = json.loads((site / "policies.json").read_text())["policies"]["privacy"]["versions"][-1]["id"]
        pages = {"privacy page": "privacy/", "changes page": f"privacy/{latest}/changes/"}
        urls: dict[str, dict[str, str]] = {}
        for label, path in pages.items():
            ours_html = (site / path / "index.html").read_text()
            bare = strip_ours(ours_html)
            parent = path.rstrip("/").rpartition("/")[0]
            variants = {"ours": path}
            for variant, html in (("none", bare), ("vanilla", bare.replace(
                    "</head>", '<link rel="stylesheet" href="/cookieconsent.css"></head>').replace(
                    "</body>", vanilla_tags + "</body>"))):
                # A sibling of the real page, at its depth: its relative URLs (Material's assets) resolve.
                variants[variant] = f"{parent}/bench-{variant}/".lstrip("/")
                (site / variants[variant]).mkdir(parents=True)
                (site / variants[variant] / "index.html").write_text(html)
            urls[label] = variants
        our_js = next((site / "assets" / "consent").glob("*.js")).read_bytes()
        privacy = (site / "privacy" / "index.html").read_text()
        inline = "".join(m.group(0) for p in (OUR_STYLE, OUR_BOOT) for m in re.finditer(p, privacy, re.S)).encode()
        ours_bytes = (gz(our_js), gz(inline))
        # Per language: the script and the stylesheet are the same in every language (they hold
        # no text); each page also carries its own language's texts only, in its HTML (the
        # banner's template, the config and the dialog, the operator's texts included).
        per_language: dict[str, tuple[int, int]] = {}
        for index in sorted([site / "privacy" / "index.html", *site.glob("*/privacy/index.html")]):
            text = index.read_text()
            lang = re.search(r'<html lang="([^"]+)"', text)
            inline_here = "".join(m.group(0) for p in (OUR_STYLE, OUR_BOOT) for m in re.finditer(p, text, re.S))
            strings = "".join(m.group(0) for p in (OUR_TEXTS, OUR_DIALOG) for m in re.finditer(p, text, re.S))
            per_language[lang.group(1) if lang else "?"] = (gz(our_js) + gz(inline_here.encode()),
                                                            gz(strings.encode()))
        vanilla_bytes = (gz(vanilla_js.read_bytes()), gz(vanilla_css.read_bytes()))

        results: dict[tuple[str, float], dict[str, dict[str, list[float]]]] = {}
        with serve(site, port) as served, sync_playwright() as pw:
            options: dict[str, Any] = {"args": CHROMIUM_ARGS}
            if CHROMIUM.exists():
                options["executable_path"] = str(CHROMIUM)
            browser = pw.chromium.launch(**options)
            for label, variants in urls.items():
                if not args.smoke:  # warm the server and caches
                    measure(browser, {k: served.url(v) for k, v in variants.items()}, 1, 1)
                for throttle in (1.0, 4.0):
                    results[label, throttle] = measure(browser, {k: served.url(v) for k, v in variants.items()},
                                                       args.runs, throttle)
            browser.close()

    print(f"Material pages, headless Chromium, {args.runs} cold loads of each variant, alternating; "
          "median (quartiles) in ms")
    print(f"{'':30}{'ours':>12}{'vanilla 3.1':>14}")
    print(f"{'JS gzip (bytes)':30}{ours_bytes[0]:>12}{vanilla_bytes[0]:>14}")
    print(f"{'CSS + inline boot gzip (bytes)':30}{ours_bytes[1]:>12}{vanilla_bytes[1]:>14}")
    print(f"{'JS + CSS gzip (bytes)':30}{sum(ours_bytes):>12}{sum(vanilla_bytes):>14}")
    print("Per language, gzip -9 (bytes): JS + CSS (goal <= 5,000) / + that language's texts in the page")
    print("  " + ", ".join(f"{lang} {code} / {code + texts}" for lang, (code, texts) in per_language.items()))
    worst_shift = 0.0
    for (label, throttle), r in results.items():
        title = f"{label}{', CPU 4x slower' if throttle > 1 else ''}"
        print(f"\n{title:30}{'ours':>18}{'vanilla 3.1':>18}{'no widget':>18}")
        for metric, name in (("fcp", "first contentful paint"), ("lcp", "largest contentful paint"),
                             ("visible", "banner fully visible")):
            print(f"{name:30}" + "".join(f"{spread(r[v][metric]):>18}" for v in ("ours", "vanilla", "none")))
        print(f"{'layout shift (max CLS)':30}" + "".join(f"{max(r[v]['shift'], default=0):>18.4f}"
                                                         for v in ("ours", "vanilla", "none")))
        med = {v: {m: statistics.median(r[v][m]) if r[v][m] else float("nan") for m in METRICS} for v in r}
        print(f"FCP ours - no widget: {med['ours']['fcp'] - med['none']['fcp']:+.1f} ms; LCP ours - no widget: "
              f"{med['ours']['lcp'] - med['none']['lcp']:+.1f} ms (goal: within 10 ms)")
        print("  load by load (ours and no widget alternate): median difference and its 95% bootstrap interval: "
              f"FCP {paired(r['ours']['fcp'], r['none']['fcp'])}; LCP {paired(r['ours']['lcp'], r['none']['lcp'])}")
        print(f"banner time ours / vanilla: {med['ours']['visible'] / med['vanilla']['visible']:.2f} (goal <= 0.25)")
        worst_shift = max(worst_shift, max(r["ours"]["shift"], default=0))
    print(f"\nlayout shift of ours, worst load: {worst_shift:.4f} (goal 0)")
    print(f"JS + CSS: {sum(ours_bytes) / 1024:.2f} KB (goal <= 5 KB)")


if __name__ == "__main__":
    main()
