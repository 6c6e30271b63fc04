"""The widget's bundle: committed in consent_widget/dist, built by esbuild from src, and
refused by the site build when it is not what the sources say."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from consent_widget.build import DIST, SRC, BundleError, build_assets, bundle, main, read_dist


def test_the_committed_bundle_is_what_the_sources_build(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0, capsys.readouterr().err
    assets = build_assets()
    assert "import " not in assets.js.text + assets.boot and "export " not in assets.js.text + assets.boot
    # the deferred script takes boot's functions from it instead of carrying a second copy
    assert "__imrConsentBoot" in assets.boot and "__imrConsentBoot" in assets.js.text


def test_a_source_changed_since_the_bundle_was_built_is_refused_by_name(tmp_path: Path) -> None:
    src = shutil.copytree(SRC, tmp_path / "src")
    read_dist(src, DIST)  # an exact copy is fine
    (src / "gate.js").write_text((src / "gate.js").read_text() + "\n// one more line\n")
    with pytest.raises(BundleError, match=r"src/gate\.js changed since .* was built: run `make bundle`"):
        build_assets(src, DIST)
    (src / "extra.js").write_text("export const x = 1;\n")
    (src / "gate.js").write_bytes((SRC / "gate.js").read_bytes())
    with pytest.raises(BundleError, match=r"src/extra\.js is new since"):
        build_assets(src, DIST)


def test_a_bundle_edited_by_hand_is_refused_by_name(tmp_path: Path) -> None:
    dist = shutil.copytree(DIST, tmp_path / "dist")
    (dist / "consent.js").write_text((dist / "consent.js").read_text().replace("consent:change", "consent:chang3"))
    with pytest.raises(BundleError, match=r"dist/consent\.js is not the file esbuild wrote"):
        build_assets(SRC, dist)
    (dist / "SOURCES.json").write_text("{not json")
    with pytest.raises(BundleError, match=r"SOURCES\.json: missing or not a bundle manifest"):
        build_assets(SRC, dist)


def write_modules(src: Path, modules: dict[str, str]) -> None:
    src.mkdir()
    (src / "consent.css").write_text("p { color: red }\n")
    (src / "boot.js").write_text("globalThis.booted = true;\n")
    for name, text in modules.items():
        (src / name).write_text(text)


def test_two_modules_may_define_the_same_name_and_each_keeps_its_own(tmp_path: Path) -> None:
    """The old concatenating bundler let a function of one module silently replace a
    same-named one of another; esbuild keeps every module its own scope."""
    write_modules(tmp_path / "src", {
        "a.js": "function label() { return 'a'; }\nexport const fromA = () => label();\n",
        "b.js": "function label() { return 'b'; }\nexport const fromB = () => label();\n",
        "main.js": 'import { fromA } from "./a.js";\nimport { fromB } from "./b.js";\n'
                   "console.log(fromA() + fromB());\n",
    })
    bundle(tmp_path / "src", tmp_path / "out")
    node = shutil.which("node")
    assert node, "Node.js runs esbuild, so it is here"
    ran = subprocess.run([node, str(tmp_path / "out" / "consent.js")], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == "ab"
    read_dist(tmp_path / "src", tmp_path / "out")  # and its manifest matches


def test_an_import_of_a_name_a_module_does_not_export_is_a_build_error(tmp_path: Path) -> None:
    write_modules(tmp_path / "src", {
        "a.js": "export function present() {}\n",
        "main.js": 'import { absent } from "./a.js";\nabsent();\n',
    })
    with pytest.raises(BundleError, match=r"esbuild refused .*main\.js:[\s\S]*absent"):
        bundle(tmp_path / "src", tmp_path / "out")
    assert not (tmp_path / "out" / "consent.js").exists()
