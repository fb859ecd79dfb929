"""Dedupe keys: stable over re-runs, blind to cosmetic differences, aware of position."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from taskhub.transfer.dedupe import DedupeKeys


def test_cosmetic_differences_do_not_change_the_key() -> None:
    a = DedupeKeys().key("task", title="Caf\u00e9  time ", labels=("Home", "x"))
    b = DedupeKeys().key("task", title=" Cafe\u0301 time", labels=("x", "home"))
    assert a == b


def test_content_parent_and_kind_change_the_key() -> None:
    base = DedupeKeys().key("task", title="A")
    assert DedupeKeys().key("task", title="A", priority=1) != base
    assert DedupeKeys().key("task", title="A", parent_key="p") != base
    assert DedupeKeys().key("note", title="A") != base
    assert DedupeKeys().key("task", title="A", project="Home") != base


@given(st.lists(st.sampled_from(["A", "B", "C"]), max_size=30))
def test_keys_are_unique_in_a_file_and_stable_across_runs(titles: list[str]) -> None:
    first = DedupeKeys()
    second = DedupeKeys()
    keys = [first.key("task", title=t) for t in titles]
    assert keys == [second.key("task", title=t) for t in titles]
    assert len(set(keys)) == len(keys)
