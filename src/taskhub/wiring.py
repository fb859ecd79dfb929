"""Which domain supplies which job body: the one list app start-up and the worker share.

The jobs package runs job bodies without importing the domains that own them (no
jobs -> activity dependency); this composition-root module hands them over.
"""

from __future__ import annotations

from taskhub.activity.service import record_activity
from taskhub.jobs.registry import TASK_ACTIVITY, JobRegistry
from taskhub.transfer.service import IMPORT_JOB, run_import_job


def job_registry() -> JobRegistry:
    """A fresh registry of every job this application runs."""
    return JobRegistry(
        {TASK_ACTIVITY: record_activity, IMPORT_JOB: run_import_job},
        # The activity entry only writes this database: many per transaction.
        batchable=frozenset({TASK_ACTIVITY}),
    )
