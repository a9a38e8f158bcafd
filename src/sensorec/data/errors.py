"""Errors raised by the data layer. Each names the file, line or id at fault."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Base class of data errors."""


class DataFormatError(DataError):
    """A data file is malformed. ``line`` is 1-based (as an editor shows it)."""

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class UnknownIdError(DataError, KeyError):
    """Raw ids that a vocabulary does not hold."""

    def __init__(self, kind: str, ids: list[object]) -> None:
        self.kind = kind
        self.ids = ids
        shown = ", ".join(repr(i) for i in ids[:10])
        more = f" (and {len(ids) - 10} more)" if len(ids) > 10 else ""
        super().__init__(f"unknown {kind} id(s): {shown}{more}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DatasetNotFoundError(DataError):
    """Dataset files are absent and could not be downloaded."""
