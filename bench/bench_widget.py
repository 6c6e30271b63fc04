"""Our consent widget against vanilla-cookieconsent 3.1 on the same Material page.

In one run: builds the site, fetches vanilla-cookieconsent from the npm registry
(``npm pack``; not committed), makes three variants of the built privacy page:

- ``ours``: as built;
- ``none``: the same page with our widget removed;
- ``vanilla``: ``none`` plus vanilla-cookieconsent (hideFromBots: false, three buttons);

serves them with the product's server and measures each in headless Chromium:
shipped bytes (gzip -9 of JS + CSS), median time from navigation start to the
banner being fully visible, median first contentful paint, and layout shift.

Usage: .venv/bin/python bench/bench_widget.py [--runs 21] [--smoke]
Goals (issue 5): JS + CSS <= 5 KB gzip; banner visible in <= 1/4 of vanilla's
time; median FCP within 10 ms of the page without a widget; zero layout shift.
"""

from __future__ import annotations

import argparse
import gzip
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

#: Records FCP, layout shifts and the first animation frame where the banner is fully shown.
PROBE = """
window.__probe = {shift: 0, visible: null, fcp: null};
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) if (!e.hadRecentInput) __probe.shift += e.value;
}).observe({type: "layout-shift", buffered: true});
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) if (e.name === "first-contentful-paint") __probe.fcp = e.startTime;
}).observe({type: "paint", buffered: true});
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


def strip_ours(html: str) -> str:
    html = re.sub(r'<script type="application/json" id="imr-consent-config">.*?</script>', "", html, flags=re.S)
    html = re.sub(r'<link rel="stylesheet" href="[^"]*assets/consent/[^"]*">', "", html)
    html = re.sub(r'<script src="[^"]*assets/consent/[^"]*"></script>', "", html)
    html = re.sub(r'<section id="imr-consent-banner".*?</section>', "", html, flags=re.S)
    return re.sub(r'<dialog id="imr-consent-dialog".*?</dialog>', "", html, flags=re.S)


def measure(browser: Any, url: str, runs: int, banner: bool = True) -> dict[str, float]:
    fcps, visible, shifts = [], [], []
    for _ in range(runs):
        # The measuring probe and vanilla's inline set-up are not in the site's Content-Security-
        # Policy (which refuses both, and eval for wait_for_function): the bench lifts it.
        context = browser.new_context(bypass_csp=True)
        context.route("**/*googletagmanager.com/**", lambda route: route.abort())
        page = context.new_page()
        page.add_init_script(PROBE)
        page.goto(url)
        page.wait_for_function("window.__probe.fcp !== null", timeout=10_000)
        if banner:
            page.wait_for_function("window.__probe.visible !== null", timeout=10_000)
        page.wait_for_timeout(300)
        probe = page.evaluate("window.__probe")
        fcps.append(probe["fcp"])
        shifts.append(probe["shift"])
        if probe["visible"] is not None:
            visible.append(probe["visible"])
        context.close()
    return {
        "fcp": statistics.median(fcps),
        "visible": statistics.median(visible) if visible else float("nan"),
        "shift": max(shifts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--smoke", action="store_true", help="one load each, one round: for the suite")
    args = parser.parse_args()
    rounds = 1 if args.smoke else 2
    if args.smoke:
        args.runs = 1
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        site = build(tmp / "site", site_url=f"http://127.0.0.1:{port}/")
        vanilla_js, vanilla_css = fetch_vanilla(tmp)
        ours_html = (site / "privacy" / "index.html").read_text()
        bare = strip_ours(ours_html)
        (site / "bench-none").mkdir()
        (site / "bench-none" / "index.html").write_text(bare)
        shutil.copy(vanilla_js, site / "cookieconsent.umd.js")
        shutil.copy(vanilla_css, site / "cookieconsent.css")
        vanilla_tags = f'<script src="/cookieconsent.umd.js"></script><script>{VANILLA_INIT}</script>'
        with_vanilla = bare.replace(
            "</head>", '<link rel="stylesheet" href="/cookieconsent.css"></head>'
        ).replace("</body>", vanilla_tags + "</body>")
        (site / "bench-vanilla").mkdir()
        (site / "bench-vanilla" / "index.html").write_text(with_vanilla)
        our_js = next((site / "assets" / "consent").glob("*.js")).read_bytes()
        our_css = next((site / "assets" / "consent").glob("*.css")).read_bytes()
        ours_bytes = (gz(our_js), gz(our_css))
        vanilla_bytes = (gz(vanilla_js.read_bytes()), gz(vanilla_css.read_bytes()))

        with serve(site, port) as served, sync_playwright() as pw:
            options: dict[str, Any] = {"args": CHROMIUM_ARGS}
            if CHROMIUM.exists():
                options["executable_path"] = str(CHROMIUM)
            browser = pw.chromium.launch(**options)
            results = {}
            for _ in range(rounds):  # warm caches and the server once, measure the second round
                results = {
                    "none": measure(browser, served.url("bench-none/"), args.runs, banner=False),
                    "ours": measure(browser, served.url("privacy/"), args.runs),
                    "vanilla": measure(browser, served.url("bench-vanilla/"), args.runs),
                }
            browser.close()

    print(f"Material privacy page, headless Chromium, median of {args.runs} loads each")
    print(f"{'':24}{'ours':>12}{'vanilla 3.1':>14}{'no widget':>12}")
    print(f"{'JS gzip (bytes)':24}{ours_bytes[0]:>12}{vanilla_bytes[0]:>14}{'-':>12}")
    print(f"{'CSS gzip (bytes)':24}{ours_bytes[1]:>12}{vanilla_bytes[1]:>14}{'-':>12}")
    print(f"{'JS + CSS gzip (bytes)':24}{sum(ours_bytes):>12}{sum(vanilla_bytes):>14}{'-':>12}")
    r = results
    print(f"{'banner visible (ms)':24}{r['ours']['visible']:>12.1f}{r['vanilla']['visible']:>14.1f}{'-':>12}")
    print(f"{'first contentful paint':24}{r['ours']['fcp']:>12.1f}{r['vanilla']['fcp']:>14.1f}"
          f"{r['none']['fcp']:>12.1f}")
    print(f"{'layout shift (max CLS)':24}{r['ours']['shift']:>12.4f}{r['vanilla']['shift']:>14.4f}"
          f"{r['none']['shift']:>12.4f}")
    print(f"banner time ours / vanilla: {r['ours']['visible'] / r['vanilla']['visible']:.2f} (goal <= 0.25)")
    print(f"FCP ours - no widget: {r['ours']['fcp'] - r['none']['fcp']:+.1f} ms (goal within 10 ms)")
    print(f"JS + CSS: {sum(ours_bytes) / 1024:.2f} KB (goal <= 5 KB)")


if __name__ == "__main__":
    main()
