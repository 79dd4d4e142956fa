"""Analytics KPIs over a hand-made history with known answers, through the HTTP API and the CLI.

The history is inserted row by row (process_instance, historic_task, historic_wait, task); the
calendar_day table is filled from config/calendar.toml when the app starts. Times are written in
Beijing time (UTC+8) and stored in UTC.

Instances of process `kpi` (all started in autumn 2025 unless said otherwise):

I1  v1 LV  completed  2025-09-30 10:00 → 2025-10-10 10:00: 10 calendar days, 2 working days
           (10-09, 10-10: the National Day holiday lies between); a customer task of 1 working
           day, so 1 utility working day; procedures {申请, 提交资料}; 2 hall visits; 1 hand-off
           (hall_clerk → yk_specialist); satisfaction 3.
I2  v1 LV  completed  2025-11-03 09:00 → 2025-11-07 15:00: 4.25 days, 4 working days; a customer
           task (1 WD) and an external wait (2 WD) leave 1 utility WD (an internal wait is not
           subtracted); a co-sign round of three tasks created together (3 hand-offs, no rework);
           review done twice (1 rework round, no hand-off into the second round); 5 hand-offs;
           procedures {申请, 补正}; satisfaction 5.
I3  v1 LV  cancelled  one completed and one cancelled task; satisfaction "good" (not a number).
I4  v2 HV_S completed 2025-11-03 09:00 → 2025-11-04 09:00: 1 day, 1 WD; a zero-length task that
           must not count as its own predecessor: 1 hand-off.
I5  v1 LV  active     one completed task and one open, overdue task.
I6  v1 LV  completed  started 2025-08-01: outside the range.
I7  other v1, no category, completed 2025-11-03 09:00 → 2025-11-03 21:00: half a day, 0 WD.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bpmn_service import cli
from bpmn_service.db.models import (
    Deployment,
    HistoricTask,
    HistoricWait,
    ProcessDefinition,
    ProcessInstance,
    Task,
)
from bpmn_service.services.lead_time import marked_elements
from bpmn_service.services.metrics import compute
from conftest import DATA, Api

BEIJING = timezone(timedelta(hours=8))
RANGE = {"from": "2025-09-01", "to": "2026-01-01"}


def bj(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING).astimezone(UTC)


class History:
    """Builds the rows; remembers the completed tasks per instance for the metrics cross-check."""

    def __init__(self) -> None:
        self.rows: list[Any] = []
        self.tasks: dict[str, list[HistoricTask]] = {}
        # Task properties per instance (I2's application is online: no hall visit).
        self.props: dict[str, dict[str, dict[str, str]]] = {}

    def definition(self, key: str, version: int, xml: str = "<definitions/>") -> str:
        if not any(isinstance(r, Deployment) for r in self.rows):
            self.rows.append(
                Deployment(
                    id="dep-1",
                    name="kpi",
                    source="test",
                    deployed_at=bj(8, 1),
                    deployed_by="analyst",
                )
            )
        definition_id = f"{key}:{version}"
        self.rows.append(
            ProcessDefinition(
                id=definition_id,
                key=key,
                version=version,
                name=key,
                checksum=f"{key}{version}",
                resource_name=f"{key}.bpmn",
                bpmn_xml=xml,
                spec_json="{}",
                start_form=[],
                message_starts=[],
                deployment_id="dep-1",
                deployed_at=bj(8, 1),
            )
        )
        return definition_id

    def instance(
        self,
        name: str,
        *,
        version: int,
        category: str | None,
        status: str,
        started: datetime,
        ended: datetime | None,
        key: str = "kpi",
        variables: dict[str, Any] | None = None,
    ) -> str:
        self.rows.append(
            ProcessInstance(
                id=name,
                definition_id=f"{key}:{version}",
                definition_key=key,
                version=version,
                business_key=name,
                status=status,
                state="{}",
                variables=variables or {},
                started_at=started,
                started_by="clerk",
                ended_at=ended,
                category=category,
            )
        )
        self.tasks[name] = []
        return name

    def task(
        self,
        instance: str,
        element: str,
        groups: list[str],
        lane: str,
        created: datetime,
        claimed: datetime | None,
        ended: datetime,
        *,
        due: datetime | None = None,
        reason: str = "completed",
        procedure: str | None = None,
        hall_visit: bool = False,
        key: str = "kpi",
    ) -> None:
        row = HistoricTask(
            id=str(uuid.uuid4()),
            instance_id=instance,
            definition_key=key,
            element_id=element,
            name=f"task {element}",
            lane=lane,
            candidate_groups=groups,
            assignee="someone" if claimed else None,
            created_at=created,
            claimed_at=claimed,
            due_at=due,
            ended_at=ended,
            end_reason=reason,
            completed_by="someone" if reason == "completed" else None,
            customer_procedure=procedure,
            hall_visit=hall_visit,
            external_party=bool(groups) and set(groups) <= {"customer", "contractor"},
        )
        self.rows.append(row)
        if reason == "completed":
            self.tasks[instance].append(row)
        props = self.props.setdefault(instance, {}).setdefault(element, {})
        if procedure:
            props["customerProcedure"] = procedure
        if hall_visit:
            props["hallVisit"] = "true"

    def wait(
        self, instance: str, element: str, start: datetime, end: datetime, external: bool
    ) -> None:
        self.rows.append(
            HistoricWait(
                instance_id=instance,
                definition_key="kpi",
                element_id=element,
                message_name=f"msg_{element}",
                lane="客户" if external else "业扩专责",
                external_party=external,
                started_at=start,
                ended_at=end,
            )
        )


CLERK, SPECIALIST, CUSTOMER = ["hall_clerk"], ["yk_specialist"], ["customer"]


def build(api: Api) -> History:
    h = History()
    h.definition("kpi", 1)
    h.definition("kpi", 2)
    h.definition("other", 1)

    # I1: across the National Day holiday.
    i1 = h.instance(
        "I1",
        version=1,
        category="LV",
        status="completed",
        started=bj(9, 30, 10),
        ended=bj(10, 10, 10),
        variables={"score1to5": 3, "customerCategory": "LV"},
    )
    h.task(i1, "accept", CLERK, "营业厅", bj(9, 30, 10), bj(9, 30, 11), bj(9, 30, 13),
           due=bj(9, 30, 18), procedure="申请", hall_visit=True)  # fmt: skip
    h.task(i1, "survey", SPECIALIST, "业扩专责", bj(9, 30, 13), bj(10, 9, 9), bj(10, 9, 10),
           due=bj(10, 9, 9, 30))  # fmt: skip
    h.task(i1, "customer_docs", CUSTOMER, "客户", bj(10, 9, 10), bj(10, 9, 10, 30),
           bj(10, 10, 9), procedure="提交资料", hall_visit=True)  # fmt: skip
    h.task(i1, "approve", SPECIALIST, "业扩专责", bj(10, 10, 9), bj(10, 10, 9, 30), bj(10, 10, 10))

    # I2: co-sign round, rework, external and internal waits.
    i2 = h.instance(
        "I2",
        version=1,
        category="LV",
        status="completed",
        started=bj(11, 3, 9),
        ended=bj(11, 7, 15),
        variables={"score1to5": 5.0},
    )
    h.task(i2, "accept", CLERK, "营业厅", bj(11, 3, 9), bj(11, 3, 9, 30), bj(11, 3, 10),
           due=bj(11, 3, 10), procedure="申请")  # fmt: skip
    for groups, end_hour in ((["om_dept"], 10), (["dispatch"], 12), (["metering"], 14)):
        h.task(i2, "cosign", groups, "会签", bj(11, 3, 10), bj(11, 3, 11), bj(11, 4, end_hour))
    h.task(i2, "review", SPECIALIST, "业扩专责", bj(11, 4, 14), bj(11, 4, 15), bj(11, 4, 16))
    h.task(i2, "fix_docs", CUSTOMER, "客户", bj(11, 4, 16), bj(11, 4, 17), bj(11, 5, 10),
           procedure="补正")  # fmt: skip
    h.task(i2, "review", SPECIALIST, "业扩专责", bj(11, 5, 10), bj(11, 5, 11), bj(11, 5, 12))
    h.wait(i2, "wait_payment", bj(11, 5, 12), bj(11, 7, 9), external=True)
    h.wait(i2, "wait_internal", bj(11, 6, 9), bj(11, 7, 9), external=False)
    h.task(i2, "finish", ["archive"], "档案", bj(11, 7, 9), bj(11, 7, 9), bj(11, 7, 15))

    # I3: cancelled.
    i3 = h.instance(
        "I3",
        version=1,
        category="LV",
        status="cancelled",
        started=bj(11, 10, 9),
        ended=bj(11, 10, 12),
        variables={"score1to5": "good"},
    )
    h.task(i3, "accept", CLERK, "营业厅", bj(11, 10, 9), bj(11, 10, 9, 15), bj(11, 10, 9, 45))
    h.task(i3, "survey", SPECIALIST, "业扩专责", bj(11, 10, 9, 45), None, bj(11, 10, 12),
           reason="cancelled")  # fmt: skip

    # I4: version 2, HV_S, with a zero-length task.
    i4 = h.instance(
        "I4",
        version=2,
        category="HV_S",
        status="completed",
        started=bj(11, 3, 9),
        ended=bj(11, 4, 9),
    )
    h.task(i4, "accept", CLERK, "营业厅", bj(11, 3, 9), bj(11, 3, 10), bj(11, 3, 11),
           procedure="申请", hall_visit=True)  # fmt: skip
    h.task(i4, "check", ["om_dept"], "运检", bj(11, 3, 11), bj(11, 3, 11), bj(11, 3, 11))
    h.task(i4, "finish", ["om_dept"], "运检", bj(11, 3, 11), bj(11, 3, 11, 30), bj(11, 3, 12))

    # I5: still active, with an overdue open task.
    i5 = h.instance(
        "I5", version=1, category="LV", status="active", started=bj(11, 12, 9), ended=None
    )
    h.task(i5, "accept", CLERK, "营业厅", bj(11, 12, 9), bj(11, 12, 9, 30), bj(11, 12, 10))
    h.rows.append(
        Task(
            id=str(uuid.uuid4()),
            instance_id=i5,
            definition_id="kpi:1",
            definition_key="kpi",
            business_key=i5,
            element_id="survey",
            spec_name="survey",
            name="task survey",
            lane="业扩专责",
            due_at=bj(11, 14, 18),
            created_at=bj(11, 12, 10),
            form_values={},
            properties={},
        )
    )

    # I6: before the range.
    i6 = h.instance(
        "I6",
        version=1,
        category="LV",
        status="completed",
        started=bj(8, 1, 9),
        ended=bj(8, 5, 9),
        variables={"score1to5": 1},
    )
    h.task(i6, "accept", CLERK, "营业厅", bj(8, 1, 9), bj(8, 1, 10), bj(8, 1, 11), due=bj(8, 1, 10))

    # I7: another process without a category.
    i7 = h.instance(
        "I7",
        key="other",
        version=1,
        category=None,
        status="completed",
        started=bj(11, 3, 9),
        ended=bj(11, 3, 21),
    )
    h.task(i7, "only", CLERK, "营业厅", bj(11, 3, 9), bj(11, 3, 10), bj(11, 3, 21), key="other")

    with api.ctx.sessions.begin() as session:
        for row in h.rows:
            session.add(row)
            session.flush()
    return h


def stats(avg: float | None, p50: float | None, p90: float | None) -> dict[str, Any]:
    return {"avg": avg, "p50": p50, "p90": p90}


@pytest.fixture
def history(api: Api) -> History:
    return build(api)


def report(api: Api, view: str, user: str = "analyst", **params: Any) -> Any:
    response = api.get(f"/analytics/{view}", user, params={**RANGE, **params})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.usefixtures("history")
def test_process_kpis(api: Api) -> None:
    body = report(api, "processes")
    assert body["query"]["started_from"] == "2025-08-31T16:00:00Z"
    assert body["query"]["satisfaction_variable"] == "score1to5"
    rows = {(r["key"], r["version"], r["category"]): r for r in body["items"]}
    assert list(rows) == [("kpi", 1, "LV"), ("kpi", 2, "HV_S"), ("other", 1, None)]

    lv = rows["kpi", 1, "LV"]
    assert (lv["started"], lv["completed"], lv["cancelled"], lv["active"]) == (4, 2, 1, 1)
    # I1 10 days, I2 4.25 days; p90 interpolates: 4.25 + 0.9 × 5.75.
    assert lv["cycle_days"] == stats(7.125, 7.125, 9.425)
    # I1 2 WD across the holiday, I2 4 WD.
    assert lv["cycle_working_days"] == stats(3, 3, 3.8)
    # I1 2 − 1 (customer task), I2 4 − 1 (customer task) − 2 (external wait).
    assert lv["utility_working_days"] == stats(1, 1, 1)
    assert lv["customer_procedures"] == stats(2, 2, None)
    assert lv["hall_visits_avg"] == 1  # I1 2, I2 0
    assert lv["handoffs_avg"] == 3  # I1 1, I2 5
    assert lv["rework_loops_avg"] == 0.5  # I2's second review round
    assert lv["instances_with_rework"] == 1
    assert (lv["satisfaction_avg"], lv["satisfaction_responses"]) == (4, 2)
    assert (lv["db_score_procedures"], lv["db_score_time"], lv["db_score"]) == (100, 100, 100)

    hv = rows["kpi", 2, "HV_S"]
    assert (hv["started"], hv["completed"], hv["cancelled"], hv["active"]) == (1, 1, 0, 0)
    assert hv["cycle_days"] == stats(1, 1, 1)
    assert hv["cycle_working_days"] == stats(1, 1, 1)
    assert hv["utility_working_days"] == stats(1, 1, 1)
    assert (hv["hall_visits_avg"], hv["handoffs_avg"], hv["rework_loops_avg"]) == (1, 1, 0)
    assert (hv["satisfaction_avg"], hv["satisfaction_responses"]) == (None, 0)

    other = rows["other", 1, None]
    assert other["cycle_days"] == stats(0.5, 0.5, 0.5)
    assert other["cycle_working_days"] == stats(0, 0, 0)
    assert other["handoffs_avg"] == 0


def test_handoffs_and_visits_match_the_per_instance_metrics(api: Api, history: History) -> None:
    """The SQL reproduces services/metrics.py: sums over completed instances agree."""
    per_instance = {
        name: compute(
            name,
            sorted(tasks, key=lambda t: (t.ended_at, t.created_at, t.id)),
            history.props.get(name, {}),
        )
        for name, tasks in history.tasks.items()
    }
    assert [per_instance[i].handoffs for i in ("I1", "I2", "I4", "I7")] == [1, 5, 1, 0]
    assert [per_instance[i].hall_visits for i in ("I1", "I2", "I4")] == [2, 0, 1]
    assert [len(set(per_instance[i].customer_procedures)) for i in ("I1", "I2")] == [2, 2]
    rows = {(r["key"], r["version"]): r for r in report(api, "processes")["items"]}
    lv, hv = rows["kpi", 1], rows["kpi", 2]
    assert lv["handoffs_avg"] * lv["completed"] == per_instance["I1"].handoffs + (
        per_instance["I2"].handoffs
    )
    assert hv["handoffs_avg"] == per_instance["I4"].handoffs


@pytest.mark.usefixtures("history")
def test_filters(api: Api) -> None:
    only_lv = report(api, "processes", category="LV")["items"]
    assert [(r["key"], r["version"], r["category"]) for r in only_lv] == [("kpi", 1, "LV")]
    v2 = report(api, "processes", key="kpi", version=2)["items"]
    assert [(r["version"], r["category"], r["started"]) for r in v2] == [(2, "HV_S", 1)]
    # Without a range I6 (August) counts too; its satisfaction 1 joins 3 and 5.
    everything = api.get("/analytics/processes", "analyst", params={"category": "LV"}).json()
    [lv] = everything["items"]
    assert (lv["started"], lv["completed"], lv["satisfaction_responses"]) == (5, 3, 3)
    assert lv["satisfaction_avg"] == 3
    # A range in date-times with offsets: only I1 (started 2025-09-30 10:00 Beijing).
    narrow = api.get(
        "/analytics/processes",
        "analyst",
        params={"from": "2025-09-30T10:00:00+08:00", "to": "2025-09-30T02:00:01Z"},
    ).json()["items"]
    assert [(r["started"], r["cycle_working_days"]["avg"]) for r in narrow] == [(1, 2)]
    # Another satisfaction variable that nobody set.
    other = report(api, "processes", key="kpi", satisfaction_variable="npsScore")
    assert {r["satisfaction_responses"] for r in other["items"]} == {0}


@pytest.mark.usefixtures("history")
def test_steps(api: Api) -> None:
    body = report(api, "steps", key="kpi", version=1)
    steps = {r["element_id"]: r for r in body["items"]}
    assert list(steps) == sorted(steps)
    assert set(steps) == {"accept", "approve", "cosign", "customer_docs", "finish", "fix_docs",
                          "review", "survey"}  # fmt: skip

    accept = steps["accept"]
    assert (accept["name"], accept["lane"]) == ("task accept", "营业厅")
    assert (accept["completions"], accept["cancellations"]) == (4, 0)
    # Waiting (created → claimed): I3 0.25 h, I2 0.5 h, I5 0.5 h, I1 1 h.
    assert accept["waiting_hours"] == stats(0.5625, 0.5, 0.85)
    # Working (claimed → ended): 0.5, 0.5, 0.5 and I1's 2 h.
    assert accept["working_hours"] == stats(0.875, 0.5, 1.55)
    # I2's task ended exactly at its due date: on time.
    assert accept["due"] == {"with_due": 2, "on_time": 2, "late": 0, "compliance_percent": 100}
    assert accept["rework_rounds"] == 0

    survey = steps["survey"]
    assert (survey["completions"], survey["cancellations"]) == (1, 1)
    assert survey["waiting_hours"] == stats(212, 212, 212)  # 9 days less 4 hours
    assert survey["working_hours"] == stats(1, 1, 1)
    assert survey["due"] == {"with_due": 1, "on_time": 0, "late": 1, "compliance_percent": 0}

    cosign = steps["cosign"]
    assert cosign["completions"] == 3
    assert cosign["rework_rounds"] == 0  # three tasks created together are one round
    assert cosign["waiting_hours"] == stats(1, 1, 1)
    assert cosign["working_hours"] == stats(25, 25, 26.6)

    review = steps["review"]
    assert (review["completions"], review["rework_rounds"], review["instances_with_rework"]) == (
        2,
        1,
        1,
    )
    assert review["due"]["compliance_percent"] is None


@pytest.mark.usefixtures("history")
def test_lanes(api: Api) -> None:
    lanes = {r["lane"]: r for r in report(api, "lanes", key="kpi", version=1)["items"]}
    assert set(lanes) == {"营业厅", "业扩专责", "客户", "会签", "档案"}
    specialist = lanes["业扩专责"]
    assert specialist["elements"] == 3  # survey, approve, review
    assert (specialist["completions"], specialist["cancellations"]) == (4, 1)
    # Waiting: approve 0.5, review 1 and 1, survey 212.
    assert specialist["waiting_hours"] == stats(53.625, 1, 148.7)
    assert specialist["rework_rounds"] == 1
    assert specialist["due"] == {"with_due": 1, "on_time": 0, "late": 1, "compliance_percent": 0}
    assert lanes["会签"]["completions"] == 3
    assert lanes["客户"]["working_hours"]["avg"] == 19.75  # 22.5 h and 17 h


@pytest.mark.usefixtures("history")
def test_time_limits(api: Api) -> None:
    items = report(api, "time-limits", key="kpi")["items"]
    assert items == [
        {
            "key": "kpi",
            "element_id": "accept",
            "name": "task accept",
            "lane": "营业厅",
            "completed": 2,
            "on_time": 2,
            "late": 0,
            "compliance_percent": 100,
            "open_tasks": 0,
            "open_overdue": 0,
        },
        {
            "key": "kpi",
            "element_id": "survey",
            "name": "task survey",
            "lane": "业扩专责",
            "completed": 1,
            "on_time": 0,
            "late": 1,
            "compliance_percent": 0,
            "open_tasks": 1,
            "open_overdue": 1,
        },
    ]


@pytest.mark.usefixtures("history")
def test_access_and_validation(api: Api) -> None:
    for view in ("processes", "steps", "lanes", "time-limits"):
        assert api.get(f"/analytics/{view}", None).status_code == 401
        assert api.get(f"/analytics/{view}", "clerk").status_code == 403
        for user in ("analyst", "leader", "admin"):  # leader is in the supervisor group
            assert api.get(f"/analytics/{view}", user).status_code == 200

    def problem(**params: Any) -> str:
        response = api.get("/analytics/processes", "analyst", params=params)
        assert response.status_code == 422, response.text
        return str(response.json()["message"])

    assert "must be later than from" in problem(**{"from": "2025-10-01", "to": "2025-10-01"})
    assert "no process with key 'nope'" in problem(key="nope")
    assert "has no version 3 (deployed: 1, 2)" in problem(key="kpi", version=3)
    assert "needs a process key" in problem(version=1)
    assert "is neither a date" in problem(**{"from": "yesterday"})
    assert "is neither a date" in problem(to="2025-10-01T00:00:00")  # no offset
    assert "not a variable name" in problem(satisfaction_variable="a.b")


# Moments whose UTC time is beyond the years 1 to 9999 (a date is Beijing midnight): they used
# to be a 500 (OverflowError converting them to UTC).
BEYOND_UTC = [
    ("from", "0001-01-01T00:00:00+08:00"),
    ("from", "0001-01-01"),
    ("to", "9999-12-31T23:59:59-08:00"),
    ("to", "9999-12-31T23:59:59.999999-00:01"),
]


@pytest.mark.parametrize(("name", "value"), BEYOND_UTC)
@pytest.mark.parametrize("view", ["processes", "steps", "lanes", "time-limits"])
def test_a_moment_beyond_utc_is_422_naming_it(api: Api, view: str, name: str, value: str) -> None:
    response = api.get(f"/analytics/{view}", "analyst", params={name: value})
    assert response.status_code == 422, response.text
    [detail] = response.json()["details"]
    assert detail["field"] == name and "UTC" in detail["message"], detail
    # The first and the last moment UTC holds are fine.
    edges = {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59.999999Z"}
    assert api.get(f"/analytics/{view}", "analyst", params=edges).status_code == 200


def cli_environment(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """`bpmn-service report` reads the test's database and files."""
    settings = api.ctx.settings
    monkeypatch.setenv("BPMN_DATABASE_URL", settings.database_url)
    if settings.database_schema:
        monkeypatch.setenv("BPMN_DATABASE_SCHEMA", settings.database_schema)
    for name in ("users_file", "calendar_file", "time_limits_file", "registry_file"):
        monkeypatch.setenv(f"BPMN_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setenv("BPMN_PROCESSES_DIR", str(settings.processes_dir))


@pytest.mark.parametrize(("name", "value"), BEYOND_UTC)
def test_cli_report_refuses_a_moment_beyond_utc_with_exit_2(
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
) -> None:
    cli_environment(api, monkeypatch)
    assert cli.main(["report", f"--{name}", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpmn-service: ") and "Traceback" not in err
    assert f"{name}: " in err and "UTC" in err, err


@pytest.mark.usefixtures("history")
def test_cli_report(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_environment(api, monkeypatch)
    args = ["report", "--key", "kpi", "--from", "2025-09-01", "--to", "2026-01-01"]
    assert cli.main([*args, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    api_body = report(api, "processes", key="kpi")
    assert printed["processes"] == api_body["items"]
    assert printed["steps"] == report(api, "steps", key="kpi")["items"]
    assert printed["time-limits"] == report(api, "time-limits", key="kpi")["items"]

    assert cli.main([*args, "--format", "csv", "--view", "lanes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("key,lane,elements,completions,cancellations,waiting_hours_avg,")
    assert len(lines) == 1 + 6  # the header; five lanes in v1, 运检 only in v2

    assert cli.main([*args, "--category", "LV"]) == 0
    table = capsys.readouterr().out
    assert "kpi v1 LV" in table and "cycle_working_days_p90" in table and "3.8" in table

    assert cli.main(["report", "--key", "nope"]) == 2
    assert "no process with key 'nope'" in capsys.readouterr().err


def test_a_real_instance_is_counted(api: Api) -> None:
    assert api.deploy(DATA / "approval.bpmn").status_code == 201
    started = api.start("approval", "REQ-KPI", {"amount": 5, "purpose": "kpi"}, user="clerk")
    assert started.status_code == 201, started.text
    [review] = started.json()["tasks"]
    assert api.claim(review["id"], "admin").status_code == 200
    done = api.complete(review["id"], "admin", {"decision": "APPROVE"})
    assert done.json()["instance_status"] == "completed"

    [row] = api.get("/analytics/processes", "analyst", params={"key": "approval"}).json()["items"]
    assert (row["key"], row["version"], row["category"]) == ("approval", 1, None)
    assert (row["started"], row["completed"], row["cancelled"]) == (1, 1, 0)
    assert row["cycle_days"]["avg"] is not None and row["cycle_days"]["avg"] < 0.01
    assert row["cycle_working_days"]["avg"] == 0
    assert row["handoffs_avg"] == 0
    [step] = api.get("/analytics/steps", "analyst", params={"key": "approval"}).json()["items"]
    assert (step["element_id"], step["completions"], step["lane"]) == ("review", 1, None)
    assert step["due"] == {"with_due": 1, "on_time": 1, "late": 0, "compliance_percent": 100}
    [limit] = api.get("/analytics/time-limits", "analyst", params={"key": "approval"}).json()[
        "items"
    ]
    assert (limit["element_id"], limit["completed"], limit["on_time"]) == ("review", 1, 1)


LEAD_MODEL = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="lead" isExecutable="true">
    <bpmn:userTask id="power_on">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="leadTimeEnd" value="true"/>
      </camunda:properties></bpmn:extensionElements>
    </bpmn:userTask>
  </bpmn:process>
  <bpmn:process id="elsewhere"><bpmn:userTask id="archive">
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="leadTimeEnd" value="true"/>
    </camunda:properties></bpmn:extensionElements>
  </bpmn:userTask></bpmn:process>
</bpmn:definitions>"""


def test_the_cycle_runs_to_the_step_marked_lead_time_end(api: Api) -> None:
    """Power-on (leadTimeEnd) ends the cycle: archiving and the customer's evaluation after it
    neither lengthen it nor, as customer time, shorten the utility's share."""
    h = History()
    h.definition("lead", 1, LEAD_MODEL)
    # L1 powered on 11-05 10:00 (2 WD after its start); archived and evaluated until 11-12.
    l1 = h.instance("L1", key="lead", version=1, category="LV", status="completed",
                    started=bj(11, 3, 9), ended=bj(11, 12, 10))  # fmt: skip
    h.task(l1, "docs", CUSTOMER, "客户", bj(11, 3, 10), bj(11, 3, 10), bj(11, 4, 10), key="lead")
    h.task(l1, "power_on", ["metering"], "计量", bj(11, 4, 10), bj(11, 4, 11), bj(11, 5, 10),
           key="lead")  # fmt: skip
    h.task(l1, "evaluate", CUSTOMER, "客户", bj(11, 5, 10), None, bj(11, 10, 10), key="lead")
    h.task(l1, "archive", ["archive"], "档案", bj(11, 5, 10), bj(11, 5, 11), bj(11, 12, 10),
           key="lead")  # fmt: skip
    # L2 refused before power-on: its cycle runs to its end.
    h.instance("L2", key="lead", version=1, category="LV", status="completed",
               started=bj(11, 3, 9), ended=bj(11, 3, 21))  # fmt: skip
    with api.ctx.sessions.begin() as session:
        for row in h.rows:
            session.add(row)
            session.flush()

    [row] = report(api, "processes", key="lead")["items"]
    # L1 49 hours, L2 12 hours (without the marker: L1 9 days and a hour).
    assert row["cycle_days"] == stats(1.2708, 1.2708, 1.8875)
    # L1 2 WD (11-04, 11-05; 7 to the end), L2 0.
    assert row["cycle_working_days"] == stats(1, 1, 1.8)
    # L1 2 − 1 (the customer's documents); the evaluation after power-on is not subtracted.
    assert row["utility_working_days"] == stats(0.5, 0.5, 0.9)


def test_the_shipped_models_mark_power_on() -> None:
    """The reports' and the simulation's lead time end at 送电 / 立即送电, not at the archive
    or the customer's evaluation after it."""
    processes = DATA.parents[1] / "processes"
    current = (processes / "yekuo_current.bpmn").read_bytes()
    streamlined = (processes / "yekuo_streamlined.bpmn").read_bytes()
    assert marked_elements(current, "yekuo_current") == {"A-UT17"}
    assert marked_elements(streamlined, "yekuo_streamlined") == {"B-UT14"}
    assert marked_elements(streamlined, "another_key") == frozenset()
