"""The pages: accounts, the task list, a task, projects and their members.

Every rule is the services' (auth, tasks, projects): a page translates a form into the
same call the API makes, and the answer into HTML. Every change is a plain form POST
answered with a redirect (post/redirect/get); app.js only shortens some of them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from taskhub.auth import service as auth_service
from taskhub.auth.schemas import UserCreate
from taskhub.errors import Conflict, Invalid, PreconditionFailed, RateLimited, Unauthorized
from taskhub.projects import service as projects
from taskhub.projects.access import Role
from taskhub.projects.schemas import ProjectCreate
from taskhub.routing import parse_id
from taskhub.search import service as search
from taskhub.search.text import Scope
from taskhub.tasks import service as tasks
from taskhub.tasks.cache import TaskCache
from taskhub.tasks.schemas import TaskCreate, TaskUpdate
from taskhub.web import sessions
from taskhub.web.context import (
    FORM_COOKIE,
    SESSION_COOKIE,
    PageRoute,
    Viewer,
    checked_form,
    form_token,
    reading,
    redirect,
    render,
    set_cookie,
    viewer,
    writing,
)
from taskhub.web.forms import (
    FIRST,
    Again,
    Errors,
    FormInvalid,
    due_of,
    invalid_errors,
    labels_of,
    local_input,
    optional_id,
    priority_of,
    validate,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 100
SEARCH_LIMIT = 50  # the most /api/v1/search answers
FORM_COOKIE_SECONDS = 2 * 3600
SHOW = {"open": False, "done": True, "all": None}
ROLES = [role.value for role in Role]
# Form field names where they differ from the schema's.
TASK_FIELDS = {"due_at": "due", "project_id": "project", "parent_id": "parent"}
TextQuery = Annotated[str, Query(max_length=200)]


def _safe_next(value: str | None, default: str) -> str:
    """Only a path on this site: never `//host` or `/\\host`, which browsers treat as hosts."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default


def _task_cache(request: Request) -> TaskCache:
    cache: TaskCache = request.app.state.task_cache
    return cache


async def _after_task_write(request: Request, write: tasks.TaskWrite) -> None:
    """After the commit: the API's caches must not serve the old version."""
    cache = _task_cache(request)
    changed = [write.row["id"]] if write.row is not None else []
    await cache.forget([*changed, *write.forget])
    await cache.lists_changed(write.audience)


def _nest(
    rows: Sequence[Mapping[Any, Any]],
) -> tuple[list[Mapping[Any, Any]], dict[Any, list[Mapping[Any, Any]]]]:
    """Top-level rows and each row's subtasks, for rows on this page."""
    ids = {row["id"] for row in rows}
    children: dict[Any, list[Mapping[Any, Any]]] = defaultdict(list)
    top: list[Mapping[Any, Any]] = []
    for row in rows:
        if row["parent_id"] is not None and row["parent_id"] in ids:
            children[row["parent_id"]].append(row)
        else:
            top.append(row)
    return top, children


# --- accounts --------------------------------------------------------------------------------


def _account_form(
    request: Request, name: str, values: Mapping[str, str], errors: Errors, status_code: int = 200
) -> Response:
    token = form_token(request)
    response = render(
        request,
        name,
        {"values": values, "errors": errors, "csrf": token},
        status_code,
    )
    set_cookie(response, request, FORM_COOKIE, token, FORM_COOKIE_SECONDS)
    return response


async def _signed_in(request: Request, user_id: uuid.UUID, to: str) -> Response:
    async with writing(request) as session:
        cookie = await sessions.open_session(session, user_id)
        await session.commit()
    response = redirect(to)
    set_cookie(response, request, SESSION_COOKIE, cookie, int(sessions.SESSION_TTL.total_seconds()))
    response.delete_cookie(FORM_COOKIE, path="/")
    return response


@router.get("/signup")
async def signup_form(request: Request) -> Response:
    return _account_form(request, "signup.html", {}, {})


@router.post("/signup")
async def signup(request: Request) -> Response:
    form = await checked_form(request, None)
    values = {"email": form.get("email", "")}
    try:
        data = validate(
            UserCreate, {"email": values["email"], "password": form.get("password", "")}
        )
    except FormInvalid as exc:
        return _account_form(request, "signup.html", values, exc.errors, 422)
    try:
        async with writing(request) as session:
            user = await auth_service.create_user(session, request.app.state.hasher, data)
            await session.commit()
    except Conflict:
        errors = {"email": "An account with this email already exists"}
        return _account_form(request, "signup.html", values, errors, 409)
    return await _signed_in(request, user.id, "/")


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    return _account_form(request, "signin.html", {}, {})


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await checked_form(request, None)
    values = {"email": form.get("email", "")}
    state = request.app.state
    address = request.client.host if request.client else "unknown"
    try:
        async with reading(request) as session:
            user = await auth_service.authenticate(
                session,
                state.hasher,
                auth_service.LoginGuard(state.limiter, state.settings),
                email=values["email"],
                password=form.get("password", ""),
                address=address,
            )
    except Unauthorized:
        errors = {"password": "Incorrect email or password"}
        return _account_form(request, "signin.html", values, errors, 401)
    except RateLimited:
        errors = {"password": "Too many failed sign-ins; try again later"}
        return _account_form(request, "signin.html", values, errors, 429)
    return await _signed_in(request, user.id, "/")


@router.post("/signout")
async def signout(request: Request) -> Response:
    me = await viewer(request)
    await checked_form(request, me.csrf)
    async with writing(request) as session:
        await sessions.revoke(session, me.session_id)
        await session.commit()
    response = redirect("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- the task list ---------------------------------------------------------------------------


@router.get("/")
async def task_list(
    request: Request,
    show: Annotated[str, Query(pattern="^(open|done|all)$")] = "open",
    project: TextQuery = "",
    q: TextQuery = "",
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    project_id = parse_id(project, "Project") if project else None
    filters = tasks.TaskFilters(done=SHOW[show], project_id=project_id, order_by="-created_at")
    text = q.strip()
    async with reading(request) as session:
        me = await viewer(request, session)
        if text:
            # The API's /search: hybrid (words and meaning) when embeddings are on.
            found = await search.search(
                session,
                me.user_id,
                search.SearchRequest(
                    q=text,
                    mode="hybrid",
                    limit=SEARCH_LIMIT,
                    scope=Scope(project_id=project_id, done=SHOW[show]),
                ),
                getattr(request.app.state, "vector_ranking", None),
            )
            rows: Sequence[Mapping[Any, Any]] = [row for row, _ in found.hits]
            next_cursor = None
        else:
            page = await tasks.list_tasks(session, me.user_id, filters, PAGE_SIZE, cursor)
            rows, next_cursor = page.rows, page.next_cursor
        mine = await projects.list_projects(session, me.user_id, PAGE_SIZE, None)
    top, children = _nest(rows)
    return render(
        request,
        "tasks.html",
        {
            "me": me,
            "top": top,
            "children": children,
            "projects": mine.items,
            "names": {p.id: p.name for p in mine.items},
            "show": show,
            "project": project,
            "q": q,
            "next_cursor": next_cursor,
            "here": str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        },
    )


# --- tasks -----------------------------------------------------------------------------------


def _task_payload(form: Mapping[str, str]) -> dict[str, Any]:
    return {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "priority": priority_of(form.get("priority", "0")),
        "due_at": due_of(form.get("due", ""), form.get("tz_offset", "")),
        "labels": labels_of(form.get("labels", "")),
    }


def _task_form_values(form: Mapping[str, str]) -> dict[str, str]:
    keep = ("title", "description", "priority", "due", "labels", "project", "parent", "next")
    return {name: form.get(name, "") for name in keep}


@router.get("/tasks/new")
async def new_task_form(
    request: Request, project: TextQuery = "", parent: TextQuery = ""
) -> Response:
    async with reading(request) as session:
        me = await viewer(request, session)
        mine = await projects.list_projects(session, me.user_id, PAGE_SIZE, None)
    values = {"project": project, "parent": parent, "priority": "0"}
    return render(
        request,
        "task_new.html",
        {"me": me, "values": values, "errors": {}, "projects": mine.items},
    )


@router.post("/tasks")
async def create_task(request: Request) -> Response:
    me = await viewer(request)
    form = await checked_form(request, me.csrf)
    payload = _task_payload(form)
    payload["project_id"] = optional_id(form.get("project", ""))
    payload["parent_id"] = optional_id(form.get("parent", ""))
    try:
        data = validate(TaskCreate, payload, TASK_FIELDS)
        async with writing(request) as session:
            write = await tasks.create_task(session, me.user_id, data)
            await session.commit()
    except FormInvalid as exc:
        return await _task_form_again(request, me, form, exc.errors)
    except Invalid as exc:
        return await _task_form_again(request, me, form, invalid_errors(exc, TASK_FIELDS))
    await _after_task_write(request, write)
    return redirect(_safe_next(form.get("next"), "/"))


async def _task_form_again(
    request: Request, me: Viewer, form: Mapping[str, str], errors: Errors
) -> Response:
    async with reading(request) as session:
        mine = await projects.list_projects(session, me.user_id, PAGE_SIZE, None)
    context = {
        "me": me,
        "values": _task_form_values(form),
        "errors": errors,
        "projects": mine.items,
    }
    return render(request, "task_new.html", context, 422)


async def _task_page(
    request: Request,
    me: Viewer | None,
    task_id: uuid.UUID,
    again: Again = FIRST,
) -> Response:
    async with reading(request) as session:
        me = me or await viewer(request, session)
        row = await tasks.get_task_row(session, me.user_id, task_id)
        project = None
        if row["project_id"] is not None:
            project = await projects.get_project(session, row["project_id"], me.user_id)
        subtasks = await tasks.list_subtasks(session, me.user_id, row["id"])
        parent = None
        if row["parent_id"] is not None:
            parent = await tasks.get_task_row(session, me.user_id, row["parent_id"])
    values = again.values
    if values is None:
        values = {
            "title": row["title"],
            "description": row["description"],
            "priority": str(row["priority"]),
            "due": local_input(row["due_at"]),
            "labels": ", ".join(row["labels"]),
            "version": str(row["version"]),
        }
    return render(
        request,
        "task.html",
        {
            "me": me,
            "task": row,
            "project": project,
            "parent": parent,
            "subtasks": subtasks,
            "values": values,
            "errors": again.errors,
            "read_only": project is not None and project.role is Role.viewer,
            "here": f"/tasks/{row['id']}",
        },
        again.status_code,
    )


@router.get("/tasks/{task_id}")
async def task_page(request: Request, task_id: str) -> Response:
    return await _task_page(request, None, parse_id(task_id, "Task"))


@router.post("/tasks/{task_id}")
async def edit_task(request: Request, task_id: str) -> Response:
    me = await viewer(request)
    form = await checked_form(request, me.csrf)
    ident = parse_id(task_id, "Task")
    values = {**_task_form_values(form), "version": form.get("version", "")}
    version = form.get("version", "")
    expected = frozenset({int(version)}) if version.isascii() and version.isdigit() else None
    try:
        data = validate(TaskUpdate, _task_payload(form), TASK_FIELDS)
        async with writing(request) as session:
            write = await tasks.update_task(session, me.user_id, ident, data, expected)
            await session.commit()
    except FormInvalid as exc:
        return await _task_page(request, me, ident, Again(values, exc.errors))
    except Invalid as exc:
        return await _task_page(request, me, ident, Again(values, invalid_errors(exc, TASK_FIELDS)))
    except PreconditionFailed:
        message = "Someone changed this task meanwhile: this is their version, edit it again."
        return await _task_page(request, me, ident, Again(None, {"form": message}, 409))
    await _after_task_write(request, write)
    return redirect(_safe_next(form.get("next"), f"/tasks/{ident}"))


@router.post("/tasks/{task_id}/complete")
async def complete_task(request: Request, task_id: str) -> Response:
    me = await viewer(request)
    form = await checked_form(request, me.csrf)
    done = form.get("done", "true") == "true"
    async with writing(request) as session:
        write = await tasks.update_task(
            session, me.user_id, parse_id(task_id, "Task"), TaskUpdate(done=done), None
        )
        await session.commit()
    await _after_task_write(request, write)
    if request.headers.get("x-taskhub-inline") == "1":  # app.js: no page to render
        return Response(status_code=204)
    return redirect(_safe_next(form.get("next"), "/"))


@router.post("/tasks/{task_id}/delete")
async def delete_task(request: Request, task_id: str) -> Response:
    me = await viewer(request)
    form = await checked_form(request, me.csrf)
    async with writing(request) as session:
        write = await tasks.delete_task(session, me.user_id, parse_id(task_id, "Task"), None)
        await session.commit()
    await _after_task_write(request, write)
    return redirect(_safe_next(form.get("next"), "/"))


# --- projects --------------------------------------------------------------------------------


async def _projects_page(
    request: Request,
    me: Viewer | None,
    again: Again = FIRST,
) -> Response:
    async with reading(request) as session:
        me = me or await viewer(request, session)
        mine = await projects.list_projects(session, me.user_id, PAGE_SIZE, None)
    context = {
        "me": me,
        "projects": mine.items,
        "values": again.values or {},
        "errors": again.errors,
    }
    return render(request, "projects.html", context, again.status_code)


@router.get("/projects")
async def project_list(request: Request) -> Response:
    return await _projects_page(request, None)


@router.post("/projects")
async def create_project(request: Request) -> Response:
    me = await viewer(request)
    form = await checked_form(request, me.csrf)
    values = {"name": form.get("name", ""), "description": form.get("description", "")}
    try:
        data = validate(ProjectCreate, values)
    except FormInvalid as exc:
        return await _projects_page(request, me, Again(values, exc.errors))
    async with writing(request) as session:
        project = await projects.create_project(session, me.user_id, data)
        await session.commit()
    await _task_cache(request).memberships_changed([me.user_id])
    return redirect(f"/projects/{project.id}")


async def _project_page(
    request: Request,
    me: Viewer | None,
    project_id: uuid.UUID,
    again: Again = FIRST,
) -> Response:
    async with reading(request) as session:
        me = me or await viewer(request, session)
        project = await projects.get_project(session, project_id, me.user_id)
        members = await projects.list_members(session, project_id, me.user_id)
        page = await tasks.list_tasks(
            session,
            me.user_id,
            tasks.TaskFilters(project_id=project_id, order_by="created_at"),
            PAGE_SIZE,
            None,
        )
    top, children = _nest(page.rows)
    return render(
        request,
        "project.html",
        {
            "me": me,
            "project": project,
            "members": members,
            "top": top,
            "children": children,
            "roles": ROLES,
            "is_owner": project.role is Role.owner,
            "read_only": project.role is Role.viewer,
            "values": again.values or {"role": Role.editor.value},
            "errors": again.errors,
            "here": f"/projects/{project_id}",
        },
        again.status_code,
    )


@router.get("/projects/{project_id}")
async def project_page(request: Request, project_id: str) -> Response:
    return await _project_page(request, None, parse_id(project_id, "Project"))


def _role_of(text: str) -> Role | None:
    try:
        return Role(text)
    except ValueError:
        return None


@router.post("/projects/{project_id}/members")
async def share_project(request: Request, project_id: str) -> Response:
    me = await viewer(request)
    form = await checked_form(request, me.csrf)
    ident = parse_id(project_id, "Project")
    values = {"email": form.get("email", ""), "role": form.get("role", "")}
    role = _role_of(values["role"])
    if role is None:
        return await _project_page(request, me, ident, Again(values, {"role": "Choose a role"}))
    async with writing(request) as session:
        # The owner check comes first, so only an owner learns whether an email is known.
        await projects.get_project(session, ident, me.user_id)
        user = await auth_service.user_by_email(session, values["email"])
        if user is None:
            await session.rollback()
            errors = {"email": "No account uses this email"}
            return await _project_page(request, me, ident, Again(values, errors))
        await projects.put_member(session, ident, me.user_id, user.id, role)
        await session.commit()
    await _task_cache(request).memberships_changed([user.id])
    return redirect(f"/projects/{ident}")


@router.post("/projects/{project_id}/members/{user_id}")
async def change_role(request: Request, project_id: str, user_id: str) -> Response:
    me = await viewer(request)
    form = await checked_form(request, me.csrf)
    ident, member = parse_id(project_id, "Project"), parse_id(user_id, "Member")
    role = _role_of(form.get("role", ""))
    if role is None:
        return await _project_page(request, me, ident, Again(None, {"members": "Choose a role"}))
    async with writing(request) as session:
        await projects.put_member(session, ident, me.user_id, member, role)
        await session.commit()
    await _task_cache(request).memberships_changed([member])
    return redirect(f"/projects/{ident}")


@router.post("/projects/{project_id}/members/{user_id}/remove")
async def remove_member(request: Request, project_id: str, user_id: str) -> Response:
    me = await viewer(request)
    await checked_form(request, me.csrf)
    ident, member = parse_id(project_id, "Project"), parse_id(user_id, "Member")
    async with writing(request) as session:
        await projects.remove_member(session, ident, me.user_id, member)
        await session.commit()
    await _task_cache(request).memberships_changed([member])
    return redirect("/projects" if member == me.user_id else f"/projects/{ident}")
