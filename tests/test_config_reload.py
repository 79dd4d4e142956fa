"""The users file and the lane groups file are read again when they change: no restart."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bpmn_service.config import Settings
from bpmn_service.context import AppContext
from bpmn_service.main import create_app
from conftest import DATA, ROOT, Api, empty

NEW_USER = '\n[users.newclerk]\ntoken = "token-of-a-new-clerk"\ngroups = ["hall_clerk"]\n'


@pytest.fixture
def edited(
    settings: Settings, database: tuple[str, str | None, Engine], tmp_path: Path
) -> Iterator[tuple[Api, Path, Path]]:
    users = tmp_path / "users.toml"
    lanes = tmp_path / "lane-groups.toml"
    shutil.copy(ROOT / "config" / "users.toml", users)
    shutil.copy(ROOT / "processes" / "lane-groups.toml", lanes)
    update = {"users_file": users, "lane_groups_file": lanes, "config_check_seconds": 0}
    empty(database[2])
    ctx = AppContext.create(settings.model_copy(update=update), engine=database[2])
    with TestClient(create_app(ctx=ctx)) as client:
        yield Api(client, ctx), users, lanes


def _as(api: Api, token: str) -> int:
    response = api.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    return int(response.status_code)


def test_a_user_added_to_the_users_file_can_work_at_once(edited: tuple[Api, Path, Path]) -> None:
    api, users, _lanes = edited
    assert _as(api, "token-of-a-new-clerk") == 401
    users.write_text(users.read_text(encoding="utf-8") + NEW_USER, encoding="utf-8")
    assert _as(api, "token-of-a-new-clerk") == 200
    # A broken edit is not taken: the last good content stays in force.
    users.write_text("[users.admin\ntoken = ", encoding="utf-8")
    assert _as(api, "token-of-a-new-clerk") == 200
    assert _as(api, "demo-admin") == 200
    # Removing a user takes their access away.
    shutil.copy(ROOT / "config" / "users.toml", users)
    assert _as(api, "token-of-a-new-clerk") == 401


def test_a_lane_mapped_to_another_group_applies_to_new_tasks(
    edited: tuple[Api, Path, Path],
) -> None:
    api, _users, lanes = edited
    assert api.deploy(DATA / "inbox.bpmn").status_code == 201
    before = api.start("inbox", "LANE-1", {"reviewGroup": "plan_engineer"}, user="pm").json()
    lanes.write_text(
        lanes.read_text(encoding="utf-8").replace(
            '"客户" = ["customer"]', '"客户" = ["service_center"]'
        ),
        encoding="utf-8",
    )
    after = api.start("inbox", "LANE-2", {"reviewGroup": "plan_engineer"}, user="pm").json()

    def customer_groups(instance: dict[str, object]) -> list[str]:
        tasks = instance["tasks"]
        assert isinstance(tasks, list)
        [task] = [t for t in tasks if t["element_id"] == "customer_task"]
        return list(task["candidate_groups"])

    assert customer_groups(before) == ["customer"]  # open tasks keep their groups
    assert customer_groups(after) == ["service_center"]
    assert {t["element_id"] for t in api.tasks("service").json()["items"]} == {"customer_task"}


def test_production_mode_does_not_take_an_edit_that_adds_a_demo_token(
    settings: Settings, database: tuple[str, str | None, Engine], tmp_path: Path
) -> None:
    users = tmp_path / "users.toml"
    users.write_text(
        '[users.boss]\ntoken = "a-private-token-1"\ngroups = ["admin"]\n', encoding="utf-8"
    )
    update = {"users_file": users, "mode": "production", "config_check_seconds": 0}
    empty(database[2])
    ctx = AppContext.create(settings.model_copy(update=update), engine=database[2])
    with TestClient(create_app(ctx=ctx)) as client:
        api = Api(client, ctx)
        assert _as(api, "a-private-token-1") == 200
        users.write_text(
            users.read_text(encoding="utf-8")
            + '\n[users.admin]\ntoken = "demo-admin"\ngroups = ["admin"]\n',
            encoding="utf-8",
        )
        assert _as(api, "demo-admin") == 401
        assert _as(api, "a-private-token-1") == 200
