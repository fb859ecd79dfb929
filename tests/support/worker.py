"""`python -m tests.support.worker`: the production `run_worker` plus the test-only jobs."""

from __future__ import annotations

from taskhub.jobs.commands import run_worker
from taskhub.settings import load_settings
from tests.support import jobs

if __name__ == "__main__":
    run_worker(load_settings(), jobs.registry_with_test_jobs(), concurrency=1, loglevel="info")
