"""Build time of the policy engine against a plain Material build of the same Markdown.

Generates a synthetic site of 3 policies x N versions (each version a ~1,500-word
policy that differs from its predecessor by a few words), then times, in one run:

- baseline: Material + search, the version files as plain pages (nav: home and each
  policy's newest version, the same nav size as the engine's build);
- engine:   Material + search + legal-pages (current pages, permanent pages,
  redlines, histories, feed, manifest), cold: with an empty cache;
- warm:     the engine again after one more version of each policy (legal's weekly change),
  with the cache the cold build left, against plain Material's build of the N + 1 versions;
- both at 2N versions, to show how the time grows.

Every build runs in a process of its own, as `make run` and the nightly rebuild do.

Then the compare page's cost at N versions: the browser diffs the two chosen versions from
their JSON blocks (compare.js, timed here in Node with the first and the last version, the
widest pair), so its cost does not grow with the number of versions; the bench prints it.

Usage: .venv/bin/python bench/bench_build.py [--versions 100] [--repeat 3] [--smoke]
Goals (issue 26): cold engine / baseline <= 1.5; engine(2N) / engine(N) <= 2; warm rebuild /
baseline(N + 1) <= 1.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import markdown
import yaml

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2020, 1, 1)
WORDS = (
    "data", "personal", "service", "account", "we", "may", "process", "provide", "use",
    "share", "store", "retain", "request", "security", "legal", "right", "access", "delete",
    "correct", "payment", "provider", "analytics", "cookie", "period", "transfer", "country",
    "contract", "consent", "notice", "law", "business", "customer", "support", "model",
    "output",
)


def _paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _base_text(rng: random.Random) -> list[str]:
    blocks = []
    for section in range(1, 15):
        blocks.append(f"## {section}. {_paragraph(rng, 3)[:-1].title()}")
        blocks.append(_paragraph(rng, 55))
        blocks.append(_paragraph(rng, 45))
        blocks.append("\n".join(f"- {_paragraph(rng, 12)}" for _ in range(4)))
    return blocks


def _mutate(rng: random.Random, blocks: list[str]) -> list[str]:
    out = list(blocks)
    for _ in range(5):
        i = rng.randrange(len(out))
        if out[i].startswith("##"):
            continue
        words = out[i].split(" ")
        words[rng.randrange(1, len(words))] = rng.choice(WORDS)
        out[i] = " ".join(words)
    if rng.random() < 0.3:
        out.insert(rng.randrange(len(out)), _paragraph(rng, 30))
    return out


def _version_text(p: int, day: dt.date, v: int, blocks: list[str]) -> str:
    meta = {  # published the notice period before: the build's gate checks it
        "title": f"Policy {p}", "effective": day, "published": day - dt.timedelta(days=35),
        "material": v % 4 == 0, "summary": [f"Change number {v}."],
    }
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n\n" + "\n\n".join(blocks) + "\n"


def _lock(docs: Path) -> None:
    from legal_pages.lock import update_lock

    update_lock(docs, docs.parent / "policies.lock", dt.date(2030, 1, 1))  # the gate needs every version locked


def make_docs(root: Path, policies: int, versions: int) -> Path:
    rng = random.Random(20261122)
    docs = root / "docs"
    (docs).mkdir(parents=True)
    (docs / "index.md").write_text("# Legal\n\n<!-- legal:policies -->\n")
    for p in range(policies):
        folder = docs / f"policy{p}" / "versions"
        folder.mkdir(parents=True)
        blocks = _base_text(rng)
        for v in range(versions):
            day = START + dt.timedelta(days=7 * v)
            (folder / f"{day.isoformat()}.md").write_text(_version_text(p, day, v, blocks))
            blocks = _mutate(rng, blocks)
    _lock(docs)
    return docs


def add_version(docs: Path) -> list[Path]:
    """One more version of every policy (legal's weekly change): the files written."""
    rng = random.Random(7)
    written = []
    for folder in sorted(docs.glob("policy*/versions")):
        files = sorted(folder.glob("*.md"))
        from legal_pages.model import read_source

        blocks = _mutate(rng, read_source(files[-1]).body.strip().split("\n\n"))
        day = dt.date.fromisoformat(files[-1].stem) + dt.timedelta(days=7)
        path = folder / f"{day.isoformat()}.md"
        path.write_text(_version_text(int(folder.parent.name[len("policy"):]), day, len(files), blocks))
        written.append(path)
    _lock(docs)
    return written


NODE_TIMER = """
const fs = require("fs"), vm = require("vm");
const sandbox = { window: {}, document: { querySelector: () => null, addEventListener: () => {} },
                  location: { hash: "" } };
const [script, first, last] = process.argv.slice(2);
vm.runInNewContext(fs.readFileSync(script, "utf8"), sandbox);
const a = JSON.parse(fs.readFileSync(first, "utf8")), b = JSON.parse(fs.readFileSync(last, "utf8"));
const times = [];
for (let i = 0; i < 15; i++) {
  const started = process.hrtime.bigint();
  sandbox.window.imrRedline(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
  times.push(Number(process.hrtime.bigint() - started) / 1e6);
}
times.sort((x, y) => x - y);
console.log(times[Math.floor(times.length / 2)].toFixed(1));
"""


def compare_cost(versions: int) -> str:
    """The compare page's work for the widest pair: JSON sizes, and compare.js's time in Node."""
    from legal_pages.model import read_source
    from legal_pages.redline import export

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        docs = make_docs(root, 1, versions)
        files = sorted((docs / "policy0" / "versions").glob("*.md"))
        ext = ["md_in_html", "attr_list", "tables", "toc"]
        data = [json.dumps(export(markdown.markdown(read_source(f).body, extensions=ext)))
                for f in (files[0], files[-1])]
        paths = [root / "first.json", root / "last.json"]
        for path, text in zip(paths, data, strict=True):
            path.write_text(text)
        gz = [len(gzip.compress(d.encode(), 6)) / 1024 for d in data]
        sizes = (f"{len(data[0]) / 1024:.0f} KB + {len(data[1]) / 1024:.0f} KB fetched"
                 f" ({gz[0]:.0f} KB + {gz[1]:.0f} KB gzip)")
        node = shutil.which("node")
        if node is None:
            return f"{sizes}; node not installed, compare.js not timed"
        script = root / "time.js"
        script.write_text(NODE_TIMER)
        done = subprocess.run([node, str(script), str(ROOT / "overrides" / "assets" / "javascripts" / "compare.js"),
                               *map(str, paths)], capture_output=True, text=True, check=True, timeout=120)
        return f"{sizes}; compare.js median {done.stdout.strip()} ms (Node, first vs version {versions})"


def _config(root: Path, docs: Path, site: Path, engine: bool, nav: list[object] | None) -> Path:
    config = {
        "site_name": "Bench", "site_url": "https://bench.example/", "docs_dir": str(docs),
        "site_dir": str(site), "use_directory_urls": True,
        "theme": {"name": "material", "custom_dir": str(ROOT / "overrides"), "font": False,
                  "features": ["navigation.instant"]},
        "plugins": ["search", "legal-pages"] if engine else ["search"],
        "markdown_extensions": ["md_in_html", "attr_list", "tables", {"toc": {"permalink": True}}],
        "extra_css": ["assets/stylesheets/legal.css"],
    }
    if nav is not None:
        config["nav"] = nav
    path = root / ("engine.yml" if engine else "baseline.yml")
    path.write_text(yaml.safe_dump(config))
    return path


TIMER = """
import os, sys, time, logging
os.environ.update(NO_MKDOCS_2_WARNING="1", LEGAL_BUILD_DATE="2030-01-01")
logging.getLogger("mkdocs").setLevel(logging.ERROR)
from mkdocs.commands.build import build
from mkdocs.config import load_config
args = dict(a.split("=", 1) for a in sys.argv[2:])
no_cache = args.pop("no_cache", None)
config = load_config(sys.argv[1], strict=True, **args)
if no_cache:
    config.plugins["legal-pages"].config.cache = False
started = time.perf_counter()
build(config)
print(time.perf_counter() - started)
"""


def timed_build(config_file: Path, **overrides: str) -> float:
    """Seconds of one build, in a process of its own (as `make run` and the nightly rebuild
    build): nothing a build remembers in memory helps the next one."""
    done = subprocess.run([sys.executable, "-c", TIMER, str(config_file), *(f"{k}={v}" for k, v in overrides.items())],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    if done.returncode:
        raise SystemExit(f"the build of {config_file} failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


@dataclass
class Figures:
    baseline: float    # plain Material, N versions
    cold: float        # the engine, empty cache, N versions
    baseline_next: float  # plain Material, N + 1 versions
    warm: float        # the engine after one version more per policy, cache of the N-version build


def measure(policies: int, versions: int, repeat: int) -> Figures:
    """Each round alternates plain Material and the engine: a cold build of N versions, then
    one version more per policy and a warm rebuild (the cache of the cold build)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        docs = make_docs(root, policies, versions)

        def baseline_config() -> Path:
            nav: list[object] = ["index.md", *[
                sorted((docs / f"policy{p}" / "versions").glob("*.md"))[-1].relative_to(docs).as_posix()
                for p in range(policies)
            ]]
            return _config(root, docs, root / "site-baseline", False, nav)

        engine = _config(root, docs, root / "site-engine", True, None)
        cache = root / ".cache"
        rounds: list[Figures] = []
        for _ in range(repeat):
            shutil.rmtree(cache, ignore_errors=True)
            base = timed_build(baseline_config())
            cold = timed_build(engine)
            added = add_version(docs)
            warm = timed_build(engine)
            base_next = timed_build(baseline_config())
            for path in added:
                path.unlink()
            _lock(docs)
            rounds.append(Figures(base, cold, base_next, warm))
        return Figures(*(statistics.median(getattr(r, f) for r in rounds)
                         for f in ("baseline", "cold", "baseline_next", "warm")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policies", type=int, default=3)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true",
                        help="a seconds-long run (1 policy x 4 versions), for the suite")
    args = parser.parse_args()
    if args.smoke:
        args.policies, args.versions, args.repeat = 1, 4, 1

    n = args.versions
    one, two = measure(args.policies, n, args.repeat), measure(args.policies, 2 * n, args.repeat)
    print(f"synthetic site: {args.policies} policies, median of {args.repeat} rounds, each build in its own process")
    print(f"{'versions/policy':>16} {'baseline s':>11} {'engine s':>9} {'engine/baseline':>16}")
    for versions, f in ((n, one), (2 * n, two)):
        print(f"{versions:>16} {f.baseline:>11.2f} {f.cold:>9.2f} {f.cold / f.baseline:>16.2f}   cold (empty cache)")
        print(f"{versions + 1:>16} {f.baseline_next:>11.2f} {f.warm:>9.2f} {f.warm / f.baseline_next:>16.2f}"
              "   warm (one version more per policy)")
    print(f"engine time growth when versions double: {two.cold / one.cold:.2f}x cold (goal <= 2.00)")
    print(f"engine cold build over baseline at {n} versions: {one.cold / one.baseline:.2f}x (goal <= 1.50)")
    print(f"engine warm rebuild over baseline at {n + 1} versions: {one.warm / one.baseline_next:.2f}x (goal <= 1.10)")
    print(f"compare page at {n} versions: {compare_cost(n)}")
    with tempfile.TemporaryDirectory() as tmp:  # what `make run` builds: docs/ in every language of mkdocs.yml
        cold = statistics.median(timed_build(ROOT / "mkdocs.yml", site_dir=tmp, no_cache="1")
                                 for _ in range(args.repeat))
        timed_build(ROOT / "mkdocs.yml", site_dir=tmp)  # fills the repository's cache (.cache/legal-pages)
        warm = statistics.median(timed_build(ROOT / "mkdocs.yml", site_dir=tmp) for _ in range(args.repeat))
        pages = sum(1 for _ in Path(tmp).rglob("index.html"))
        languages = sum(1 for d in Path(tmp).iterdir() if (d / "privacy" / "index.html").exists()) + 1
    print(f"the real site (docs/, {languages} languages, {pages} pages): {cold:.2f} s without the cache, "
          f"{warm:.2f} s with it (nothing changed), median of {args.repeat}")

if __name__ == "__main__":
    main()
