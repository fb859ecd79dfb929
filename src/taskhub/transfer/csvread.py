"""Streaming CSV reading shared by the formats: records with their line numbers.

Reads any iterable of text lines (a file opened with newline="", a decoded upload
stream) one record at a time, so memory stays constant whatever the file size. A
malformed record (a field over the size limit, a NUL byte) becomes a row error and
reading goes on with the next line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from taskhub.transfer.records import RowError

# Larger than any valid field (a description is at most 20,000 characters), small
# enough that one runaway quoted field cannot take the worker's memory.
MAX_FIELD = 64 * 1024
MAX_FIELDS = 64
REPLACEMENT = "\ufffd"


@dataclass(frozen=True, slots=True)
class Record:
    line: int
    fields: list[str]


def text_lines(binary: IO[bytes]) -> io.TextIOWrapper:
    """A binary upload as text lines for the readers: UTF-8 with or without BOM.

    Undecodable bytes become U+FFFD, and the reader reports that row, instead of one
    bad byte ending the whole import.
    """
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")


class _Lines:
    """Counts the physical lines csv.reader pulls, to report where a record starts."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.count += 1
        if self.count == 1:
            line = line.removeprefix("\ufeff")  # a BOM left by a text-mode caller
        if len(line) > MAX_FIELD * 4:
            # csv's field limit does not bound an unquoted line; keep the first part,
            # which still fails on field size or width and is reported as this line.
            return line[: MAX_FIELD * 4]
        return line


def records(lines: Iterable[str]) -> Iterator[Record | RowError]:
    """Every non-blank record (the header first), with the line it starts on."""
    counter = _Lines(lines)
    reader = csv.reader(counter, strict=False)
    while True:
        start = counter.count + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(start, f"malformed CSV: {exc}")
            continue
        if not any(field.strip() for field in fields):
            continue
        if len(fields) > MAX_FIELDS:
            yield RowError(start, f"more than {MAX_FIELDS} columns")
            continue
        if any(len(field) > MAX_FIELD for field in fields):
            yield RowError(start, "a field is too long")
            continue
        if any("\x00" in field for field in fields):
            # Neither database stores NUL in text.
            yield RowError(start, "contains a NUL character")
            continue
        if any(REPLACEMENT in field for field in fields):
            yield RowError(start, "not valid UTF-8")
            continue
        yield Record(start, fields)


def split_header(lines: Iterable[str]) -> tuple[Record | RowError, Iterator[Record | RowError]]:
    """The header record (or why there is none) and the records after it."""
    rows = records(lines)
    header = next(rows, None)
    return (header if header is not None else RowError(1, "the file is empty")), rows
