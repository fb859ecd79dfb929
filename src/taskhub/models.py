"""Every ORM model, imported in one place so metadata (and Alembic) sees all tables."""

from taskhub.activity.models import TaskActivity
from taskhub.auth.models import PersonalToken, RefreshToken, User
from taskhub.comments.models import Comment
from taskhub.idempotency.models import IdempotencyKey
from taskhub.jobs.models import JobStatus, OutboxMessage
from taskhub.projects.models import Project, ProjectMember, Role
from taskhub.tasks.models import Task, TaskReminder
from taskhub.transfer.models import Import, ImportKey, ImportRow
from taskhub.web.models import WebSession

__all__ = [
    "Comment",
    "IdempotencyKey",
    "Import",
    "ImportKey",
    "ImportRow",
    "JobStatus",
    "OutboxMessage",
    "PersonalToken",
    "Project",
    "ProjectMember",
    "RefreshToken",
    "Role",
    "Task",
    "TaskActivity",
    "TaskReminder",
    "User",
    "WebSession",
]
