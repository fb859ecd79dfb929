"""CSV formula injection (OWASP): a cell a spreadsheet would run is exported inert.

A text cell starting with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with
`'`, which spreadsheets show as text. A cell that already starts with `'` followed by
such a cell is prefixed too, so `unescape_cell` restores every value exactly and an
exported file imports back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _needs_escape(value: str) -> bool:
    while value.startswith("'"):
        value = value[1:]
    return value.startswith(TRIGGERS)


def escape_cell(value: str) -> str:
    """`value` safe to put in an exported CSV cell."""
    return "'" + value if _needs_escape(value) else value


def unescape_cell(value: str) -> str:
    """The inverse of `escape_cell`, for reading our own exports back."""
    return value[1:] if value.startswith("'") and _needs_escape(value[1:]) else value


def export_row(values: Iterable[object]) -> list[str]:
    """A row for csv.writer: text escaped, None empty, numbers and booleans as text."""
    out: list[str] = []
    for value in values:
        if value is None:
            out.append("")
        elif isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, str):
            out.append(escape_cell(value))
        else:
            out.append(str(value))
    return out
