"""GET /api/v1/tasks: visibility, filters, orders and parameter validation."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest

from taskhub.pagination import fingerprint
from tests.support.factories import (
    Factories,
    MakeProject,
    MakeTask,
    User,
    list_all,
)
from tests.support.http import TASKS, expect, expect_not_found, project_url, task_url

ORDERS = ("created_at", "-created_at", "due_at", "-due_at", "priority", "-priority", "position")


def ids(tasks: list[dict[str, Any]]) -> list[str]:
    return [t["id"] for t in tasks]


async def _list(client: httpx.AsyncClient, user: User, **params: Any) -> httpx.Response:
    return await client.get(TASKS, params=params, headers=user.headers)


async def test_empty_list(client: httpx.AsyncClient, alice: User) -> None:
    assert expect(await _list(client, alice), 200) == {"items": [], "next_cursor": None}


async def test_list_shows_own_inbox_and_member_projects_only(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    mine = await factories.task(alice)
    _own_project, in_own_project = await factories.project_task(alice)
    _shared, in_shared = await factories.shared_task(bob, alice, "viewer", author=bob)
    await factories.task(bob)  # bob's inbox
    bobs_private = await factories.project(bob)
    await factories.task(bob, project_id=bobs_private["id"])

    visible = await list_all(client, alice)

    assert set(ids(visible)) == {mine["id"], in_own_project["id"], in_shared["id"]}


async def test_list_never_shows_another_users_inbox(
    client: httpx.AsyncClient, alice: User, bob: User, make_task: MakeTask
) -> None:
    for _ in range(3):
        await make_task(bob)

    assert await list_all(client, alice) == []


async def test_list_items_match_single_get(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice, labels=["a"], due_at="2030-01-01T00:00:00Z", priority=2)

    (item,) = await list_all(client, alice)

    assert item == task


async def test_default_order_is_newest_first(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    created = [await make_task(alice) for _ in range(4)]

    listed = (await _list(client, alice)).json()["items"]

    assert ids(listed) == ids(created)[::-1]


async def test_default_limit_is_50(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    for _ in range(51):
        await make_task(alice)

    page = (await _list(client, alice)).json()

    assert len(page["items"]) == 50
    assert page["next_cursor"] is not None


async def test_filter_done(client: httpx.AsyncClient, alice: User, make_task: MakeTask) -> None:
    done = await make_task(alice, done=True)
    todo = await make_task(alice)

    assert ids(await list_all(client, alice, done="true")) == [done["id"]]
    assert ids(await list_all(client, alice, done="false")) == [todo["id"]]


async def test_filter_project(client: httpx.AsyncClient, alice: User, factories: Factories) -> None:
    project, inside = await factories.project_task(alice)
    await factories.task(alice)

    listed = await list_all(client, alice, project_id=project["id"])

    assert ids(listed) == [inside["id"]]


async def test_filter_project_as_viewer(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project, task = await factories.shared_task(bob, alice, "viewer", author=bob)

    assert ids(await list_all(client, alice, project_id=project["id"])) == [task["id"]]


@pytest.mark.parametrize("kind", ["foreign", "unknown", "malformed"])
async def test_filter_by_project_i_cannot_see_is_404(
    client: httpx.AsyncClient, alice: User, bob: User, make_project: MakeProject, kind: str
) -> None:
    project_id = {
        "foreign": (await make_project(bob))["id"],
        "unknown": str(uuid.uuid4()),
        "malformed": "not-a-uuid",
    }[kind]

    expect_not_found(await _list(client, alice, project_id=project_id), "Project")


async def test_filter_label(client: httpx.AsyncClient, alice: User, make_task: MakeTask) -> None:
    home = await make_task(alice, labels=["home"])
    await make_task(alice, labels=["work"])
    await make_task(alice, labels=["homework"])

    assert ids(await list_all(client, alice, label="home")) == [home["id"]]


async def test_repeated_label_filter_requires_every_label(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    both = await make_task(alice, labels=["a", "b", "c"])
    await make_task(alice, labels=["a"])
    await make_task(alice, labels=["b"])

    listed = await list_all(client, alice, label=["a", "b"])

    assert ids(listed) == [both["id"]]


async def test_label_filter_with_quotes_and_unicode(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    odd = await make_task(alice, labels=['he said "hi"', "Ünïcødé ✓", "back\\slash"])

    for label in odd["labels"]:
        assert ids(await list_all(client, alice, label=label)) == [odd["id"]], label


async def test_due_range_is_half_open_and_excludes_undated(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    at_start = await make_task(alice, due_at="2030-01-01T00:00:00Z")
    inside = await make_task(alice, due_at="2030-01-15T00:00:00Z")
    await make_task(alice, due_at="2030-02-01T00:00:00Z")  # == due_before: excluded
    await make_task(alice, due_at="2029-12-31T23:59:59Z")
    await make_task(alice)  # no due date

    listed = await list_all(
        client, alice, due_after="2030-01-01T00:00:00Z", due_before="2030-02-01T00:00:00Z"
    )

    assert set(ids(listed)) == {at_start["id"], inside["id"]}


async def test_due_after_alone_excludes_undated(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    later = await make_task(alice, due_at="2031-01-01T00:00:00Z")
    await make_task(alice)

    assert ids(await list_all(client, alice, due_after="2030-01-01T00:00:00Z")) == [later["id"]]


async def test_due_before_alone_excludes_undated(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    earlier = await make_task(alice, due_at="2029-01-01T00:00:00Z")
    await make_task(alice)

    assert ids(await list_all(client, alice, due_before="2030-01-01T00:00:00Z")) == [earlier["id"]]


async def test_due_filter_honours_offsets(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice, due_at="2030-01-01T10:00:00Z")

    included = await list_all(client, alice, due_after="2030-01-01T11:00:00+01:00")
    excluded = await list_all(client, alice, due_after="2030-01-01T11:00:01+01:00")

    assert ids(included) == [task["id"]]
    assert excluded == []


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("due_after", "2030-01-01T00:00:00"),
        ("due_before", "2030-01-01"),
        ("due_after", "yesterday"),
        ("due_after", "1893456000"),
        ("due_before", "9999-12-31T23:00:00-05:00"),
        ("due_after", "0001-01-01T00:00:00+05:00"),
    ],
)
async def test_invalid_due_filter_is_422(
    client: httpx.AsyncClient, alice: User, param: str, value: str
) -> None:
    expect(await _list(client, alice, **{param: value}), 422)


async def test_q_matches_title_case_insensitively(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    milk = await make_task(alice, title="Buy MILK today")
    await make_task(alice, title="Buy bread")

    assert ids(await list_all(client, alice, q="milk")) == [milk["id"]]
    assert ids(await list_all(client, alice, q="MiLk")) == [milk["id"]]


async def test_q_matches_description(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice, title="Errand", description="Pick up the Parcel")
    await make_task(alice, title="Other")

    assert ids(await list_all(client, alice, q="parcel")) == [task["id"]]


async def test_q_matches_whole_words_not_parts_of_words(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    shouted = await make_task(alice, title="Buy MILK")
    listed = await make_task(alice, title="milk, eggs")
    await make_task(alice, title="buttermilk")
    await make_task(alice, title="milky way")
    described = await make_task(alice, title="Milkshake", description="made milk-free")

    found = await list_all(client, alice, q="milk")

    assert set(ids(found)) == {shouted["id"], listed["id"], described["id"]}


async def test_q_with_several_words_requires_each(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    both = await make_task(alice, title="Call mom", description="about sunday")
    await make_task(alice, title="Call dad")
    await make_task(alice, title="sunday brunch")

    assert ids(await list_all(client, alice, q="call sunday")) == [both["id"]]
    assert ids(await list_all(client, alice, q="SUNDAY   call")) == [both["id"]]
    assert await list_all(client, alice, q="call sunday dad") == []


@pytest.mark.parametrize(
    ("q", "finds", "misses"),
    [
        ("ÉTÉ", "Vacances d'été", "Vacances d'hiver"),
        ("été", "ÉTÉ INDIEN", "ete indien"),  # case folds, accents stay
        ("straße", "STRAẞE sperren", "Strasse sperren"),
        ("ΣΟΦΊΑ", "σοφία και γνώση", "σοφια"),
        ("молоко", "Купить МОЛОКО", "молокозавод"),
        ("日本", "旅行 日本", "日本語"),  # no word breaks inside CJK runs: the run is the word
    ],
)
async def test_q_folds_case_for_all_of_unicode_on_both_databases(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, q: str, finds: str, misses: str
) -> None:
    found = await make_task(alice, title=finds)
    await make_task(alice, title=misses)

    assert ids(await list_all(client, alice, q=q)) == [found["id"]]


async def test_punctuation_in_q_separates_words_as_it_does_in_the_text(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    snake = await make_task(alice, title="rename snake_case")
    percent = await make_task(alice, title="100% done")
    path = await make_task(alice, title=r"C:\temp\notes.txt")
    mail = await make_task(alice, title="write to bob@example.org")
    await make_task(alice, title="rename snakeXcase")
    await make_task(alice, title="1000 done")

    assert ids(await list_all(client, alice, q="snake_case")) == [snake["id"]]
    assert ids(await list_all(client, alice, q="case")) == [snake["id"]]
    assert ids(await list_all(client, alice, q="100%")) == [percent["id"]]
    assert ids(await list_all(client, alice, q="notes")) == [path["id"]]
    assert ids(await list_all(client, alice, q="c:\\temp")) == [path["id"]]
    assert ids(await list_all(client, alice, q="bob")) == [mail["id"]]
    assert ids(await list_all(client, alice, q="example.org")) == [mail["id"]]


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '"milk',
        "milk*",
        "*",
        "NEAR(milk eggs)",
        "NEAR",
        "-milk",
        "title:milk",
        "description : milk",
        "(milk",
        "milk)",
        "milk OR eggs",
        "milk AND",
        "NOT milk",
        "^milk",
        "milk + eggs",
        "'; DROP TABLE tasks; --",
        "!:&|<->()",
        "\\",
        "%_",
        "🥛" * 200,
        "a" * 200,
        " ",
    ],
)
async def test_hostile_q_is_a_plain_word_search_never_a_500(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, q: str
) -> None:
    milk = await make_task(alice, title="milk")
    both = await make_task(alice, title="milk, eggs")
    near = await make_task(alice, title="NEAR the milk")
    butter = await make_task(alice, title="buttermilk")

    found = set(ids(expect(await _list(client, alice, q=q), 200)["items"]))
    milk_anywhere = {milk["id"], both["id"], near["id"]}
    expected = {
        "milk*": milk_anywhere,
        '"milk': milk_anywhere,
        "-milk": milk_anywhere,
        "^milk": milk_anywhere,
        "(milk": milk_anywhere,
        "milk)": milk_anywhere,
        "NEAR": {near["id"]},
        "milk + eggs": {both["id"]},
        " ": milk_anywhere | {butter["id"]},  # a blank q filters nothing
    }
    # Anything else holds a word no task has ("title", "OR", "DROP"...) or no word at all.
    assert found == expected.get(q, set())


async def test_q_without_any_word_finds_nothing(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    await make_task(alice, title="100% 🥛 !!!")

    assert await list_all(client, alice, q="%") == []
    assert await list_all(client, alice, q="🥛") == []


async def test_q_does_not_search_other_users_tasks(
    client: httpx.AsyncClient, alice: User, bob: User, make_task: MakeTask
) -> None:
    await make_task(bob, title="secret plan")

    assert await list_all(client, alice, q="secret") == []


async def test_q_searches_shared_projects_but_no_other_project(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    mine = await factories.task(alice, title="report draft")
    shared, in_shared = await factories.shared_task(
        bob, alice, "viewer", author=bob, title="report review"
    )
    bobs_private, _ = await factories.project_task(bob, title="report secret")
    await factories.task(bob, title="report inbox")

    assert set(ids(await list_all(client, alice, q="report"))) == {mine["id"], in_shared["id"]}
    in_project = await list_all(client, alice, q="report", project_id=shared["id"])
    assert ids(in_project) == [in_shared["id"]]
    expect(await _list(client, alice, q="report", project_id=bobs_private["id"]), 404)


async def test_q_sees_a_change_of_text_at_once(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice, title="buy milk", description="semi-skimmed")
    renamed = {"title": "buy bread"}
    expect(await client.patch(task_url(task), json=renamed, headers=alice.headers), 200)

    assert await list_all(client, alice, q="milk") == []
    assert ids(await list_all(client, alice, q="bread skimmed")) == [task["id"]]

    changes = {"description": "wholemeal", "done": True}
    expect(await client.patch(task_url(task), json=changes, headers=alice.headers), 200)
    assert await list_all(client, alice, q="skimmed") == []
    assert ids(await list_all(client, alice, q="wholemeal")) == [task["id"]]


async def test_q_forgets_deleted_tasks_and_their_subtasks(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    parent = await make_task(alice, title="milk parent")
    await make_task(alice, title="milk child", parent_id=parent["id"])
    expect(await client.delete(task_url(parent), headers=alice.headers), 204)

    # New rows may reuse the deleted rows' storage slots: none may inherit their words.
    newer = [await make_task(alice, title=f"bread {i}") for i in range(3)]

    assert await list_all(client, alice, q="milk") == []
    assert set(ids(await list_all(client, alice, q="bread"))) == {t["id"] for t in newer}


async def test_q_forgets_the_tasks_of_a_deleted_project(
    client: httpx.AsyncClient, alice: User, factories: Factories
) -> None:
    project, _ = await factories.project_task(alice, title="milk in project")
    expect(await client.delete(project_url(project), headers=alice.headers), 204)
    newer = await factories.task(alice, title="bread")

    assert await list_all(client, alice, q="milk") == []
    assert ids(await list_all(client, alice, q="bread")) == [newer["id"]]


async def test_q_pages_with_cursors_in_every_order(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    matching = [await make_task(alice, title=f"milk {i}", priority=i % 5) for i in range(7)]
    for i in range(5):
        await make_task(alice, title=f"bread {i}")

    for order_by in ORDERS:
        paged = await list_all(client, alice, q="milk", order_by=order_by, limit=2)
        assert sorted(ids(paged)) == sorted(t["id"] for t in matching), order_by


async def test_filters_combine(client: httpx.AsyncClient, alice: User, make_task: MakeTask) -> None:
    match = await make_task(alice, title="pay rent", labels=["home"], done=False)
    await make_task(alice, title="pay rent", labels=["home"], done=True)
    await make_task(alice, title="pay rent", labels=["work"])
    await make_task(alice, title="clean", labels=["home"])

    listed = await list_all(client, alice, q="rent", label="home", done="false")

    assert ids(listed) == [match["id"]]


def _expected_order(tasks: list[dict[str, Any]], order_by: str) -> list[str]:
    field = order_by.lstrip("-")
    descending = order_by.startswith("-")
    dated = [t for t in tasks if t[field] is not None]
    undated = [t for t in tasks if t[field] is None]
    dated.sort(key=lambda t: (t[field], uuid.UUID(t["id"])), reverse=descending)
    undated.sort(key=lambda t: uuid.UUID(t["id"]), reverse=descending)
    return ids(dated + undated)


async def _varied_tasks(
    alice: User, make_task: MakeTask, make_project: MakeProject
) -> list[dict[str, Any]]:
    """Tasks with repeated priorities, due dates and positions, in inbox and a project."""
    project = await make_project(alice)
    tasks = []
    dues = [None, "2030-01-02T00:00:00Z", "2030-01-01T00:00:00Z", None, "2030-01-02T00:00:00Z"]
    for i in range(10):
        fields: dict[str, Any] = {"priority": i % 3, "position": i % 4}
        if dues[i % 5] is not None:
            fields["due_at"] = dues[i % 5]
        if i % 2:
            fields["project_id"] = project["id"]
        tasks.append(await make_task(alice, **fields))
    return tasks


@pytest.mark.parametrize("order_by", ORDERS)
async def test_order_by_sorts_with_id_tiebreak_and_null_due_last(
    client: httpx.AsyncClient,
    alice: User,
    make_task: MakeTask,
    make_project: MakeProject,
    order_by: str,
) -> None:
    tasks = await _varied_tasks(alice, make_task, make_project)

    whole = (await _list(client, alice, order_by=order_by, limit=100)).json()["items"]
    paged = await list_all(client, alice, order_by=order_by, limit=3)

    assert ids(whole) == _expected_order(tasks, order_by)
    assert ids(paged) == ids(whole)


@pytest.mark.parametrize("order_by", ["due_at", "-due_at"])
async def test_null_due_at_sorts_last(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, order_by: str
) -> None:
    undated = await make_task(alice)
    early = await make_task(alice, due_at="2030-01-01T00:00:00Z")
    late = await make_task(alice, due_at="2031-01-01T00:00:00Z")

    listed = await list_all(client, alice, order_by=order_by, limit=1)

    dated = [early["id"], late["id"]]
    assert ids(listed) == [*(dated if order_by == "due_at" else dated[::-1]), undated["id"]]


@pytest.mark.parametrize("order_by", ["title", "id", "created", "-position", "", "priority,id"])
async def test_unknown_order_by_is_422(
    client: httpx.AsyncClient, alice: User, order_by: str
) -> None:
    expect(await _list(client, alice, order_by=order_by), 422)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
async def test_limit_out_of_range_is_422(
    client: httpx.AsyncClient, alice: User, limit: str
) -> None:
    expect(await _list(client, alice, limit=limit), 422)


@pytest.mark.parametrize("limit", [1, 100])
async def test_limit_bounds_are_accepted(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, limit: int
) -> None:
    for _ in range(2):
        await make_task(alice)

    response = await _list(client, alice, limit=limit)

    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == min(limit, 2)


async def test_pages_cover_every_task_once(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    created = [await make_task(alice) for _ in range(7)]

    listed = await list_all(client, alice, limit=2)

    assert sorted(ids(listed)) == sorted(ids(created))
    assert len(listed) == 7


async def test_last_page_has_no_cursor(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    for _ in range(2):
        await make_task(alice)

    page = (await _list(client, alice, limit=2)).json()

    assert len(page["items"]) == 2
    assert page["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!",
        "",
        "eyJmIjoieCJ9",  # {"f":"x"}
        "W10",  # []
        "bnVsbA",  # null
        "x" * 1025,
    ],
)
async def test_malformed_cursor_is_422(client: httpx.AsyncClient, alice: User, cursor: str) -> None:
    expect(await _list(client, alice, cursor=cursor), 422)


async def _first_cursor(
    client: httpx.AsyncClient, user: User, make_task: MakeTask, **params: Any
) -> str:
    for _ in range(3):
        await make_task(user, labels=["a"])
    page = (await _list(client, user, limit=1, **params)).json()
    cursor: str = page["next_cursor"]
    assert cursor is not None
    return cursor


@pytest.mark.parametrize(
    "other",
    [
        {"order_by": "created_at"},
        {"order_by": "priority"},
        {"done": "false"},
        {"label": "a"},
        {"q": "task"},
        {"due_after": "2000-01-01T00:00:00Z"},
    ],
    ids=lambda p: next(iter(p)),
)
async def test_cursor_reused_with_other_filters_or_order_is_422(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, other: dict[str, str]
) -> None:
    cursor = await _first_cursor(client, alice, make_task)

    expect(await _list(client, alice, limit=1, cursor=cursor, **other), 422)


async def test_cursor_may_be_reused_with_another_limit(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    cursor = await _first_cursor(client, alice, make_task)

    response = await _list(client, alice, limit=5, cursor=cursor)

    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 2


async def test_cursor_of_another_user_does_not_reveal_their_tasks(
    client: httpx.AsyncClient, alice: User, bob: User, make_task: MakeTask
) -> None:
    cursor = await _first_cursor(client, bob, make_task)

    response = await _list(client, alice, limit=1, cursor=cursor)

    # Same filters and order, so the cursor is valid: it is only a keyset position.
    assert expect(response, 200)["items"] == []


@pytest.mark.parametrize(
    "key",
    [
        ["9999-12-31T23:00:00-05:00", str(uuid.UUID(int=1))],
        ["2030-01-01T00:00:00", str(uuid.UUID(int=1))],
        [10**30, str(uuid.UUID(int=1))],
        [2**63, str(uuid.UUID(int=1))],
        [2**40, str(uuid.UUID(int=1))],
        [-(2**40), str(uuid.UUID(int=1))],
        [1.5, str(uuid.UUID(int=1))],
        [None, str(uuid.UUID(int=1))],
        ["2030-01-01T00:00:00Z", "nope"],
        [True, str(uuid.UUID(int=1))],
        [{"a": 1}, str(uuid.UUID(int=1))],
    ],
    ids=repr,
)
@pytest.mark.parametrize("order_by", ["-created_at", "priority", "position"])
async def test_forged_cursor_keys_are_422_not_500(
    client: httpx.AsyncClient, alice: User, key: list[Any], order_by: str
) -> None:
    fp = fingerprint(
        kind="tasks",
        done=None,
        project=None,
        labels=[],
        after=None,
        before=None,
        q=None,
        order=order_by,
    )
    raw = json.dumps({"f": fp, "k": key}).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")

    response = await _list(client, alice, order_by=order_by, cursor=cursor)

    # One key is a well-formed position (an integer in range): a valid, empty page.
    if order_by == "position" and key[0] == 2**40:
        assert expect(response, 200)["items"] == []
    else:
        assert expect(response, 422)["detail"][0]["msg"] == "Malformed cursor"


@pytest.mark.parametrize(("param", "value"), [("q", "a\x00b"), ("label", "a\x00")])
async def test_nul_in_text_filters_is_422(
    client: httpx.AsyncClient, alice: User, param: str, value: str
) -> None:
    expect(await _list(client, alice, **{param: value}), 422)


async def test_done_filter_rejects_non_boolean(client: httpx.AsyncClient, alice: User) -> None:
    expect(await _list(client, alice, done="maybe"), 422)


async def test_list_without_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(TASKS)

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_former_member_no_longer_lists_project_tasks(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project = await factories.shared_project(bob, alice, "editor")
    await factories.task(alice, project_id=project["id"])
    await factories.unshare(alice, project, alice)

    assert await list_all(client, alice) == []
    expect(await _list(client, alice, project_id=project["id"]), 404)
