"""CSV formula injection: exported cells are inert and read back exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskhub.transfer.cells import escape_cell, export_row, unescape_cell


@pytest.mark.parametrize(
    ("value", "exported"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("'=1", "''=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("'quoted", "'quoted"),
        ("", ""),
    ],
)
def test_escape(value: str, exported: str) -> None:
    assert escape_cell(value) == exported
    assert unescape_cell(exported) == value


@given(st.text())
def test_escaped_cells_never_start_a_formula(value: str) -> None:
    assert not escape_cell(value).startswith(("=", "+", "-", "@", "\t", "\r"))


@given(st.text())
def test_escape_round_trips(value: str) -> None:
    assert unescape_cell(escape_cell(value)) == value


def test_export_row_formats_every_type() -> None:
    assert export_row(["=x", None, True, False, 3, "ok"]) == ["'=x", "", "true", "false", "3", "ok"]
