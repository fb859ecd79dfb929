"""Which reader a CSV upload needs, decided from its header row."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator

from taskhub.transfer.plain_csv import read_plain_csv
from taskhub.transfer.records import Row
from taskhub.transfer.todoist import is_todoist_header, read_todoist_csv


def read_csv(lines: Iterable[str]) -> Iterator[Row]:
    """Todoist's export when the header starts TYPE,CONTENT; taskhub's plain CSV else."""
    source = iter(lines)
    first = next(source, "")
    header = next(csv.reader([first.lstrip("\ufeff")]), [])
    reader = read_todoist_csv if is_todoist_header(header) else read_plain_csv
    return reader(itertools.chain([first], source))
