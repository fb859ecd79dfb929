"""Which domain supplies which job body: the one list app start-up and the worker share.

The jobs package runs job bodies without importing the domains that own them (no
jobs -> activity dependency); this composition-root module hands them over.
"""

from __future__ import annotations

from taskhub.activity.service import record_activity
from taskhub.jobs.registry import (
    SEARCH_EMBED,
    SEARCH_REINDEX,
    TASK_ACTIVITY,
    TASK_REMINDER,
    JobRegistry,
)
from taskhub.search.semantic import embed_job, reindex_job
from taskhub.tasks.reminders import fire_reminder
from taskhub.transfer.service import IMPORT_JOB, run_import_job


def job_registry() -> JobRegistry:
    """A fresh registry of every job this application runs."""
    return JobRegistry(
        {
            TASK_ACTIVITY: record_activity,
            TASK_REMINDER: fire_reminder,
            IMPORT_JOB: run_import_job,
            SEARCH_EMBED: embed_job,
            SEARCH_REINDEX: reindex_job,
        }
    )
