"""Build time of the policy engine against a plain Material build of the same Markdown.

Generates a synthetic site of 3 policies x N versions (each version a ~1,500-word
policy that differs from its predecessor by a few words), then times, in one run:

- baseline: Material + search, the version files as plain pages (nav: home and each
  policy's newest version, the same nav size as the engine's build);
- engine:   Material + search + legal-pages (current pages, permanent pages,
  redlines, histories, feed, manifest);
- engine with 2N versions, to show how the time grows.

Usage: .venv/bin/python bench/bench_build.py [--versions 100] [--repeat 3]
Goals (issue 3): engine / baseline <= 1.5; engine(2N) / engine(N) <= 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
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


def make_docs(root: Path, policies: int, versions: int) -> Path:
    rng = random.Random(20261122)
    docs = root / "docs"
    (docs).mkdir(parents=True)
    (docs / "index.md").write_text("# Legal\n\n<!-- legal:policies -->\n")
    start = dt.date(2020, 1, 1)
    for p in range(policies):
        folder = docs / f"policy{p}" / "versions"
        folder.mkdir(parents=True)
        blocks = _base_text(rng)
        for v in range(versions):
            day = start + dt.timedelta(days=7 * v)
            meta = {
                "title": f"Policy {p}", "effective": day, "published": day,
                "material": v % 4 == 0, "summary": [f"Change number {v}."],
            }
            text = "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n\n" + "\n\n".join(blocks) + "\n"
            (folder / f"{day.isoformat()}.md").write_text(text)
            blocks = _mutate(rng, blocks)
    return docs


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


def timed_build(config_file: Path) -> float:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(str(config_file), strict=True)
    started = time.perf_counter()
    build(config)
    return time.perf_counter() - started


def measure(policies: int, versions: int, repeat: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        docs = make_docs(root, policies, versions)
        baseline_nav: list[object] = ["index.md", *[
            sorted((docs / f"policy{p}" / "versions").glob("*.md"))[-1].relative_to(docs).as_posix()
            for p in range(policies)
        ]]
        baseline = _config(root, docs, root / "site-baseline", False, baseline_nav)
        engine = _config(root, docs, root / "site-engine", True, None)
        base_times, engine_times = [], []
        for _ in range(repeat):
            base_times.append(timed_build(baseline))
            engine_times.append(timed_build(engine))
        return statistics.median(base_times), statistics.median(engine_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policies", type=int, default=3)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(NO_MKDOCS_2_WARNING="1", LEGAL_BUILD_DATE="2030-01-01")
    logging.getLogger("mkdocs").setLevel(logging.ERROR)

    n = args.versions
    base, engine = measure(args.policies, n, args.repeat)
    base2, engine2 = measure(args.policies, 2 * n, args.repeat)
    print(f"synthetic site: {args.policies} policies, median of {args.repeat} builds each")
    print(f"{'versions/policy':>16} {'baseline s':>11} {'engine s':>9} {'engine/baseline':>16}")
    print(f"{n:>16} {base:>11.2f} {engine:>9.2f} {engine / base:>16.2f}")
    print(f"{2 * n:>16} {base2:>11.2f} {engine2:>9.2f} {engine2 / base2:>16.2f}")
    print(f"engine time growth when versions double: {engine2 / engine:.2f}x (goal <= 2.00)")
    print(f"engine cost over baseline at {n} versions: {engine / base:.2f}x (goal <= 1.50)")


if __name__ == "__main__":
    main()
