"""`bpmn-service check` as a subprocess; health endpoints, request ids and the body size limit."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from bpmn_service.config import Settings
from bpmn_service.context import AppContext
from bpmn_service.main import create_app
from conftest import DATA, ROOT, TOKENS, Api

APPROVAL = DATA / "approval.bpmn"
INBOX = DATA / "inbox.bpmn"
BAD = DATA / "bad_two_problems.bpmn"
PROBLEM_LINE = re.compile(r"^(?P<file>.+):(?P<line>\d+) \[(?P<element>[^\]]+)\]: (?P<message>.+)$")
SMALL_BODY_LIMIT = 1024


def check(
    *paths: Path | str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "bpmn-service"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bpmn_service.cli"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BPMN_")}
    return subprocess.run(
        [*command, "check", *map(str, paths)],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def line_of(path: Path, element_id: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if f'id="{element_id}"' in line)


def test_check_accepts_good_files(tmp_path: Path) -> None:
    result = check(APPROVAL, INBOX)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{APPROVAL}: ok (process approval)",
        f"{INBOX}: ok (process inbox)",
    ]
    # Only warnings: approval's groups are no group of the demo users file's users; inbox's
    # candidate group comes only with the start request (its start event has no form).
    warned = [line.split(": warning: ")[0] for line in result.stderr.splitlines()]
    assert warned == [
        f"{APPROVAL}:22 [review]",
        f"{APPROVAL}:45 [revise]",
        f"{INBOX}:51 [dynamic_task]",
    ]

    # A directory is checked file by file.
    for name in ("approval.bpmn", "race.bpmn", "countersign.bpmn"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a BPMN file")
    result = check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    assert all(
        line.endswith(")") and ": ok (process " in line for line in result.stdout.splitlines()
    )


def test_check_reports_every_problem_with_file_line_and_element() -> None:
    result = check(BAD)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    found = {}
    for line in lines:
        match = PROBLEM_LINE.match(line)
        assert match, line
        assert match["file"] == str(BAD)
        found[match["element"]] = (int(match["line"]), match["message"])
    assert found["sneaky"][0] == line_of(BAD, "sneaky")
    assert "name = expression" in found["sneaky"][1]
    assert found["orphan"][0] == line_of(BAD, "orphan")
    assert "candidateGroups" in found["orphan"][1]
    assert "ok" not in result.stdout


def test_check_with_good_bad_and_missing_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.bpmn"
    result = check(APPROVAL, BAD, missing)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{APPROVAL}: ok (process approval)"]
    assert f"{missing}: no such file" in result.stderr.splitlines()
    errors = [line for line in result.stderr.splitlines() if PROBLEM_LINE.match(line)]
    assert sum(1 for line in errors if ": error: " in line) == 2


def test_check_of_a_directory_without_bpmn_files_is_a_usage_error(tmp_path: Path) -> None:
    """A CI job pointed at the wrong directory passed: nothing printed, exit 0."""
    (tmp_path / "notes.txt").write_text("not a BPMN file")
    result = check(tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"bpmn-service: no .bpmn files in {tmp_path}"]
    assert result.stdout == ""


def test_deploy_of_a_missing_file_or_an_empty_directory_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both were tracebacks (FileNotFoundError; errors.Invalid "no BPMN file was given"). The
    files are read before the database is touched, so none is created."""
    from bpmn_service import cli

    database = tmp_path / "never.db"
    monkeypatch.setenv("BPMN_DATABASE_URL", f"sqlite:///{database}")
    missing = tmp_path / "nonexistent.bpmn"
    assert cli.main(["deploy", str(APPROVAL), str(missing)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"bpmn-service: {missing}: no such file"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["deploy", str(empty)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"bpmn-service: no .bpmn files in {empty}"]
    assert not database.exists()


def test_check_uses_the_lane_groups_file(tmp_path: Path) -> None:
    """inbox.bpmn's customer task relies on the lane 客户 -> customer mapping."""
    empty = tmp_path / "lane-groups.toml"
    empty.write_text("# no lanes mapped\n", encoding="utf-8")
    result = check(INBOX, env={"BPMN_LANE_GROUPS_FILE": str(empty)})
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if ": error: " in line]
    match = PROBLEM_LINE.match(line)
    assert match and match["element"] == "customer_task"
    assert "客户" in match["message"]


def test_check_refuses_entities_even_outside_utf8(tmp_path: Path) -> None:
    text = APPROVAL.read_text(encoding="utf-8").replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        '<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
    )
    text = text.replace('name="Simple approval"', 'name="&xxe;"')
    path = tmp_path / "utf16.bpmn"
    path.write_bytes(text.encode("utf-16"))
    result = check(path)
    assert result.returncode == 1
    assert str(path) in result.stderr
    assert "root:" not in result.stdout + result.stderr


def test_check_refuses_what_a_deployment_of_the_same_files_refuses(tmp_path: Path) -> None:
    """`check` runs the checks every deployment runs: a file that is not UTF-8 (UTF-16, GBK),
    and two files defining one process, which a deployment of both refuses."""
    text = APPROVAL.read_text(encoding="utf-8")
    utf16 = tmp_path / "utf16.bpmn"
    utf16.write_bytes(text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    gbk = tmp_path / "gbk.bpmn"
    gbk.write_bytes(
        text.replace('encoding="UTF-8"', 'encoding="GBK"')
        .replace('name="Simple approval"', 'name="简单审批"')
        .encode("gbk")
    )
    for path in (utf16, gbk):
        result = check(path)
        assert result.returncode == 1, result.stdout
        assert "the file is not UTF-8 encoded" in result.stderr
    copy = tmp_path / "approval-copy.bpmn"
    copy.write_bytes(APPROVAL.read_bytes())
    result = check(APPROVAL, copy)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{APPROVAL}: ok (process approval)"]
    assert f"process 'approval' is also defined in {APPROVAL}" in result.stderr


def test_check_says_an_id_is_used_twice_and_where_first(tmp_path: Path) -> None:
    text = APPROVAL.read_text(encoding="utf-8")
    lines = text.splitlines()
    review = next(i for i, line in enumerate(lines, 1) if 'id="review"' in line)
    end = next(i for i, line in enumerate(lines, 1) if '<bpmn:endEvent id="end"' in line)
    path = tmp_path / "twice.bpmn"
    path.write_text(text.replace('<bpmn:endEvent id="end"', '<bpmn:endEvent id="review"'))
    result = check(path)
    assert result.returncode == 1
    assert (
        f"{path}:{end} [review]: error: the id 'review' is used again (first on line {review}); "
        "every element needs an id of its own (rename one of them; in Camunda Modeler, the "
        "element's ID field)"
    ) in result.stderr.splitlines()


def test_a_process_not_marked_executable_is_named_at_its_line(tmp_path: Path) -> None:
    """Signavio and Bizagi export isExecutable="false" (or none): the finding points at the
    process, so the workspace and the Modeler user can find what to tick."""
    path = tmp_path / "exported.bpmn"
    path.write_text(APPROVAL.read_text(encoding="utf-8").replace('isExecutable="true"', ""))
    result = check(path)
    assert result.returncode == 1
    [line] = [entry for entry in result.stderr.splitlines() if "isExecutable" in entry]
    match = PROBLEM_LINE.match(line)
    assert match and (match["line"], match["element"]) == ("3", "approval"), line
    assert "tick 'Executable' on exactly one process" in line


def test_check_works_from_any_directory(tmp_path: Path) -> None:
    """Outside the repository the configuration is the project's the file lies in (a shipped
    model's lane groups included), never the working directory's."""
    shipped = ROOT / "processes" / "yekuo_streamlined.bpmn"
    result = check(shipped, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{shipped}: ok (process yekuo_streamlined)"]
    assert ": error: " not in result.stderr


def test_shipped_models_copied_out_of_the_project_pass_check(tmp_path: Path) -> None:
    """An analyst's copy of the shipped models with their lane groups, outside any project: no
    limit table is found there, so the rows the time limits name cannot be checked; that is no
    error in the files (it said "the process declares time limits but has no limit table")."""
    for source in (ROOT / "processes").iterdir():
        if source.suffix in (".bpmn", ".toml"):
            shutil.copy(source, tmp_path / source.name)
    files = sorted(tmp_path.glob("*.bpmn"))
    result = check(*files, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ": error: " not in result.stderr
    assert result.stdout.splitlines() == [f"{path}: ok (process {path.stem})" for path in files]
    # A misspelt row still shows where the table is known.
    typo = tmp_path / "yekuo_streamlined.bpmn"
    typo.write_text(typo.read_text(encoding="utf-8").replace('"B-T-PLAN"', '"B-T-PLANN"'))
    known = check("--config", ROOT, typo, cwd=tmp_path)
    assert known.returncode == 1 and "did you mean B-T-PLAN" in known.stderr


def test_check_reads_the_lane_groups_beside_the_file_and_a_given_config(tmp_path: Path) -> None:
    source = DATA / "check" / "small_connection_mistakes.bpmn"
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    # Without lane-groups.toml beside it, its lanes have no groups; no users file is known.
    alone = check(copy, cwd=tmp_path)
    assert alone.returncode == 1
    assert "lanes.no-groups" not in alone.stderr  # text shows messages, not codes
    assert "has no groups in lane-groups.toml" in alone.stderr
    # ... and each such finding says that no lane-groups.toml was found, and how to give one.
    lanes = [line for line in alone.stderr.splitlines() if "has no groups" in line]
    assert lanes and all("but no lane-groups.toml was found for this file" in x for x in lanes)
    assert all("--config DIR" in x for x in lanes)
    assert "no user of the users file" not in alone.stderr
    shutil.copy(DATA / "check" / "lane-groups.toml", tmp_path / "lane-groups.toml")
    beside = check("--config", ROOT, copy, cwd=tmp_path)
    assert "has no groups in lane-groups.toml" not in beside.stderr
    assert "'demo', which is no user of the users file" in beside.stderr  # config/users.toml


def test_check_names_a_group_nobody_is_in_when_it_knows_the_users_file(tmp_path: Path) -> None:
    """A misspelt candidate group offered the task to nobody but admins, and check said
    nothing; outside a project (no users file) it still says nothing about groups."""
    shipped = ROOT / "processes" / "yekuo_streamlined.bpmn"
    task = '<bpmn:userTask id="B-UT09" name="中间检查" camunda:candidateGroups="inspection">'
    text = shipped.read_text(encoding="utf-8")
    assert task in text
    copy = tmp_path / shipped.name
    copy.write_text(text.replace(task, task.replace("inspection", "inspecton")), "utf-8")
    known = check("--config", ROOT, copy, cwd=tmp_path)
    assert known.returncode == 0, known.stderr
    [warning] = [line for line in known.stderr.splitlines() if "inspecton" in line]
    assert warning.startswith(f"{copy}:{line_of(copy, 'B-UT09')} [B-UT09]: warning: ")
    assert "which no user of the users file is in" in warning
    assert "did you mean 'inspection'?" in warning
    alone = check(copy, cwd=tmp_path)
    assert "inspecton" not in alone.stderr and "no user of the users file" not in alone.stderr


def test_check_lists_every_finding_as_json(tmp_path: Path) -> None:
    source = DATA / "check" / "small_connection_mistakes.bpmn"
    result = check("--format", "json", source, APPROVAL, cwd=tmp_path)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["valid"] is False
    assert document["files"] == [
        {"file": str(source), "process": None, "valid": False},
        {"file": str(APPROVAL), "process": "approval", "valid": True},
    ]
    codes = [(f["severity"], f["code"], f["element"]) for f in document["findings"]]
    assert ("error", "data.unset-variable", "f_gw_plan") in codes
    assert ("error", "structure.dangling-reference", "f_supplement_review") in codes
    assert ("warning", "lanes.other-lane", "supplement") in codes
    assert ("warning", "camunda.form-key", "rectify") in codes
    assert all(f["line"] and f["hint"] for f in document["findings"])


def test_health_endpoints(api: Api) -> None:
    live = api.get("/health/live", user=None)
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = api.get("/health/ready", user=None)
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}


def test_readiness_without_a_database_says_so_without_the_drivers_words(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Probes need no token: the answer carried the driver's exception with its SQL text."""

    def refused(*_args: object, **_kw: object) -> None:
        raise OperationalError("SELECT pg_catalog.pg_class secret", {}, Exception("gone"))

    monkeypatch.setattr(api.ctx.engine, "connect", refused)
    ready = api.get("/health/ready", user=None)
    assert ready.status_code == 503 and ready.headers["retry-after"] == "1"
    assert ready.json() == {"status": "unavailable", "reason": "the database does not answer"}
    assert "pg_class" in caplog.text  # the operator still reads it in the log


def test_request_id_is_echoed_or_generated(api: Api) -> None:
    response = api.client.get("/api/v1/health/live", headers={"X-Request-Id": "req-1234"})
    assert response.headers["x-request-id"] == "req-1234"
    # Also on errors.
    response = api.client.get("/api/v1/tasks", headers={"X-Request-Id": "req-401"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "req-401"
    generated = api.client.get("/api/v1/health/live").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert api.client.get("/api/v1/health/live").headers["x-request-id"] != generated
    long_id = "r" * 100
    echoed = api.client.get("/api/v1/health/live", headers={"X-Request-Id": long_id})
    assert echoed.headers["x-request-id"] == long_id[:64]


@pytest.fixture
def small_body_api(settings: Settings, app_ctx: AppContext) -> Iterator[Api]:
    """An app that accepts JSON bodies of at most SMALL_BODY_LIMIT bytes."""
    small = settings.model_copy(update={"max_body_bytes": SMALL_BODY_LIMIT})
    ctx = AppContext.create(small, engine=app_ctx.engine)
    with TestClient(create_app(ctx=ctx)) as client:
        yield Api(client, ctx)


def test_json_body_over_the_limit_is_413(small_body_api: Api) -> None:
    api = small_body_api
    # Uploads have their own, larger limit: a 5.7 kB BPMN file still deploys.
    assert APPROVAL.stat().st_size > SMALL_BODY_LIMIT
    assert api.deploy(APPROVAL).status_code == 201

    big = {"amount": 5, "purpose": "x" * 150, "note": "y" * (2 * SMALL_BODY_LIMIT)}
    response = api.start("approval", "BIG-1", big)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert str(SMALL_BODY_LIMIT) in response.json()["message"]
    assert response.headers["x-request-id"]
    assert api.get("/process-instances").json()["total"] == 0
    assert api.start("approval", "SMALL-1", {"amount": 5}).status_code == 201


def test_chunked_json_body_over_the_limit_is_413(small_body_api: Api) -> None:
    """Without Content-Length the limit is enforced while the body is read."""
    api = small_body_api
    assert api.deploy(APPROVAL).status_code == 201
    payload = b'{"business_key": "CHUNKED-1", "variables": {"amount": 5, "purpose": "'
    payload += b"z" * (3 * SMALL_BODY_LIMIT) + b'"}}'

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 256):
            yield payload[i : i + 256]

    response = api.client.post(
        "/api/v1/process-definitions/approval/instances",
        headers={"Authorization": f"Bearer {TOKENS['clerk']}", "Content-Type": "application/json"},
        content=chunks(),
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
    assert api.get("/process-instances").json()["total"] == 0


def test_check_names_a_time_limit_the_table_does_not_have(tmp_path: Path) -> None:
    model = (ROOT / "processes" / "yekuo_current.bpmn").read_text(encoding="utf-8")
    typo = tmp_path / "yekuo_current.bpmn"
    typo.write_text(model.replace('value="A-T-MID"', 'value="A-T-MIDD"'), encoding="utf-8")
    result = check("--config", ROOT, typo)  # the copy lies outside the project
    assert result.returncode == 1
    # Each declaration naming it, at its own line and element, with the row meant.
    matches = [PROBLEM_LINE.match(line) for line in result.stderr.splitlines()]
    assert len(matches) == model.count('value="A-T-MID"') > 1
    assert matches[0] and matches[0]["element"] == "A-GW07m", result.stderr
    lines = typo.read_text(encoding="utf-8").splitlines()
    for match in matches:
        assert match and "A-T-MIDD is not a row of SERC2009" in match["message"]
        assert "did you mean A-T-MID?" in match["message"]
        assert 'value="A-T-MIDD"' in lines[int(match["line"]) - 1]


def test_a_lost_connection_in_the_timer_poll_is_one_warning_line(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Expected and retried: it was logged as a 70-line traceback."""
    from bpmn_service.errors import Busy
    from bpmn_service.services import scheduler

    polled = threading.Event()

    def lost(_ctx: object) -> None:
        polled.set()
        raise Busy("the database connection was lost; retry the request")

    monkeypatch.setattr(scheduler, "run_due_timers", lost)
    poller = scheduler.TimerPoller(api.ctx, 0.05)
    poller.start()
    assert polled.wait(5)
    poller.stop()
    [record] = [r for r in caplog.records if r.name.startswith("bpmn_service")][:1]
    assert record.levelname == "WARNING" and record.exc_info is None
    assert record.getMessage().startswith("timer poll: the database connection was lost")


def test_start_up_warns_of_a_year_the_calendar_does_not_cover(
    app_ctx: AppContext, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import dataclasses

    from bpmn_service.main import prepare

    today = app_ctx.calendar.local_date(app_ctx.clock())
    known = dataclasses.replace(app_ctx.calendar, years=frozenset({today.year}))
    monkeypatch.setattr(app_ctx, "calendar", known)
    prepare(app_ctx)
    assert f"the working-day calendar has no holidays for {today.year + 1}" in caplog.text
    caplog.clear()
    covered = dataclasses.replace(known, years=frozenset({today.year, today.year + 1}))
    monkeypatch.setattr(app_ctx, "calendar", covered)
    prepare(app_ctx)
    assert "has no holidays" not in caplog.text


def test_commands_outside_the_project_or_on_an_empty_database_say_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`doctor` run in another directory ended in a FileNotFoundError traceback for
    config/calendar.toml, `migrate-instances` on a database never migrated in an SQLAlchemy one."""
    from bpmn_service import cli

    monkeypatch.setenv("BPMN_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["doctor"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("bpmn-service: config/calendar.toml: no such file")
    assert f"read from the current directory, {tmp_path}" in line
    monkeypatch.chdir(ROOT)
    args = ["migrate-instances", "--from", "a:1", "--to", "a:2", "--reason", "x"]
    assert cli.main(args) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "has no service tables yet: run `bpmn-service migrate`" in line
