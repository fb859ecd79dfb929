"""Dedupe keys: stable over re-runs, blind to cosmetic differences, aware of position."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from taskhub.transfer.dedupe import DedupeKeys
from taskhub.transfer.records import TaskRow

ROW = TaskRow(line=2, key="", title="A")


def key(row: TaskRow, kind: str = "task", parent: TaskRow | None = None) -> str:
    return DedupeKeys().keyed(kind, row, parent).key


def test_cosmetic_differences_do_not_change_the_key() -> None:
    a = replace(ROW, title="Caf\u00e9  time ", labels=("Home", "x"))
    b = replace(ROW, title=" Cafe\u0301 time", labels=("x", "home"), line=9)
    assert key(a) == key(b)


def test_content_parent_and_kind_change_the_key() -> None:
    base = key(ROW)
    parent = DedupeKeys().keyed("task", replace(ROW, title="P"), None)
    assert key(replace(ROW, priority=1)) != base
    assert key(replace(ROW, project="Home")) != base
    assert key(ROW, kind="todoist-task") != base
    child = DedupeKeys().keyed("task", ROW, parent)
    assert child.key != base
    assert child.parent_line == parent.line


def test_note_keys_depend_on_their_task() -> None:
    keys = DedupeKeys()
    one, two = keys.keyed("task", ROW, None), keys.keyed("task", replace(ROW, title="B"), None)
    assert DedupeKeys().note_key("hi", one) != DedupeKeys().note_key("hi", two)


@given(st.lists(st.sampled_from(["A", "B", "C"]), max_size=30))
def test_keys_are_unique_in_a_file_and_stable_across_runs(titles: list[str]) -> None:
    first, second = DedupeKeys(), DedupeKeys()
    keys = [first.keyed("task", replace(ROW, title=t), None).key for t in titles]
    assert keys == [second.keyed("task", replace(ROW, title=t), None).key for t in titles]
    assert len(set(keys)) == len(keys)
