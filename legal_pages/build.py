"""Run a strict MkDocs build with the build date, preview and site URL as inputs, handed to
MkDocs and the plugins as their config (the environment is for whoever runs the build)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import BuildInputError, LegalPagesError
from .model import parse_build_date


def build_site(
    *,
    config_file: Path,
    site_dir: Path | None = None,
    docs_dir: Path | None = None,
    build_date: str | None = None,
    preview: bool = False,
    site_url: str | None = None,
    plugin_options: dict[str, dict[str, Any]] | None = None,
    cache: bool = True,
) -> None:
    """Build the site; raises LegalPagesError with the build's own message on failure.
    ``plugin_options`` sets options of the configured plugins by name (``{"consent":
    {"log_dir": ...}}``), as mkdocs.yml would. ``cache=False``: make every page and redline
    again, without reading or writing the build cache (``--no-cache``)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, ConfigurationError, PluginError

    if not config_file.is_file():
        raise BuildInputError(f"{config_file}: no such MkDocs config file")
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    options = {name: dict(values) for name, values in (plugin_options or {}).items()}
    if build_date is not None:
        options.setdefault("legal-pages", {})["build_date"] = parse_build_date(build_date).isoformat()
    if preview:
        options.setdefault("legal-pages", {})["preview"] = True
    if not cache:
        options.setdefault("legal-pages", {})["cache"] = False
    overrides: dict[str, Any] = {"strict": True}
    if site_url is not None:
        overrides["site_url"] = site_url
    if site_dir is not None:
        overrides["site_dir"] = str(site_dir.resolve())
    if docs_dir is not None:
        overrides["docs_dir"] = str(docs_dir.resolve())
    try:
        config = load_config(str(config_file), **overrides)
        for name, values in options.items():
            if name not in config.plugins:
                raise BuildInputError(f"{config_file}: no plugin '{name}' to set {sorted(values)} of")
            config.plugins[name].config.update(values)
        build(config)
    except Abort as exc:  # MkDocs has logged the reasons above
        raise LegalPagesError(f"the site did not build ({exc}): see the errors above") from exc
    except (ConfigurationError, PluginError) as exc:
        raise LegalPagesError(f"the site did not build: {exc}") from exc
