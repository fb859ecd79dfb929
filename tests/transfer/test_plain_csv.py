"""taskhub's plain CSV reader: typed rows, row-level errors with line numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskhub.transfer.cells import export_row
from taskhub.transfer.csvread import text_lines
from taskhub.transfer.plain_csv import read_plain_csv
from taskhub.transfer.records import Row, RowError, TaskRow


def read(text: str) -> list[Row]:
    return list(read_plain_csv(io.StringIO(text, newline="")))


def tasks(rows: list[Row]) -> list[TaskRow]:
    return [r for r in rows if isinstance(r, TaskRow)]


def errors(rows: list[Row]) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in rows if isinstance(r, RowError)]


def test_full_row_is_typed() -> None:
    [row] = read(
        "title,description,done,priority,due_at,labels,project\r\n"
        "Pay rent,Before the 5th,yes,4,2026-05-01T09:00:00+02:00,home; money ;home,Flat\r\n"
    )
    assert isinstance(row, TaskRow)
    assert row.line == 2
    assert row.title == "Pay rent"
    assert row.description == "Before the 5th"
    assert row.done is True
    assert row.priority == 4
    assert row.due_at == datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
    assert row.labels == ("home", "money")
    assert row.project == "Flat"
    assert row.parent_line is None


def test_only_title_is_required_and_columns_may_come_in_any_order() -> None:
    [a, b] = tasks(read("PRIORITY,Title\n,Just a title\n2,Second\n"))
    assert (a.title, a.priority, a.done, a.due_at, a.labels, a.project) == (
        "Just a title",
        0,
        False,
        None,
        (),
        None,
    )
    assert (b.title, b.priority) == ("Second", 2)


def test_bad_rows_are_reported_with_their_line_and_the_rest_imported() -> None:
    rows = read(
        "title,done,priority,due_at\n"
        "good one,,,\n"
        ",,,\n"  # blank record: skipped
        " ,no,1,\n"  # blank title
        "bad priority,,7,\n"
        "bad done,maybe,,\n"
        "naive date,,,2026-05-01T09:00:00\n"
        "garbage date,,,next tuesday\n"
        '"multi\nline title",,,\n'
        "after multiline,,,\n"
    )
    assert [t.title for t in tasks(rows)] == ["good one", "multi\nline title", "after multiline"]
    assert [t.line for t in tasks(rows)] == [2, 9, 11]
    assert [line for line, _ in errors(rows)] == [4, 5, 6, 7, 8]
    reasons = dict(errors(rows))
    assert "title is empty" in reasons[4]
    assert "priority" in reasons[5]
    assert "done" in reasons[6]
    assert "offset" in reasons[7]
    assert "RFC 3339" in reasons[8]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("x" * 201, "title is longer"),
        ("ok," + "d" * 20_001, "description is longer"),
        ("ok,," + ";".join(f"l{i}" for i in range(21)), "at most 20 labels"),
        ("ok,," + "l" * 51, "at most 50 characters"),
        ("ok,,,extra", "fields but"),
        ("nul\x00,,", "NUL"),
        ("bad \ufffd byte,,", "UTF-8"),
    ],
)
def test_limits_are_row_errors(row: str, reason: str) -> None:
    rows = read(f"title,description,labels\n{row}\nnext,,\n")
    assert errors(rows)[0][0] == 2
    assert reason in errors(rows)[0][1]
    assert [t.title for t in tasks(rows)] == ["next"]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", "empty"),
        ("tittle,description", "unknown columns: tittle"),
        ("description,done", "title column is required"),
        ("title,title", "twice"),
    ],
)
def test_header_problems_stop_the_file_with_one_error(header: str, reason: str) -> None:
    rows = read(f"{header}\nsomething,else\n" if header else "")
    assert len(rows) == 1
    [(line, message)] = errors(rows)
    assert line == 1
    assert reason in message


def test_parent_refers_to_an_earlier_row_by_ref() -> None:
    rows = read(
        "title,ref,parent,project\n"
        "Move house,move,,Home\n"
        "Book van,,move,Home\n"
        "Orphan,,nope,Home\n"
        "Elsewhere,,move,Work\n"
        "Dup ref,move,,Home\n"
    )
    move, van = tasks(rows)
    assert van.parent_line == move.line == 2
    assert [line for line, _ in errors(rows)] == [4, 5, 6]
    assert "not an earlier imported row" in dict(errors(rows))[4]
    assert "another project" in dict(errors(rows))[5]
    assert "used by an earlier row" in dict(errors(rows))[6]


def test_utf8_bom_and_bad_bytes_from_a_binary_upload() -> None:
    data = "\ufefftitle,labels\nCafé,ok\n".encode() + b"bad \xff byte,x\nlast,y\n"
    rows = list(read_plain_csv(text_lines(io.BytesIO(data))))
    assert [t.title for t in tasks(rows)] == ["Café", "last"]
    assert errors(rows) == [(3, "not valid UTF-8")]


def test_huge_field_is_a_row_error_not_a_crash() -> None:
    rows = read('title,description\n"' + "x" * 200_000 + '",\nafter,\n')
    assert errors(rows)[0][0] == 2
    assert [t.title for t in tasks(rows)] == ["after"]


def test_exported_formula_cells_read_back_unchanged() -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["title", "description", "labels"])
    writer.writerow(export_row(['=HYPERLINK("x")', "+1", "@home;-x"]))
    assert "'=HYPERLINK" in out.getvalue()
    [row] = read(out.getvalue())
    assert isinstance(row, TaskRow)
    assert (row.title, row.description, row.labels) == ('=HYPERLINK("x")', "+1", ("@home", "-x"))


def test_the_same_file_gives_the_same_keys_and_identical_rows_differ() -> None:
    text = "title,project\nWater plants,Home\nWater plants,Home\nCall mum,\n"
    first, second = tasks(read(text)), tasks(read(text))
    assert [r.key for r in first] == [r.key for r in second]
    assert len({r.key for r in first}) == 3


def test_keys_survive_unrelated_rows_being_added() -> None:
    before = {r.title: r.key for r in tasks(read("title\nA\nB\n"))}
    after = {r.title: r.key for r in tasks(read("title\nNew first\nA\nB\n"))}
    assert after["A"] == before["A"]
    assert after["B"] == before["B"]


TITLES = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\ufffd"),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() != "")


@settings(max_examples=100)
@given(st.lists(st.tuples(TITLES, st.integers(0, 4), st.booleans()), max_size=15))
def test_written_rows_read_back(rows: list[tuple[str, int, bool]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["title", "priority", "done"])
    for row in rows:
        writer.writerow(export_row(row))
    read_back = tasks(read(out.getvalue()))
    assert [(r.title, r.priority, r.done) for r in read_back] == rows


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_any_input_yields_rows_or_errors_never_an_exception(text: str) -> None:
    for row in read("title,description,done,priority,due_at,labels,project,ref,parent\n" + text):
        assert isinstance(row, TaskRow | RowError)
