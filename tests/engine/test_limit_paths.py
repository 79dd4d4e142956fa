"""A time limit whose stop is not on every path from its start: the clock runs on to the end of
the case there, so each such case breaches and escalates though nobody is late. The check warns
at the start's property, naming the limit and one such path; runs that pass a stop on some
branch of a parallel split, reminders beside a task and stops inside a subprocess do not count."""

from __future__ import annotations

from pathlib import Path

from bpmn_service.engine import CheckContext, check_bpmn
from bpmn_service.errors import BpmnProblem

SHIPPED = Path(__file__).resolve().parents[2] / "processes"
CONTEXT = CheckContext(lambda _key, _lane: ["clerks"])
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">\n'
)


def limited(sid: str, role: str, limit: str = "X-T-REPLY", tag: str = "userTask") -> str:
    """A step declaring `timeLimit.<role>`, its property on a line of its own."""
    group = ' camunda:candidateGroups="clerks"' if tag == "userTask" else ""
    return (
        f'<bpmn:{tag} id="{sid}"{group}><bpmn:extensionElements><camunda:properties>\n'
        f'<camunda:property name="timeLimit.{role}" value="{limit}"/>\n'
        f"</camunda:properties></bpmn:extensionElements></bpmn:{tag}>\n"
    )


def task(sid: str) -> str:
    return f'<bpmn:userTask id="{sid}" camunda:candidateGroups="clerks"/>\n'


def flow(source: str, target: str, condition: str | None = None) -> str:
    cond = (
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
        "</bpmn:conditionExpression>"
        if condition
        else ""
    )
    return (
        f'<bpmn:sequenceFlow id="{source}_{target}" sourceRef="{source}" targetRef="{target}">'
        f"{cond}</bpmn:sequenceFlow>\n"
    )


def check(body: str) -> tuple[str, list[BpmnProblem]]:
    xml = f'{HEAD}<bpmn:process id="p" isExecutable="true">\n{body}</bpmn:process>\n'
    xml += "</bpmn:definitions>\n"
    found = check_bpmn(xml.encode(), "p.bpmn", CONTEXT)[1]
    return xml, [f for f in found if f.code == "structure.time-limit-path"]


START = '<bpmn:startEvent id="start"/>\n<bpmn:endEvent id="end"/>\n'
BRANCHES = (
    START
    + limited("accept", "start")
    + '<bpmn:exclusiveGateway id="kind" default="kind_lv"/>\n'
    + limited("reply", "stop")
    + task("survey")
    + task("connect")
    + '<bpmn:exclusiveGateway id="merge"/>\n'
    + flow("start", "accept")
    + flow("accept", "kind")
    + flow("kind", "reply", "category == 'HV'")
    + flow("kind", "survey")
    + flow("reply", "merge")
    + flow("survey", "merge")
    + flow("merge", "connect")
    + flow("connect", "end")
).replace('default="kind_lv"', 'default="kind_survey"')


def test_a_branch_without_the_stop_is_warned_at_the_start_with_the_path() -> None:
    xml, [finding] = check(BRANCHES)
    assert finding.severity == "warning" and finding.element == "accept"
    lines = xml.splitlines()
    assert 'name="timeLimit.start"' in lines[(finding.line or 0) - 1]
    assert finding.message.startswith("time limit X-T-REPLY starts at accept, but a case can go")
    assert "accept → kind → survey → merge → connect → end, where the case ends" in finding.message
    assert "(reply)" in finding.message and "breaches" in finding.message
    assert "timeLimit.stop = X-T-REPLY" in finding.hint and "reply" in finding.hint


def test_a_stop_on_every_branch_is_no_finding() -> None:
    both = BRANCHES.replace(task("survey"), limited("survey", "stopAtClaim"))
    assert check(both)[1] == []
    # A stop after the merge stops the clock on every path too.
    after = BRANCHES.replace(limited("reply", "stop"), task("reply")).replace(
        task("connect"), limited("connect", "stop")
    )
    assert check(after)[1] == []


def test_a_rework_loop_back_to_the_start_is_not_an_end() -> None:
    body = (
        START
        + limited("accept", "start")
        + '<bpmn:exclusiveGateway id="ok" default="ok_reply"/>\n'
        + limited("reply", "stop")
        + flow("start", "accept")
        + flow("accept", "ok")
        + flow("ok", "accept", "docsMissing")
        + flow("ok", "reply")
        + flow("reply", "end")
    )
    assert check(body)[1] == []


def test_a_parallel_branch_that_ends_first_does_not_end_the_case() -> None:
    body = (
        START
        + limited("accept", "start")
        + '<bpmn:parallelGateway id="split"/>\n'
        + task("notify")
        + '<bpmn:endEvent id="notified"/>\n'
        + limited("reply", "stop")
        + flow("start", "accept")
        + flow("accept", "split")
        + flow("split", "notify")
        + flow("notify", "notified")
        + flow("split", "reply")
        + flow("reply", "end")
    )
    assert check(body)[1] == []
    # Without the stop on either branch, the case ends with the clock running.
    _xml, [finding] = check(body.replace(limited("reply", "stop"), task("reply")) + limited(
        "later", "stop"
    ))  # fmt: skip
    assert finding.element == "accept"


def test_a_reminder_beside_the_task_is_no_path_but_an_interrupting_timer_is() -> None:
    def timer(cancel: str) -> str:
        return (
            f'<bpmn:boundaryEvent id="late" attachedToRef="wait" cancelActivity="{cancel}">'
            "<bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration>"
            "</bpmn:timerEventDefinition></bpmn:boundaryEvent>\n"
        )

    body = (
        START
        + limited("accept", "start")
        + task("wait")
        + limited("reply", "stop")
        + task("remind")
        + '<bpmn:endEvent id="reminded"/>\n'
        + flow("start", "accept")
        + flow("accept", "wait")
        + flow("wait", "reply")
        + flow("reply", "end")
        + flow("late", "remind")
        + flow("remind", "reminded")
    )
    assert check(body + timer("false"))[1] == []
    _xml, [finding] = check(body + timer("true"))
    assert "accept → wait → late → remind → reminded, where the case ends" in finding.message


def test_a_stop_inside_a_subprocess_is_passed_on_the_way_through_it() -> None:
    inner = (
        '<bpmn:subProcess id="sub">\n<bpmn:startEvent id="sub_start"/>\n'
        + limited("reply", "stop")
        + '<bpmn:endEvent id="sub_done"/>\n'
        + flow("sub_start", "reply")
        + flow("reply", "sub_done")
        + "</bpmn:subProcess>\n"
    )
    body = (
        START
        + limited("accept", "start")
        + inner
        + flow("start", "accept")
        + flow("accept", "sub")
        + flow("sub", "end")
    )
    assert check(body)[1] == []
    unstopped = body.replace(limited("reply", "stop"), task("reply")) + limited("x", "stop")
    _xml, [finding] = check(unstopped)
    assert "accept → sub → sub_start → reply → sub_done → end, where" in finding.message


def test_the_shipped_models_stop_every_limit_on_every_path() -> None:
    for path in sorted(SHIPPED.glob("*.bpmn")):
        found = check_bpmn(path.read_bytes(), path.name, CONTEXT)[1]
        assert [f for f in found if f.code == "structure.time-limit-path"] == [], path.name


def test_the_low_voltage_branch_without_the_plan_stop_is_named() -> None:
    """The edit that drops B-UT02's stop of B-T-PLAN (B-UT07 keeps one): on the low-voltage
    branch the clock never stopped, and every such case breached and escalated."""
    path = SHIPPED / "yekuo_streamlined.bpmn"
    text = path.read_text(encoding="utf-8")
    stop = '<camunda:property name="timeLimit.stop" value="B-T-PLAN"/>'
    assert text.count(stop) == 2
    edited = text.replace(stop, "", 1)
    found = check_bpmn(edited.encode(), path.name, CONTEXT)[1]
    [finding] = [f for f in found if f.code == "structure.time-limit-path"]
    assert finding.element == "B-GW03" and "time limit B-T-PLAN" in finding.message
    assert "B-GW03 → B-UT02 → " in finding.message and "(B-UT07)" in finding.message
    assert 'name="timeLimit.start" value="B-T-PLAN"' in edited.splitlines()[finding.line - 1]
