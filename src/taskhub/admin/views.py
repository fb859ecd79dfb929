"""What the admin shows: users (deactivate / reactivate), projects, tasks, background jobs.

Projects and tasks are read-only here: their writes go through services that keep the
caches and the activity log right, which a generic form would bypass. No view, form or
export lists a password hash, and refresh tokens have no view at all.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqladmin import ModelView, action
from sqladmin.authentication import get_current_user_id
from sqladmin.filters import StaticValuesFilter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from taskhub.auth.deactivation import Deactivations, set_active
from taskhub.auth.models import User
from taskhub.db import Database
from taskhub.jobs import outbox
from taskhub.jobs.models import JobStatus, OutboxMessage
from taskhub.ops.logging import get_logger
from taskhub.projects.models import Project
from taskhub.tasks.models import Task

log = get_logger("taskhub.admin")


def _selected(request: Request) -> list[uuid.UUID]:
    ids = []
    for raw in request.query_params.get("pks", "").split(","):
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    return ids


def _taskhub_state(request: Request) -> Any:
    # request.app is sqladmin's own Starlette app; `mount_admin` hung ours on it.
    return request.app.state.taskhub.state


def _back(request: Request, identity: str) -> Response:
    return RedirectResponse(request.url_for("admin:list", identity=identity), status_code=302)


class _ReadOnly(ModelView):
    # A view is named after its model ("User", plural "Users") unless it says otherwise.
    can_create = False
    can_edit = False
    can_delete = False
    page_size = 50


# One (column, heading) list gives a view its columns and their headings.
_USER_COLUMNS: tuple[tuple[Any, str], ...] = (
    (User.email, "Email"),
    (User.display_name, "Name"),
    (User.is_superuser, "Superuser"),
    (User.is_active, "Active"),
    (User.created_at, "Created"),
)


class UserAdmin(_ReadOnly, model=User):
    icon = "fa-solid fa-user"
    column_list: ClassVar[Any] = [column for column, _ in _USER_COLUMNS]
    column_labels: ClassVar[Any] = dict(_USER_COLUMNS)
    column_details_list: ClassVar[Any] = [User.id, *column_list]
    column_export_list: ClassVar[Any] = [User.id, *column_list]
    column_searchable_list: ClassVar[Any] = [User.email]
    column_sortable_list: ClassVar[Any] = [User.email, User.created_at]
    column_default_sort: ClassVar[Any] = (User.created_at, True)

    @action(
        name="deactivate",
        label="Deactivate",
        confirmation_message="Sign these users out everywhere and refuse their sign-ins?",
    )
    async def deactivate(self, request: Request) -> Response:
        await self._set_active(request, active=False)
        return _back(request, self.identity)

    @action(name="reactivate", label="Reactivate")
    async def reactivate(self, request: Request) -> Response:
        await self._set_active(request, active=True)
        return _back(request, self.identity)

    async def _set_active(self, request: Request, *, active: bool) -> None:
        admin_id = get_current_user_id(request)
        state = _taskhub_state(request)
        database: Database = state.db
        deactivations: Deactivations = state.deactivations
        for user_id in _selected(request):
            if not active and str(user_id) == admin_id:
                log.warning("admin_refused_self_deactivation", admin_id=admin_id)
                continue
            async with database.writer() as session:
                found = await set_active(session, user_id, active)
                await session.commit()
            if not found:
                continue
            await deactivations.announce(user_id, active)
            log.info(
                "admin_change",
                admin_id=admin_id,
                action="reactivate" if active else "deactivate",
                user_id=str(user_id),
            )


class ProjectAdmin(_ReadOnly, model=Project):
    icon = "fa-solid fa-folder"
    column_list: ClassVar[Any] = [Project.name, Project.created_at, Project.updated_at]
    column_details_list: ClassVar[Any] = [Project.id, Project.name, Project.description]
    column_searchable_list: ClassVar[Any] = [Project.name]
    column_default_sort: ClassVar[Any] = (Project.created_at, True)


class TaskAdmin(_ReadOnly, model=Task):
    icon = "fa-solid fa-list-check"
    column_list: ClassVar[Any] = [
        Task.title,
        Task.done,
        Task.priority,
        Task.due_at,
        Task.owner_id,
        Task.project_id,
        Task.created_at,
    ]
    column_searchable_list: ClassVar[Any] = [Task.title]
    column_default_sort: ClassVar[Any] = (Task.created_at, True)


_JOB_COLUMNS: tuple[tuple[Any, str], ...] = (
    (OutboxMessage.job, "Job"),
    (OutboxMessage.status, "Status"),
    (OutboxMessage.attempts, "Attempts"),
    (OutboxMessage.created_at, "Created"),
    (OutboxMessage.finished_at, "Finished"),
    (OutboxMessage.last_error, "Last error"),
)


class JobAdmin(_ReadOnly, model=OutboxMessage):
    name = "Background job"
    name_plural = "Background jobs"
    icon = "fa-solid fa-gears"
    column_list: ClassVar[Any] = [column for column, _ in _JOB_COLUMNS]
    column_labels: ClassVar[Any] = dict(_JOB_COLUMNS)
    column_filters: ClassVar[Any] = [
        StaticValuesFilter(OutboxMessage.status, [(s.value, s.value) for s in JobStatus])
    ]
    column_default_sort: ClassVar[Any] = (OutboxMessage.created_at, True)

    @action(
        name="retry",
        label="Retry dead jobs",
        confirmation_message="Run the selected dead jobs again?",
    )
    async def retry(self, request: Request) -> Response:
        ids = _selected(request)
        state = _taskhub_state(request)
        database: Database = state.db
        if ids:
            async with database.writer() as session:
                done = [str(i) for i in await outbox.retry_dead(session, ids)]
                await session.commit()
            state.jobs.loop.wake()
            log.info(
                "admin_change",
                admin_id=get_current_user_id(request),
                action="retry_jobs",
                job_ids=done,
            )
        return _back(request, self.identity)


VIEWS: tuple[type[_ReadOnly], ...] = (UserAdmin, ProjectAdmin, TaskAdmin, JobAdmin)
