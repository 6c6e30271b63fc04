"""The consent widget: browser code (banner, dialog, script gating) and its site glue."""
