"""Where the suite's shared servers are and which database backend this pass tests.

Read once from the environment so that tests, bench, faults and fuzz agree.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

BACKEND = os.environ.get("TASKHUB_TEST_DATABASE", "sqlite")
PG_ADMIN_DSN = os.environ.get(
    "TASKHUB_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TASKHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str) -> NoReturn:
    """A server the test needs is absent: a failure in CI, a loud skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{what}: failing, CI requires it")
    pytest.skip(f"!!!!! {what}: SKIPPING (outside CI only) !!!!!")


def clean_environ(**env: str) -> dict[str, str]:
    """This process's environment without its TASKHUB_* settings, plus `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TASKHUB_")}
    return {**base, **env}


__all__ = ["BACKEND", "IN_CI", "PG_ADMIN_DSN", "REDIS_URL", "clean_environ", "missing"]
