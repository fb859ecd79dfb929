"""Todoist CSV export: indentation → subtasks, inverted priorities, sections, notes."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from taskhub.transfer.formats import read_csv
from taskhub.transfer.records import NoteRow, Row, RowError, TaskRow
from taskhub.transfer.todoist import read_todoist_csv

HEADER = (
    "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,"
    "DURATION,DURATION_UNIT\n"
)


def read(body: str) -> list[Row]:
    return list(read_todoist_csv(io.StringIO(HEADER + body, newline="")))


def by_title(rows: list[Row]) -> dict[str, TaskRow]:
    return {r.title: r for r in rows if isinstance(r, TaskRow)}


EXPORT = (
    "task,Plan trip @travel,Where to?,4,1,Ann (1),,2026-07-01,en,Europe/Berlin,,\n"  # 2
    "task,Book flights,,3,2,Ann (1),,,en,,,\n"  # 3
    "task,Compare prices,,2,3,Ann (1),,,en,,,\n"  # 4
    "task,Book hotel,,1,2,Ann (1),,2026-06-20 18:30,en,Europe/Berlin,,\n"  # 5
    "note,Check the reviews first,,,,Ann (1),,,,,,\n"  # 6
    ",,,,,,,,,,,\n"  # 7 spacer
    "section,Packing,,,,,,,,,,\n"  # 8
    "task,Pack bags @home @travel,,1,1,Ann (1),,every friday,en,,,\n"  # 9
)


def test_indent_becomes_subtasks() -> None:
    tasks = by_title(read(EXPORT))
    assert tasks["Plan trip"].parent_line is None
    assert tasks["Book flights"].parent_line == 2
    assert tasks["Compare prices"].parent_line == 3
    assert tasks["Book hotel"].parent_line == 2  # back to indent 2: sibling of flights
    assert tasks["Pack bags"].parent_line is None


def test_todoist_priorities_are_inverted_into_ours() -> None:
    tasks = by_title(read(EXPORT))
    # Todoist p1 (PRIORITY 4 in the export) is urgent; p4 (PRIORITY 1) is "no priority".
    assert tasks["Plan trip"].priority == 4
    assert tasks["Book flights"].priority == 3
    assert tasks["Compare prices"].priority == 2
    assert tasks["Book hotel"].priority == 0


def test_inline_labels_and_sections_become_labels() -> None:
    tasks = by_title(read(EXPORT))
    assert tasks["Plan trip"].labels == ("travel",)
    assert tasks["Pack bags"].labels == ("home", "travel", "Packing")
    assert tasks["Book flights"].labels == ()


def test_dates_in_the_row_timezone_and_unreadable_ones_warn() -> None:
    tasks = by_title(read(EXPORT))
    assert tasks["Plan trip"].due_at == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert tasks["Book hotel"].due_at == datetime(2026, 6, 20, 16, 30, tzinfo=UTC)
    assert tasks["Book flights"].due_at is None
    assert tasks["Book flights"].warnings == ()
    assert tasks["Pack bags"].due_at is None
    assert "every friday" in tasks["Pack bags"].warnings[0]


def test_notes_attach_to_the_task_above() -> None:
    [note] = [r for r in read(EXPORT) if isinstance(r, NoteRow)]
    assert note.line == 6
    assert note.task_line == 5
    assert note.body == "Check the reviews first"


def test_a_failed_parent_fails_its_subtasks_but_not_the_rest() -> None:
    rows = read(
        "task,,,4,1,,,,,,,\n"  # 2: empty title
        "task,Child of broken,,1,2,,,,,,,\n"  # 3
        "note,On broken child,,,,,,,,,,\n"  # 4
        "task,Fine,,9,1,,,,,,,\n"  # 5: bad priority
        "task,Also fine,,1,1,,,,,,,\n"  # 6
        "task,Deep,,1,9,,,,,,,\n"  # 7: bad indent
        "wat,Something,,1,1,,,,,,,\n"  # 8
    )
    errors = {r.line: r.reason for r in rows if isinstance(r, RowError)}
    assert set(errors) == {2, 3, 4, 5, 7, 8}
    assert "line 2" in errors[3]
    assert "line 3" in errors[4]
    assert "PRIORITY" in errors[5]
    assert "INDENT" in errors[7]
    assert "unknown TYPE" in errors[8]
    assert list(by_title(rows)) == ["Also fine"]


def test_note_before_any_task_is_an_error() -> None:
    [row] = read("note,Floating,,,,,,,,,,\n")
    assert isinstance(row, RowError)
    assert row.line == 2


def test_indent_deeper_than_the_chain_nests_under_the_last_task() -> None:
    rows = read("task,Top,,1,1,,,,,,,\ntask,Jumped,,1,3,,,,,,,\n")
    assert by_title(rows)["Jumped"].parent_line == 2


def test_reimport_gives_the_same_keys() -> None:
    first = [r.key for r in read(EXPORT) if not isinstance(r, RowError)]
    assert first == [r.key for r in read(EXPORT) if not isinstance(r, RowError)]
    assert len(set(first)) == len(first)


@pytest.mark.parametrize(
    "header",
    [
        "TYPE,CONTENT,PRIORITY,INDENT\n",
        '"TYPE","CONTENT","PRIORITY","INDENT"\n',
        "\ufefftype,content,priority,indent\n",
    ],
)
def test_read_csv_picks_the_todoist_reader_from_the_header(header: str) -> None:
    [row] = list(read_csv(io.StringIO(header + "task,Hello,4,1\n", newline="")))
    assert isinstance(row, TaskRow)
    assert (row.title, row.priority) == ("Hello", 4)


def test_read_csv_picks_the_plain_reader_otherwise() -> None:
    [row] = list(read_csv(io.StringIO("title,priority\nHello,4\n", newline="")))
    assert isinstance(row, TaskRow)
    assert (row.title, row.priority) == ("Hello", 4)


def test_missing_todoist_columns_is_one_header_error() -> None:
    rows = list(read_todoist_csv(io.StringIO("TYPE,CONTENT\ntask,x\n", newline="")))
    assert len(rows) == 1
    assert isinstance(rows[0], RowError)
    assert "PRIORITY" in rows[0].reason
