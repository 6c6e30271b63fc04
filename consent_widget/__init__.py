"""The consent widget: browser code (banner, dialog, script gating) and its site glue."""

from pathlib import Path

#: The widget's own texts, one catalogue per language (``<lang>.json``).
LOCALES = Path(__file__).parent / "locales"
