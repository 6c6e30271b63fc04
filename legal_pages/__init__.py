"""The policy engine: versioned legal pages from Markdown, independent of any site generator.

``model`` reads and validates policy sources, ``site`` plans the generated pages as
of a build date, ``redline``, ``feed`` and ``manifest`` produce their outputs, and
``mkdocs_plugin`` is the thin adapter that adds them to a MkDocs build.
"""
