"""Jinja2 templates of the generated pages (Markdown with a little HTML)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

_ENV = Environment(
    loader=PackageLoader("legal_pages", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render_template(name: str, **context: Any) -> str:
    """Render one template; values are HTML-escaped unless marked safe."""
    return _ENV.get_template(name).render(**context)
