"""Exceptions of the policy engine; each names the file (and line) it is about."""

from __future__ import annotations

from pathlib import Path


class LegalPagesError(Exception):
    """Base class: something in the policy sources or the build input is wrong."""


class SourceError(LegalPagesError):
    """A policy source file cannot be used; the message says where and why."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: {message}")


class BuildInputError(LegalPagesError):
    """A build setting (such as LEGAL_BUILD_DATE) is malformed."""
