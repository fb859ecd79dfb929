"""Which domain supplies which job body: the one list app start-up and the worker share.

The jobs package runs job bodies without importing the domains that own them (no
jobs -> activity dependency); this composition-root module hands them over.
"""

from __future__ import annotations

from taskhub.activity.service import record_activity
from taskhub.events.broker import Broker
from taskhub.events.envelope import Consumer, consuming
from taskhub.events.publish import Publisher
from taskhub.jobs.registry import (
    SEARCH_EMBED,
    SEARCH_REINDEX,
    TASK_ACTIVITY,
    TASK_REMINDER,
    JobRegistry,
)
from taskhub.search.semantic import embed_job, reindex_job
from taskhub.settings import Settings
from taskhub.tasks.reminders import fire_reminder
from taskhub.transfer.service import IMPORT_JOB, run_import_job
from taskhub.webhooks.delivery import BoundedRunner
from taskhub.webhooks.jobs import DeliverWebhook
from taskhub.webhooks.service import WEBHOOK_DELIVER, fan_out


def job_registry(settings: Settings | None = None, events: Broker | None = None) -> JobRegistry:
    """A fresh registry of every job this application runs.

    Each `task.activity` message feeds the activity log, then the webhook fan-out, then
    (given a broker: the API's, or Redis in a worker) the live event streams.
    """
    settings = settings or Settings()
    consumers: list[Consumer] = [fan_out]
    if events is not None:
        consumers.append(Publisher(events))
    deliver = DeliverWebhook(
        allow_private=settings.webhooks_allow_private,
        retry_scale=settings.webhooks_retry_scale,
        runner=BoundedRunner(settings.webhooks_concurrency),
    )
    return JobRegistry(
        {
            TASK_ACTIVITY: consuming(record_activity, consumers),
            TASK_REMINDER: fire_reminder,
            IMPORT_JOB: run_import_job,
            WEBHOOK_DELIVER: deliver,
            SEARCH_EMBED: embed_job,
            SEARCH_REINDEX: reindex_job,
        },
        # The activity entry (and its fan-out) writes only this database: many per
        # transaction. Live events published by a batch that then fails and reruns one by
        # one are published again: at least once, like webhooks.
        batchable=frozenset({TASK_ACTIVITY}),
    )
