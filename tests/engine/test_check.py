"""The check an analyst runs before deploying (engine level, no HTTP): every finding of a file,
each with file, line, element, code and a hint, on a Modeler-style process with lanes, forms, a
co-sign and a rework loop, and on tiny processes for the data-flow rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from kit import BPMN
from lxml import etree

from bpmn_service.engine import CheckContext, check_bpmn
from bpmn_service.errors import BpmnProblem
from bpmn_service.lanes import LaneGroups

DATA = Path(__file__).resolve().parents[1] / "data" / "check"
LANES = LaneGroups.load(DATA / "lane-groups.toml")
CONTEXT = CheckContext(LANES.groups_for, frozenset({"clerk", "manager", "meterman"}))
CONTEXT_SHIPPED = CheckContext(
    LaneGroups.load(
        Path(__file__).resolve().parents[2] / "processes" / "lane-groups.toml"
    ).groups_for
)


def findings(path: Path) -> list[BpmnProblem]:
    _compiled, found = check_bpmn(path.read_bytes(), path.name, CONTEXT)
    return found


def line_of(path: Path, element_id: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if f'id="{element_id}"' in line)


def test_a_clean_modeler_style_process_has_no_finding() -> None:
    compiled, found = check_bpmn(
        (BPMN / "small_connection.bpmn").read_bytes(), "small_connection.bpmn", CONTEXT
    )
    assert found == []
    assert compiled is not None and compiled.key == "small_connection"


def test_every_mistake_of_a_file_is_listed_where_it_is() -> None:
    path = DATA / "small_connection_mistakes.bpmn"
    found = findings(path)
    assert {(f.severity, f.code, f.element) for f in found} == {
        ("error", "script.language", "tally"),
        ("error", "data.unset-variable", "f_gw_plan"),
        ("error", "data.unset-variable", "f_gw_powered"),
        ("error", "structure.dangling-reference", "f_supplement_review"),
        ("warning", "lanes.other-lane", "supplement"),
        ("warning", "camunda.form-key", "rectify"),
        ("warning", "camunda.unknown-user", "rectify"),
    }
    for finding in found:
        assert finding.file == path.name and finding.hint
        assert finding.line == line_of(path, finding.element or "")
    errors = [f for f in found if f.is_error]
    assert [f.severity for f in found[: len(errors)]] == ["error"] * len(errors)  # errors first
    by_element = {f.element: f for f in found if f.code.startswith(("data.", "structure."))}
    assert "'docsOk'" in by_element["f_gw_plan"].message
    assert "no step of the process sets it" in by_element["f_gw_plan"].message
    assert "'accepted'" in by_element["f_gw_powered"].message  # the Groovy script set nothing
    assert "no step of the process sets it" in by_element["f_gw_powered"].message
    assert "'Activity_0x1deleted'" in by_element["f_supplement_review"].message
    assert "targetRef" in by_element["f_supplement_review"].message


def test_a_flow_from_a_deleted_element_is_reported_at_the_flow() -> None:
    text = (BPMN / "small_connection.bpmn").read_text(encoding="utf-8")
    text = text.replace('sourceRef="rectify" targetRef="plan_signers"', 'sourceRef="gone"'
                        ' targetRef="plan_signers"')  # fmt: skip
    _compiled, found = check_bpmn(text.encode(), "f.bpmn", CONTEXT)
    dangling = [f for f in found if f.code == "structure.dangling-reference"]
    assert [(f.element, f.severity) for f in dangling] == [("f_rectify_plan", "error")]
    assert "'gone' (sourceRef)" in dangling[0].message


# ---- the data-flow rules, on tiny processes (no diagram: only data.* findings count) ----
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">'
)
START_FORM = (
    '<bpmn:startEvent id="start"><bpmn:extensionElements><camunda:formData>'
    '<camunda:formField id="amount" type="long"/></camunda:formData></bpmn:extensionElements>'
    "</bpmn:startEvent>"
)


def data_errors(body: str, messages: str = "") -> list[BpmnProblem]:
    xml = f'{HEAD}{messages}<bpmn:process id="p" isExecutable="true">{body}</bpmn:process>'
    xml += "</bpmn:definitions>"
    _compiled, found = check_bpmn(xml.encode(), "p.bpmn", CONTEXT)
    return [f for f in found if f.code.startswith("data.")]


def unset(body: str, messages: str = "") -> list[tuple[str, str | None]]:
    """(variable, element) of each data-flow error of a process made of `body`."""
    return [(f.message.split("'")[1], f.element) for f in data_errors(body, messages)]


def flow(source: str, target: str, condition: str | None = None, fid: str | None = None) -> str:
    fid = fid or f"{source}_{target}"
    cond = (
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
        "</bpmn:conditionExpression>"
        if condition
        else ""
    )
    ends = f'sourceRef="{source}" targetRef="{target}"'
    return f'<bpmn:sequenceFlow id="{fid}" {ends}>{cond}</bpmn:sequenceFlow>'


def script(sid: str, text: str) -> str:
    return f'<bpmn:scriptTask id="{sid}"><bpmn:script>{text}</bpmn:script></bpmn:scriptTask>'


def test_a_variable_set_on_one_branch_only_is_an_error_at_the_reader() -> None:
    body = (
        START_FORM
        + '<bpmn:exclusiveGateway id="split" default="split_b"/>'
        + script("a", "level = 1")
        + script("b", "other = 2")
        + '<bpmn:exclusiveGateway id="merge"/>'
        + script("use", "result = level + 1")
        + '<bpmn:endEvent id="end"/>'
        + flow("start", "split")
        + flow("split", "a", "amount &gt; 5")
        + flow("split", "b", fid="split_b")
        + flow("a", "merge")
        + flow("b", "merge")
        + flow("merge", "use")
        + flow("use", "end")
    )
    assert unset(body) == [("level", "use")]
    [error] = data_errors(body)
    assert "not on start → split → b → merge → use" in error.message  # the path without it
    # Set on both branches, it is fine.
    assert unset(body.replace("other = 2", "level = 2")) == []


def test_a_parallel_join_has_what_every_branch_set() -> None:
    body = (
        START_FORM
        + '<bpmn:parallelGateway id="fork"/>'
        + script("a", "x = 1")
        + script("b", "y = 2")
        + '<bpmn:parallelGateway id="join"/>'
        + script("use", "z = x + y")
        + '<bpmn:endEvent id="end"/>'
        + flow("start", "fork")
        + flow("fork", "a")
        + flow("fork", "b")
        + flow("a", "join")
        + flow("b", "join")
        + flow("join", "use")
        + flow("use", "end")
    )
    assert unset(body) == []
    inclusive = body.replace("parallelGateway", "inclusiveGateway")
    assert sorted(unset(inclusive)) == [("x", "use"), ("y", "use")]


def test_script_lines_see_the_lines_before_them_and_loops_are_followed() -> None:
    body = (
        START_FORM
        + script("s", "first = amount\nsecond = first + later\nlater = 1")
        + '<bpmn:exclusiveGateway id="again" default="again_end"/>'
        + '<bpmn:endEvent id="end"/>'
        + flow("start", "s")
        + flow("s", "again")
        + flow("again", "s", "second &lt; 10", fid="again_s")
        + flow("again", "end", fid="again_end")
    )
    assert unset(body) == [("later", "s")]


def test_forms_messages_and_multi_instance_items_set_variables() -> None:
    messages = '<bpmn:message id="m" name="paid"/>'
    body = (
        START_FORM
        + '<bpmn:intermediateCatchEvent id="wait"><bpmn:extensionElements><camunda:properties>'
        '<camunda:property name="variables" value="paidAt, receipt"/></camunda:properties>'
        '</bpmn:extensionElements><bpmn:messageEventDefinition messageRef="m"/>'
        "</bpmn:intermediateCatchEvent>"
        + script("plan", 'signers = ["a", "b"]')
        + '<bpmn:userTask id="sign" camunda:candidateGroups="${signer}"><bpmn:extensionElements>'
        '<camunda:formData><camunda:formField id="ok" type="boolean"/></camunda:formData>'
        '<camunda:properties><camunda:property name="outputCollection" value="votes"/>'
        "</camunda:properties></bpmn:extensionElements>"
        '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${signers}" '
        'camunda:elementVariable="signer"/></bpmn:userTask>'
        + script("use", "n = len(votes) + len(receipt)\nm = ok")
        + '<bpmn:endEvent id="end"/>'
        + flow("start", "wait")
        + flow("wait", "plan")
        + flow("plan", "sign")
        + flow("sign", "use")
        + flow("use", "end")
    )
    messages_xml = messages
    # `ok` is each signer's: after the co-sign only the output collection is set.
    assert unset(body, messages_xml) == [("ok", "use")]
    # Without a `variables` property a message may carry anything: nothing after it is certain
    # to be missing.
    open_message = body.replace('value="paidAt, receipt"', 'value=""').replace(
        '<camunda:properties><camunda:property name="variables" value=""/></camunda:properties>',
        "",
    )
    assert unset(open_message, messages_xml) == []


@pytest.mark.parametrize(
    ("attribute", "read"),
    [
        ('camunda:candidateGroups="${team}"', "team"),
        ('camunda:dueDate="${deadline}"', "deadline"),
    ],
)
def test_assignment_expressions_are_reads(attribute: str, read: str) -> None:
    body = (
        START_FORM
        + f'<bpmn:userTask id="t" {attribute} camunda:candidateUsers="clerk"/>'
        + '<bpmn:endEvent id="end"/>'
        + flow("start", "t")
        + flow("t", "end")
    )
    assert unset(body) == [(read, "t")]


def test_a_co_sign_a_modeler_save_would_break_is_warned_and_a_broken_one_refused() -> None:
    standard = (
        START_FORM
        + script("plan", 'signers = ["a"]')
        + '<bpmn:userTask id="sign" camunda:candidateGroups="${signer}">'
        "<bpmn:multiInstanceLoopCharacteristics>"
        "<bpmn:loopDataInputRef>signers</bpmn:loopDataInputRef>"
        "<bpmn:loopDataOutputRef>votes</bpmn:loopDataOutputRef>"
        '<bpmn:inputDataItem id="signer" name="signer"/>'
        '<bpmn:outputDataItem id="vote" name="vote"/>'
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
        + '<bpmn:endEvent id="end"/>'
        + flow("start", "plan")
        + flow("plan", "sign")
        + flow("sign", "end")
    )
    xml = f'{HEAD}<bpmn:process id="p" isExecutable="true">{standard}</bpmn:process>'
    _compiled, found = check_bpmn((xml + "</bpmn:definitions>").encode(), "p.bpmn", CONTEXT)
    [warning] = [f for f in found if f.code == "structure.modeler-save"]
    assert warning.element == "sign" and warning.severity == "warning"
    assert "loopDataInputRef and loopDataOutputRef" in warning.message
    # What the Modeler's save leaves: no collection any more.
    saved = xml.replace("<bpmn:loopDataInputRef>signers</bpmn:loopDataInputRef>", "").replace(
        "<bpmn:loopDataOutputRef>votes</bpmn:loopDataOutputRef>", ""
    )
    _compiled, found = check_bpmn((saved + "</bpmn:definitions>").encode(), "p.bpmn", CONTEXT)
    [error] = [f for f in found if f.code == "structure.multi-instance"]
    assert error.element == "sign" and error.line == 1 and error.is_error
    assert "the collection was lost" in error.message


# ---- mistakes an edit in the Modeler leaves in a valid file ----
SHIPPED = Path(__file__).resolve().parents[2] / "processes" / "yekuo_current.bpmn"


def without_flow(xml: bytes, flow_id: str) -> bytes:
    """The file as the Modeler saves it after the flow is deleted: the flow, its edge and the
    incoming/outgoing references to it are gone."""
    root = etree.fromstring(xml)
    found = root.xpath(f"//*[@id='{flow_id}' or @bpmnElement='{flow_id}']")
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    refs = root.xpath(
        f"//bpmn:incoming[.='{flow_id}']|//bpmn:outgoing[.='{flow_id}']", namespaces=ns
    )
    assert len(found) == 2
    for el in [*found, *refs]:
        el.getparent().remove(el)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_a_deleted_flow_in_a_shipped_model_is_refused_where_the_case_would_stop() -> None:
    """Deleting the flow after 受理用电申请 leaves valid BPMN in which every case ends after the
    first task: the check names the step nobody reaches (once, not the 77 after it) and the step
    that now ends the case."""
    edited = without_flow(SHIPPED.read_bytes(), "Flow_A_UT01_A_GW01")
    compiled, found = check_bpmn(edited, "yekuo_current.bpmn", CONTEXT_SHIPPED)
    assert compiled is None
    reach = [f for f in found if f.code in ("structure.unreachable", "structure.dead-end")]
    assert [(f.severity, f.code, f.element) for f in reach] == [
        ("error", "structure.unreachable", "A-GW01"),
        ("warning", "structure.dead-end", "A-UT01"),
    ]
    lines = edited.decode().splitlines()
    for finding in reach:
        assert f'id="{finding.element}"' in lines[(finding.line or 0) - 1]
        assert finding.hint
    assert "'资料是否齐全?'" in reach[0].message and "77 steps after it" in reach[0].message
    assert "'受理用电申请'" in reach[1].message
    assert [f for f in found if f.is_error] == reach[:1]


def tiny(body: str) -> list[BpmnProblem]:
    xml = f'{HEAD}<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
    return check_bpmn(xml.encode(), "p.bpmn", CONTEXT)[1]


def structural(found: list[BpmnProblem]) -> list[tuple[str, str, str | None]]:
    """(severity, code, element) of each finding but the diagram's (the tiny files have none)."""
    return [(f.severity, f.code, f.element) for f in found if f.code != "structure.missing-shape"]


def test_a_loop_nothing_enters_and_a_gateway_nothing_leaves_are_errors() -> None:
    body = (
        '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="stuck"/>'
        + script("a", "x = 1")
        + script("b", "y = 2")
        + flow("start", "stuck")
        + flow("a", "b")
        + flow("b", "a")
    )
    assert structural(tiny(body)) == [
        ("error", "structure.dead-end", "stuck"),
        ("error", "structure.unreachable", "a"),
    ]
    [loop] = [f for f in tiny(body) if f.code == "structure.unreachable"]
    assert "only from steps that are unreachable themselves" in loop.message


def test_a_process_without_a_start_event_says_so_at_the_process() -> None:
    body = script("a", "x = 1") + '<bpmn:endEvent id="end"/>' + flow("a", "end")
    [finding] = [f for f in tiny(body) if f.code != "structure.missing-shape"]
    assert (finding.code, finding.element, finding.line) == ("structure.no-start", "p", 1)
    assert "no start event" in finding.message and finding.hint


def test_steps_reached_through_boundary_events_are_reachable() -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:userTask id="t" camunda:candidateUsers="clerk"/>'
        '<bpmn:boundaryEvent id="late" attachedToRef="t"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        + script("after_timer", "x = 1")
        + '<bpmn:endEvent id="end"/>'
        + flow("start", "t")
        + flow("t", "end")
        + flow("late", "after_timer")
        + flow("after_timer", "end")
    )
    assert structural(tiny(body)) == []


def test_link_events_are_refused_and_connect_nothing() -> None:
    """SpiffWorkflow 3.2 has no link events: the throw link ended the case as completed and the
    steps after the catch link never ran. Both are refused at their lines, saying what to draw,
    and the steps after the catch link are unreachable (no flow leads there)."""
    body = (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:userTask id="t" camunda:candidateUsers="clerk"/>'
        '<bpmn:intermediateThrowEvent id="go"><bpmn:linkEventDefinition id="ld1" name="L"/>'
        "</bpmn:intermediateThrowEvent>"
        '<bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition id="ld2" name="L"/>'
        "</bpmn:intermediateCatchEvent>"
        + script("after_link", "x = 1")
        + '<bpmn:endEvent id="end"/>'
        + flow("start", "t")
        + flow("t", "go")
        + flow("land", "after_link")
        + flow("after_link", "end")
    )
    found = tiny(body)
    assert sorted(structural(found)) == [
        ("error", "structure.unsupported", "go"),
        ("error", "structure.unsupported", "land"),
    ]
    for link in (f for f in found if f.code == "structure.unsupported"):
        assert link.line == 1 and "link events are not supported" in link.message
        assert "draw a sequence flow" in link.hint


def test_call_activities_and_misplaced_events_are_refused_at_their_line() -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:callActivity id="call" calledElement="approval"/>'
        '<bpmn:eventBasedGateway id="wait"/>'
        '<bpmn:userTask id="t" camunda:candidateUsers="clerk"/>'
        '<bpmn:boundaryEvent id="on_start" attachedToRef="start"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:endEvent id="end"/>'
        + flow("start", "call")
        + flow("call", "wait")
        + flow("wait", "t")
        + flow("t", "end")
        + flow("on_start", "end")
    )
    found = {f.element: f for f in tiny(body) if f.code != "structure.missing-shape"}
    assert {(e, f.code) for e, f in found.items()} == {
        ("call", "structure.unsupported"),
        ("wait", "structure.event-gateway"),
        ("on_start", "structure.dangling-reference"),
    }
    assert all(f.is_error and f.line == 1 and f.hint for f in found.values())
    assert "subprocess" in found["call"].message
    assert "userTask 't'" in found["wait"].message
    assert "startEvent 'start'" in found["on_start"].message


def test_a_file_without_any_diagram_gets_one_finding_that_says_how_to_draw_it() -> None:
    """Files from tools that export no BPMNDI: one finding at the process, not one per element,
    each repeating the hint."""
    body = '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>' + flow("start", "end")
    [finding] = tiny(body)
    assert (finding.code, finding.element, finding.severity) == (
        "structure.missing-shape",
        "p",
        "error",
    )
    assert "no diagram (BPMNDI) at all" in finding.message
    assert "bpmn-service layout FILE" in finding.hint and "layout" not in finding.message
    # A file with a diagram that misses one element names that element.
    drawn = (BPMN / "small_connection.bpmn").read_text(encoding="utf-8")
    drawn = drawn.replace('bpmnElement="f_review_gw"', 'bpmnElement="f_elsewhere"')
    _compiled, found = check_bpmn(drawn.encode(), "f.bpmn", CONTEXT)
    [missing] = [f for f in found if f.code == "structure.missing-shape"]
    assert missing.element == "f_review_gw" and missing.message.endswith("(BPMNDI)")


@pytest.mark.parametrize(
    ("task", "said"),
    [
        (
            '<bpmn:userTask id="t" flowable:candidateGroups="hall_clerk"/>',
            "its flowable:candidateGroups='hall_clerk' is another engine's extension and is not "
            "read here: write camunda:candidateGroups instead",
        ),
        (
            '<bpmn:userTask id="t"><bpmn:potentialOwner><bpmn:resourceAssignmentExpression>'
            "<bpmn:formalExpression>hall_clerk</bpmn:formalExpression>"
            "</bpmn:resourceAssignmentExpression></bpmn:potentialOwner></bpmn:userTask>",
            "its potentialOwner is not read here: write the group as camunda:candidateGroups",
        ),
    ],
    ids=["flowable", "potential-owner"],
)
def test_an_assignment_written_for_another_engine_is_named_in_the_finding(
    task: str, said: str
) -> None:
    """A model from Flowable or Signavio assigns its tasks in a way this service does not read;
    the finding says which attribute that was, not only that the task has no groups."""
    body = (
        '<bpmn:startEvent id="start"/>'
        + task
        + '<bpmn:endEvent id="end"/>'
        + flow("start", "t")
        + flow("t", "end")
    )
    xml = (
        HEAD.replace(' id="d"', ' xmlns:flowable="http://flowable.org/bpmn" id="d"')
        + f'<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
    )
    [finding] = [f for f in check_bpmn(xml.encode(), "p.bpmn", CONTEXT)[1] if f.element == "t"]
    assert finding.code == "lanes.no-groups" and said in finding.message


def test_a_schema_error_names_elements_as_the_file_writes_them_and_where() -> None:
    """A second extensionElements block pasted into a task (a hand edit, or a tool that writes
    them apart): the finding is at that task's line and element, in bpmn: names."""
    text = (BPMN / "small_connection.bpmn").read_text(encoding="utf-8")
    at = text.index('id="review"')
    close = text.index(">", at) + 1
    text = (
        text[:close]
        + "\n<bpmn:documentation>受理</bpmn:documentation>"
        + "\n<bpmn:extensionElements/>\n<bpmn:extensionElements/>"
        + text[close:]
    )
    compiled, found = check_bpmn(text.encode(), "f.bpmn", CONTEXT)
    assert compiled is None
    [finding] = found
    assert finding.code == "structure.schema" and finding.element == "review"
    assert text.splitlines()[(finding.line or 0) - 1] == "<bpmn:extensionElements/>"
    assert "'bpmn:extensionElements'" in finding.message and "{http" not in finding.message


def test_a_condition_moved_onto_a_parallel_branch_is_warned_as_never_evaluated() -> None:
    """Moving a gateway's condition in the Modeler onto a flow of a parallel gateway deploys,
    but nothing ever reads it: the warning says so at the flow."""
    body = (
        START_FORM
        + '<bpmn:parallelGateway id="fork"/>'
        + script("a", "x = 1")
        + script("b", "y = 2")
        + '<bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
        + flow("start", "fork")
        + flow("fork", "a", "amount &gt; 5")
        + flow("fork", "b")
        + flow("a", "end_a")
        + flow("b", "end_b")
    )
    [warning] = [f for f in tiny(body) if f.code == "structure.ignored-condition"]
    assert (warning.element, warning.severity) == ("fork_a", "warning")
    assert "never evaluated" in warning.message and "parallel gateway" in warning.message
    assert "exclusive" in warning.hint
    exclusive = body.replace(
        '<bpmn:parallelGateway id="fork"/>', '<bpmn:exclusiveGateway id="fork" default="fork_b"/>'
    )
    assert [f for f in tiny(exclusive) if f.code == "structure.ignored-condition"] == []


def choice(gateway: str, default: str = "") -> str:
    """A start form, a gateway `gateway` (exclusiveGateway, inclusiveGateway) choosing between
    two steps by `amount`, both flows with a condition; `default`: the attributes of the
    gateway (a default flow)."""
    return (
        START_FORM
        + f'<bpmn:{gateway} id="gw" name="大客户?" {default}/>'
        + script("a", "x = 1")
        + script("b", "y = 2")
        + '<bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
        + flow("start", "gw")
        + flow("gw", "a", "amount &gt; 5", fid="gw_a")
        + flow("gw", "b", "amount &lt; 3", fid="gw_b")
        + flow("a", "end_a")
        + flow("b", "end_b")
    )


@pytest.mark.parametrize("gateway", ["exclusiveGateway", "inclusiveGateway"])
def test_a_gateway_whose_every_flow_has_a_condition_and_no_default_is_warned(gateway: str) -> None:
    """The Modeler deleted the default flow (or it was never marked): the file deploys, and a
    case no condition holds for stops at the gateway with an error. A warning, not an error:
    conditions that cover every case are legal."""
    [warning] = [f for f in tiny(choice(gateway)) if f.code == "structure.no-default-flow"]
    assert (warning.element, warning.severity, warning.line) == ("gw", "warning", 1)
    kind = gateway.removesuffix("Gateway")
    assert warning.message.startswith(f"the {kind} gateway gw '大客户?' has no default flow")
    assert "none of the conditions of its flows (gw_a, gw_b) holds" in warning.message
    assert "cannot go on" in warning.message
    assert "default" in warning.hint and "cover every case" in warning.hint
    # With a default flow, or a flow without a condition the case always can take, no warning.
    assert [f for f in tiny(choice(gateway, 'default="gw_b"')) if "default" in f.code] == []
    always = choice(gateway).replace(flow("gw", "b", "amount &lt; 3", fid="gw_b"), "")
    always += flow("gw", "b", fid="gw_b")
    assert [f.code for f in tiny(always) if "default" in f.code or "gateway" in f.code] == [
        "structure.gateway"  # the error for a flow with neither: the warning is not added
    ]
    single = choice(gateway).replace(flow("gw", "b", "amount &lt; 3", fid="gw_b"), "")
    single = single.replace(flow("gw", "a", "amount &gt; 5", fid="gw_a"), flow("gw", "a"))
    assert [f for f in tiny(single) if f.code.startswith("structure.") and f.element == "gw"] == []


def test_a_timer_on_the_start_event_is_said_to_start_no_case_by_itself() -> None:
    """Camunda starts a case at each time of a timer start event; here a case starts when asked
    and then waits for the timer, so nothing would start on its own."""
    timer = (
        "<bpmn:timerEventDefinition><bpmn:timeCycle>R/P1D</bpmn:timeCycle>"
        "</bpmn:timerEventDefinition>"
    )
    body = (
        f'<bpmn:startEvent id="start">{timer}</bpmn:startEvent>'
        '<bpmn:task id="t" camunda:candidateGroups="hall_clerk"/><bpmn:endEvent id="end"/>'
        + flow("start", "t")
        + flow("t", "end")
    )
    [warning] = [f for f in tiny(body) if f.code == "structure.timer-start"]
    assert (warning.element, warning.severity) == ("start", "warning")
    assert "no case starts on its own" in warning.message
    assert "POST /api/v1/process-definitions/{key}/instances" in warning.hint
    plain = body.replace(timer, "")
    assert [f for f in tiny(plain) if f.code == "structure.timer-start"] == []


def test_a_manual_task_without_groups_is_called_a_manual_task() -> None:
    body = (
        '<bpmn:startEvent id="start"/><bpmn:manualTask id="m" name="现场核对"/>'
        '<bpmn:endEvent id="end"/>' + flow("start", "m") + flow("m", "end")
    )
    [finding] = [f for f in tiny(body) if f.code == "lanes.no-groups"]
    assert finding.message.startswith("manual task has no camunda:candidateGroups")


def test_a_plain_task_without_groups_is_refused_as_a_user_task_would_be() -> None:
    """A plain task (bpmn.io's default element; Signavio's and Bizagi's exports) runs as a user
    task, and with no groups and no lane only an admin would see it: refused like a user task,
    with a hint that says it is a plain task; with groups or a lane that has some it is fine."""
    body = (
        '<bpmn:startEvent id="start"/><bpmn:task id="t" name="受理"/>'
        '<bpmn:endEvent id="end"/>' + flow("start", "t") + flow("t", "end")
    )
    [finding] = [f for f in tiny(body) if f.code == "lanes.no-groups"]
    assert (finding.element, finding.severity, finding.line) == ("t", "error", 1)
    assert finding.message.startswith("plain task (no type, run as a user task) has no")
    assert "plain task waits for a person" in finding.hint and "User task" in finding.hint
    # The same element typed as a user task: the same refusal, with the user task's hint.
    [typed] = [f for f in tiny(body.replace("bpmn:task", "bpmn:userTask")) if f.element == "t"]
    assert typed.code == "lanes.no-groups" and "plain task" not in typed.hint

    grouped = body.replace('name="受理"', 'name="受理" camunda:candidateGroups="hall_clerk"')
    assert [(f.code, f.element) for f in tiny(grouped) if f.code != "structure.missing-shape"] == []
    in_lane = (
        f'{HEAD}<bpmn:process id="small_connection" isExecutable="true">'
        '<bpmn:laneSet id="ls"><bpmn:lane id="hall" name="营业厅">'
        "<bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
        f"{body}</bpmn:process></bpmn:definitions>"
    )
    found = check_bpmn(in_lane.encode(), "p.bpmn", CONTEXT)[1]
    assert [f.code for f in found if f.code != "structure.missing-shape"] == []


@pytest.mark.parametrize(
    ("key", "lane", "says"),
    [
        # A space the Modeler's label editor kept, a lane renamed: the name the file lists.
        ("small_connection", "营业厅 ", "did you mean the lane '营业厅', which lane-groups.toml"),
        ("small_connection", "客户经里", "did you mean the lane '客户经理'"),
        # The process given a new key: its lanes are listed under the old one only.
        ("small_connection_v2", "营业厅", "lists '营业厅' only under [small_connection]: add it"),
        ("small_connection", "调度", None),  # nothing like it: no guess
    ],
)
def test_a_lane_without_groups_says_what_lane_groups_toml_lists_instead(
    key: str, lane: str, says: str | None
) -> None:
    body = (
        '<bpmn:startEvent id="start"/><bpmn:userTask id="t" name="受理"/>'
        '<bpmn:endEvent id="end"/>' + flow("start", "t") + flow("t", "end")
    )
    xml = (
        f'{HEAD}<bpmn:process id="{key}" isExecutable="true">'
        f'<bpmn:laneSet id="ls"><bpmn:lane id="hall" name="{lane}">'
        "<bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
        f"{body}</bpmn:process></bpmn:definitions>"
    )
    context = CheckContext(LANES.groups_for, lane_hint=LANES.hint_for)
    [finding] = [f for f in check_bpmn(xml.encode(), "p.bpmn", context)[1] if f.element == "t"]
    assert finding.code == "lanes.no-groups"
    assert f"its lane {lane!r} has no groups in lane-groups.toml" in finding.message
    if says is None:
        assert finding.message.endswith("has no groups in lane-groups.toml"), finding.message
    else:
        assert says in finding.message, finding.message


def test_the_modelers_history_time_to_live_is_read_past_and_other_ignored_ones_warned() -> None:
    """Camunda Modeler writes camunda:historyTimeToLive into every new diagram: no warning on it;
    an attribute an analyst sets on purpose and the service ignores is still named."""

    def ignored(attributes: str) -> list[str]:
        xml = (
            f'{HEAD}<bpmn:process id="p" isExecutable="true" {attributes}>'
            '<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f" sourceRef="start" '
            'targetRef="end"/><bpmn:endEvent id="end"/></bpmn:process></bpmn:definitions>'
        )
        found = check_bpmn(xml.encode(), "p.bpmn", CONTEXT)[1]
        return [f.message for f in found if f.code == "camunda.ignored-attribute"]

    assert ignored('camunda:historyTimeToLive="180"') == []
    assert ignored('camunda:historyTimeToLive="180" camunda:jobPriority="5"') == [
        "camunda:jobPriority='5' is ignored by this service"
    ]


@pytest.mark.parametrize(
    ("field", "says"),
    [
        (
            'type="long" defaultValue="abc"',
            "'kva' (long): defaultValue 'abc' is not a whole number",
        ),
        ('type="long" defaultValue="1e30"', "'kva' (long): defaultValue '1e30' is not a whole"),
        ('type="double" defaultValue="1,5"', "'kva' (double): defaultValue '1,5' is not a number"),
        ('type="boolean" defaultValue="maybe"', "'kva' (boolean): defaultValue 'maybe' is not"),
        ('type="date" defaultValue="tomorrow"', "'kva' (date): defaultValue 'tomorrow' is not a"),
        ('type="enum" defaultValue="MV"', "'kva' (enum): defaultValue 'MV' is not one of its"),
    ],
)
def test_a_bad_default_value_names_the_field_its_type_and_what_to_write(
    field: str, says: str
) -> None:
    """A defaultValue the field's type cannot read was reported with Python's own words
    ("invalid literal for int() with base 10") at the task's line."""
    values = '<camunda:value id="HV" name="high"/><camunda:value id="LV" name="low"/>'
    body = (
        '<bpmn:startEvent id="start"/>\n'
        '<bpmn:userTask id="survey" camunda:candidateUsers="clerk">\n'
        "<bpmn:extensionElements><camunda:formData>\n"
        '<camunda:formField id="ok" type="string"/>\n'
        f'<camunda:formField id="kva" {field}>{values if "enum" in field else ""}'
        "</camunda:formField>\n"
        "</camunda:formData></bpmn:extensionElements></bpmn:userTask>\n"
        '<bpmn:endEvent id="end"/>' + flow("start", "survey") + flow("survey", "end")
    )
    [finding] = [f for f in tiny(body) if f.code != "structure.missing-shape"]
    assert (finding.code, finding.element, finding.line, finding.file) == (
        "structure.form",
        "survey",
        5,  # the field's line, not the task's
        "p.bpmn",
    )
    assert says in finding.message, finding.message
    assert "invalid literal" not in finding.message and "could not convert" not in finding.message
    writes = {
        "long": "write a whole number",
        "double": "write a number such as",
        "boolean": "write true or false",
        "date": "write a date as YYYY-MM-DD",
        "enum": "write one of HV, LV",
    }
    assert writes[finding.message.split("(")[1].split(")")[0]] in finding.message
    assert finding.hint


ZEEBE = 'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"'


def test_camunda_8_extensions_are_named_with_what_this_service_reads_instead() -> None:
    """A file modelled for Camunda 8 (Zeebe) carries zeebe:* extension elements, which this
    service does not read: each is a warning at its own line naming the camunda: (Camunda 7)
    equivalent, and a task assigned only the Zeebe way says so in its error."""
    body = (
        '<bpmn:startEvent id="start"/>\n'
        '<bpmn:userTask id="review" camunda:candidateGroups="hall_clerk">\n'
        "<bpmn:extensionElements>\n"
        '<zeebe:formDefinition formId="review-form"/>\n'
        '<zeebe:ioMapping><zeebe:output source="=ok" target="ok"/></zeebe:ioMapping>\n'
        "</bpmn:extensionElements></bpmn:userTask>\n"
        '<bpmn:userTask id="sign">\n'
        "<bpmn:extensionElements>\n"
        '<zeebe:assignmentDefinition candidateGroups="customer_manager"/>\n'
        "</bpmn:extensionElements></bpmn:userTask>\n"
        '<bpmn:endEvent id="end"/>\n'
        + flow("start", "review")
        + flow("review", "sign")
        + flow("sign", "end")
    )
    xml = (
        HEAD.replace(' id="d"', f' {ZEEBE} id="d"')
        + f'<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
    )
    found = check_bpmn(xml.encode(), "p.bpmn", CONTEXT)[1]
    vendor = [
        (f.element, f.line, f.severity, f.message) for f in found if f.code == "vendor.extension"
    ]
    assert vendor == [
        (
            "review",
            4,
            "warning",
            "zeebe:formDefinition is Camunda 8's (Zeebe) extension, which this service does not "
            "read",
        ),
        (
            "review",
            5,
            "warning",
            "zeebe:ioMapping is Camunda 8's (Zeebe) extension, which this service does not read",
        ),
    ]
    hints = {f.message.split(" ")[0]: f.hint for f in found if f.code == "vendor.extension"}
    assert "camunda:formData" in hints["zeebe:formDefinition"]
    assert "Camunda 7" in hints["zeebe:ioMapping"]
    # The task assigned only the Zeebe way: its error names that assignment, once.
    [unassigned] = [f for f in found if f.element == "sign"]
    assert unassigned.code == "lanes.no-groups"
    assert "zeebe:assignmentDefinition candidateGroups='customer_manager'" in unassigned.message
    assert "camunda:candidateGroups" in unassigned.message


def test_a_zeebe_service_task_is_told_to_become_an_external_task() -> None:
    body = (
        '<bpmn:startEvent id="start"/>\n'
        '<bpmn:serviceTask id="lookup" camunda:type="external" camunda:topic="registry">\n'
        '<bpmn:extensionElements><zeebe:taskDefinition type="registry"/>\n'
        "</bpmn:extensionElements></bpmn:serviceTask>\n"
        '<bpmn:endEvent id="end"/>\n' + flow("start", "lookup") + flow("lookup", "end")
    )
    xml = (
        HEAD.replace(' id="d"', f' {ZEEBE} id="d"')
        + f'<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
    )
    found = check_bpmn(xml.encode(), "p.bpmn", CONTEXT)[1]
    [finding] = [f for f in found if f.code == "vendor.extension"]
    assert (finding.element, finding.line) == ("lookup", 3)
    assert finding.message.startswith("zeebe:taskDefinition is Camunda 8's")
    assert 'camunda:type="external"' in finding.hint and "camunda:topic" in finding.hint


@pytest.mark.parametrize("newline", ["\r", "\r\n"], ids=["cr", "crlf"])
def test_findings_keep_their_lines_whatever_the_line_endings(newline: str) -> None:
    """A file saved with old Mac (CR only) line endings reported every finding at line 1."""
    path = DATA / "small_connection_mistakes.bpmn"
    text = path.read_text(encoding="utf-8")
    assert "\r" not in text
    expected = [(f.code, f.element, f.line) for f in findings(path)]
    assert len({line for _c, _e, line in expected}) > 1
    converted = text.replace("\n", newline).encode("utf-8")
    _compiled, found = check_bpmn(converted, path.name, CONTEXT)
    assert [(f.code, f.element, f.line) for f in found] == expected


# ---- a split and the join of its branches of different kinds (gateway_pairs.py) ----
def branches(split: str, join: str, a: str = "", b: str = "", after: str = "") -> str:
    """start → split → a → join (and → b → join) → c → end; `a`, `b`: the XML of the two
    branch steps (a script each by default); `after`: more elements."""
    default = ' default="split_b"' if split == "exclusiveGateway" else ""
    return (
        START_FORM
        + f'<bpmn:{split} id="split" name="分流"{default}/>'
        + (a or script("a", "x = 1"))
        + (b or script("b", "y = 2"))
        + f'<bpmn:{join} id="join" name="汇合"/>'
        + script("c", "z = 3")
        + '<bpmn:endEvent id="end"/>'
        + after
        + flow("start", "split")
        + flow("split", "a", "amount &gt; 5" if default else None, fid="split_a")
        + flow("split", "b", fid="split_b")
        + flow("a", "join")
        + flow("b", "join")
        + flow("join", "c")
        + flow("c", "end")
    )


def mismatches(body: str) -> list[BpmnProblem]:
    found = tiny(body)
    assert not [f for f in found if f.code in ("structure.schema", "structure.xml")], found
    return [f for f in found if f.code == "structure.gateway-mismatch"]


def test_parallel_branches_merged_by_an_exclusive_gateway_are_warned_at_the_merge() -> None:
    """Every branch passes an exclusive merge: the steps after it ran once per branch (the
    tester's task C was created twice)."""
    [warning] = mismatches(branches("parallelGateway", "exclusiveGateway"))
    assert (warning.element, warning.severity, warning.line, warning.file) == (
        "join",
        "warning",
        1,
        "p.bpmn",
    )
    assert "the exclusive gateway join '汇合' merges the branches of the parallel gateway " in (
        warning.message
    )
    assert "split '分流' (line 1)" in warning.message and "(2 times)" in warning.message
    assert warning.hint.startswith("use a parallel gateway to join the branches of split")


def test_exclusive_branches_joined_by_a_parallel_gateway_are_warned_at_the_join() -> None:
    """A parallel join waits for every branch, but an exclusive split sends the case down one:
    the case waited there for good."""
    [warning] = mismatches(branches("exclusiveGateway", "parallelGateway"))
    assert (warning.element, warning.severity) == ("join", "warning")
    assert "the parallel gateway join '汇合' waits for every branch of the exclusive gateway " in (
        warning.message
    )
    assert "split '分流' (line 1) (split_a, split_b)" in warning.message
    assert "waits at join for good" in warning.message
    assert warning.hint.startswith("use an exclusive gateway to merge the branches of split")


@pytest.mark.parametrize(
    ("split", "join"),
    [
        ("parallelGateway", "parallelGateway"),
        ("exclusiveGateway", "exclusiveGateway"),
        ("inclusiveGateway", "inclusiveGateway"),
        ("parallelGateway", "inclusiveGateway"),
    ],
)
def test_matching_and_inclusive_gateways_are_not_warned(split: str, join: str) -> None:
    assert mismatches(_conditional(branches(split, join), split)) == []


def _conditional(body: str, split: str) -> str:
    """An inclusive split's second branch with a condition, its first the default."""
    if split != "inclusiveGateway":
        return body
    body = body.replace(flow("split", "b", fid="split_b"), "") + flow(
        "split", "b", "amount &lt; 9", fid="split_b"
    )
    return body.replace(' id="split" name="分流"', ' id="split" name="分流" default="split_a"')


@pytest.mark.parametrize(
    ("join", "says"),
    [
        ("parallelGateway", "when one does not, the case waits at join for good"),
        ("exclusiveGateway", "the steps after it run once per branch taken"),
    ],
)
def test_an_inclusive_split_joined_by_another_kind_is_warned(join: str, says: str) -> None:
    """An inclusive split joined by a parallel gateway left the case waiting for good when a
    condition did not hold (a stuck incident at run time), and nothing warned."""
    [warning] = mismatches(_conditional(branches("inclusiveGateway", join), "inclusiveGateway"))
    assert warning.element == "join" and says in warning.message, warning.message
    assert "of the inclusive gateway split" in warning.message
    assert warning.hint.startswith("use an inclusive gateway to join the branches of split")


def test_a_mismatch_is_found_past_matched_blocks_inside_the_branches() -> None:
    """A branch holding its own exclusive choice and merge counts as one step: the outer
    parallel split and exclusive merge are still compared."""
    inner = (
        '<bpmn:exclusiveGateway id="choose" default="choose_no"/>'
        + script("yes", "x = 1")
        + script("no", "x = 2")
        + '<bpmn:exclusiveGateway id="chosen"/>'
        + script("a", "w = 1")
    )
    body = branches("parallelGateway", "exclusiveGateway", a=inner)
    body = body.replace(flow("split", "a", fid="split_a"), flow("split", "choose", fid="split_a"))
    body += (
        flow("choose", "yes", "amount &gt; 5")
        + flow("choose", "no", fid="choose_no")
        + flow("yes", "chosen")
        + flow("no", "chosen")
        + flow("chosen", "a")
    )
    assert [(f.element, "split '分流' (line 1)" in f.message) for f in mismatches(body)] == [
        ("join", True)
    ]


def test_loops_boundary_events_and_event_gateways_on_the_way_say_nothing() -> None:
    """Where it is not certain how many branches arrive, no warning."""
    parallel = branches("parallelGateway", "exclusiveGateway")
    # A boundary timer on a branch's step: the branch may leave by the timer instead.
    timer = (
        '<bpmn:boundaryEvent id="late" attachedToRef="a"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:endEvent id="late_end"/>' + flow("late", "late_end")
    )
    assert mismatches(parallel + timer) == []
    # A rework loop into the merge: a third incoming flow from a later choice.
    loop = (
        '<bpmn:exclusiveGateway id="again" default="again_end"/>'
        + flow("c", "again", fid="c_again")
        + flow("again", "join", "z &gt; 5", fid="again_join")
        + flow("again", "end", fid="again_end")
    )
    looped = parallel.replace(flow("c", "end"), "") + loop
    assert mismatches(looped) == []
    # An event-based gateway as the split.
    events = branches("exclusiveGateway", "parallelGateway").replace(
        '<bpmn:exclusiveGateway id="split" name="分流" default="split_b"/>',
        '<bpmn:eventBasedGateway id="split" name="分流"/>',
    )
    assert mismatches(events) == []


def test_the_shipped_models_and_the_test_models_have_no_mismatched_gateways() -> None:
    root = Path(__file__).resolve().parents[2]
    paths = [*sorted((root / "processes").glob("*.bpmn")), *sorted(BPMN.glob("*.bpmn"))]
    assert len(paths) > 3
    for path in paths:
        _compiled, found = check_bpmn(path.read_bytes(), path.name, CONTEXT_SHIPPED)
        assert [f for f in found if f.code == "structure.gateway-mismatch"] == [], path.name


def test_a_lead_time_marker_the_reports_would_ignore_is_warned() -> None:
    """leadTimeEnd ends the reports' cycle at a user task's completion; on an end event, or
    with a value other than true, it would be ignored and the cycle run to the case's end."""

    def marked(value: str = "true") -> str:
        return (
            '<bpmn:extensionElements><camunda:properties><camunda:property name="leadTimeEnd" '
            f'value="{value}"/></camunda:properties></bpmn:extensionElements>'
        )

    def body(task_marker: str = "", end_marker: str = "") -> str:
        return (
            '<bpmn:startEvent id="start"/>'
            f'<bpmn:userTask id="power_on" camunda:candidateGroups="clerk">{task_marker}'
            "</bpmn:userTask>"
            f'<bpmn:endEvent id="end">{end_marker}</bpmn:endEvent>'
            + flow("start", "power_on")
            + flow("power_on", "end")
        )

    def warnings(text: str) -> list[BpmnProblem]:
        return [f for f in tiny(text) if f.code == "structure.lead-time-end"]

    assert warnings(body(marked())) == []
    [on_end] = warnings(body(end_marker=marked()))
    assert (on_end.element, on_end.severity) == ("end", "warning")
    assert "leadTimeEnd is on endEvent end" in on_end.message
    assert "user task whose completion is power-on" in on_end.hint
    [odd] = warnings(body(marked("yes")))
    assert odd.element == "power_on" and "'yes'" in odd.message


def test_a_task_or_event_with_several_outgoing_flows_is_refused_with_the_others() -> None:
    """SpiffWorkflow refuses it with a cut-off sentence, and only when nothing else is wrong (its
    parser runs last): the project's own rule reports it at the element with every finding."""
    body = (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:userTask id="t0" name="受理" camunda:candidateUsers="clerk"/>'
        '<bpmn:userTask id="big" camunda:candidateUsers="clerk"/>'
        '<bpmn:userTask id="small"/>'  # offered to nobody: another error in the same file
        '<bpmn:intermediateThrowEvent id="note"/>'
        '<bpmn:endEvent id="end"/>'
        + flow("start", "t0")
        + flow("t0", "big", "amount > 100", "f_yes")
        + flow("t0", "small", fid="f_no")
        + flow("big", "note")
        + flow("small", "end")
        + flow("note", "end", fid="n1")
        + flow("note", "end", fid="n2")
    )
    found = tiny(body)
    splits = {f.element: f for f in found if f.code == "structure.task-split"}
    assert set(splits) == {"t0", "note"}
    assert any(f.code == "lanes.no-groups" for f in found)
    assert all(f.is_error and f.line == 1 for f in splits.values())
    assert "userTask 't0' (受理)" in splits["t0"].message
    assert "(f_yes, f_no)" in splits["t0"].message and "conditions" in splits["t0"].message
    assert "(n1, n2)" in splits["note"].message and "implicit split" in splits["note"].message
    hint = splits["t0"].hint
    assert "exclusive gateway" in hint and "parallel gateway" in hint
    assert not any(f.code == "structure.engine" for f in found)


def mi_over(field_type: str, script_text: str = "") -> str:
    form = (
        '<bpmn:extensionElements><camunda:formData><camunda:formField id="signers" label="s" '
        f'type="{field_type}"/></camunda:formData></bpmn:extensionElements>'
    )
    steps = script("split", script_text) + flow("start", "split") + flow("split", "sign")
    return (
        f'<bpmn:startEvent id="start">{form}</bpmn:startEvent>'
        + (steps if script_text else flow("start", "sign"))
        + '<bpmn:userTask id="sign" camunda:candidateGroups="${signer}">'
        '<bpmn:multiInstanceLoopCharacteristics camunda:collection="signers" '
        'camunda:elementVariable="signer"/></bpmn:userTask><bpmn:endEvent id="end"/>'
        + flow("sign", "end")
    )


@pytest.mark.parametrize("field_type", ["string", "long", "double", "boolean", "date", "enum"])
def test_a_form_field_as_multi_instance_collection_is_refused(field_type: str) -> None:
    found = [f for f in tiny(mi_over(field_type)) if f.code == "structure.multi-instance"]
    [finding] = found
    assert (finding.severity, finding.element, finding.line) == ("error", "sign", 1)
    assert "'signers'" in finding.message and f"{field_type} on the start form" in finding.message
    assert "list" in finding.hint


def test_a_form_field_a_script_turns_into_a_list_may_be_the_collection() -> None:
    found = tiny(mi_over("string", "signers = signers.split(',')"))
    assert not [f for f in found if f.code == "structure.multi-instance"]


SMALL = (BPMN / "small_connection.bpmn").read_text(encoding="utf-8")


def with_file_language(language: str) -> str:
    text = SMALL.replace(
        "<bpmn:definitions ", f'<bpmn:definitions expressionLanguage="{language}" '
    )
    assert text != SMALL
    return text


@pytest.mark.parametrize(
    "language",
    [
        "http://www.w3.org/TR/XPath",  # Signavio's exports
        "http://www.w3.org/1999/XPath",  # BPMN 2.0's default, as the specification writes it
        "http://www.w3.org/TR/XPath/",
        "python",
        "juel",
    ],
)
def test_the_file_wide_default_expression_languages_are_read_past(language: str) -> None:
    """Signavio writes the W3C's XPath URI: every conditional flow was refused with "language
    'http://www.w3.org/TR/XPath' is not supported"."""
    compiled, found = check_bpmn(with_file_language(language).encode(), "s.bpmn", CONTEXT)
    assert found == [] and compiled is not None


def test_juel_on_a_condition_is_camunda_7s_default_and_accepted() -> None:
    text = SMALL.replace(
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">',
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="juel">',
    )
    assert text.count('language="juel"') == 2
    compiled, found = check_bpmn(text.encode(), "s.bpmn", CONTEXT)
    assert found == [] and compiled is not None


def test_a_foreign_file_wide_expression_language_is_one_finding_at_the_root() -> None:
    """It was one finding per conditional flow, each pointing at the flow, not at the attribute
    to remove."""
    text = with_file_language("javascript")
    compiled, found = check_bpmn(text.encode(), "s.bpmn", CONTEXT)
    assert compiled is None
    [finding] = found
    assert (finding.code, finding.element, finding.line) == ("script.language", "Defs_small", 2)
    assert finding.message.startswith(
        "language 'javascript' is not supported: the expressionLanguage of bpmn:definitions "
        "declares it for the 2 conditions that name no language of their own"
    )
    assert "remove the expressionLanguage attribute of bpmn:definitions" in finding.hint
    # A condition that names the service's language is not written in the file's.
    own = text.replace(
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">',
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="juel">',
    )
    assert check_bpmn(own.encode(), "s.bpmn", CONTEXT)[1] == []


# ---- variables Camunda 7 sets itself: camunda:initiator, errorCodeVariable, MI counters ----
def test_camunda_initiator_is_read_and_its_name_checked() -> None:
    body = (
        '<bpmn:startEvent id="start" camunda:initiator="starter"/>'
        '<bpmn:userTask id="t" camunda:assignee="${starter}"/><bpmn:endEvent id="end"/>'
        + flow("start", "t")
        + flow("t", "end")
    )
    found = structural(tiny(body))
    assert found == []  # no "ignored" warning, and `starter` is set for the assignee
    bad = tiny(body.replace('"starter"', '"the starter"').replace("${starter}", "${initiator}"))
    [error] = [f for f in bad if f.code == "structure.variable"]
    assert (error.element, error.line, error.severity) == ("start", 1, "error")
    assert "camunda:initiator 'the starter' must name a variable" in error.message
    reserved = tiny(body.replace('"starter"', '"businessKey"').replace("${starter}", "x"))
    assert [f.element for f in reserved if f.code == "structure.variable"] == ["start"]


def test_error_code_and_message_variables_are_read_on_a_catch_only() -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:serviceTask id="s" camunda:type="external" camunda:topic="t"/>'
        '<bpmn:boundaryEvent id="b" attachedToRef="s"><bpmn:errorEventDefinition '
        'camunda:errorCodeVariable="errCode" camunda:errorMessageVariable="errMsg"/>'
        "</bpmn:boundaryEvent>"
        '<bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>'
        + flow("start", "s")
        + flow("s", "end")
        + flow("b", "end2")
    )
    assert structural(tiny(body)) == []
    bad = tiny(body.replace('"errMsg"', '"err-msg"'))
    [error] = [f for f in bad if f.code == "structure.variable"]
    assert error.element == "b" and "camunda:errorMessageVariable 'err-msg'" in error.message
    thrown = tiny(
        '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"><bpmn:errorEventDefinition '
        'camunda:errorCodeVariable="c"/></bpmn:endEvent>' + flow("start", "end")
    )
    [ignored] = [f for f in thrown if f.code == "camunda.ignored-attribute"]
    assert ignored.element == "end" and "has no effect on an error end event" in ignored.message


def test_multi_instance_counters_are_known_in_the_completion_condition_only() -> None:
    loop = (
        '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${signers}" '
        'camunda:elementVariable="signer"><bpmn:completionCondition>'
        "${nrOfCompletedInstances/nrOfInstances &gt;= 0.5 and loopCounter &gt;= 0 "
        "and nrOfActiveInstances &gt;= 0}</bpmn:completionCondition>"
        "</bpmn:multiInstanceLoopCharacteristics>"
    )
    body = (
        START_FORM
        + script("plan", 'signers = ["a"]')
        + f'<bpmn:userTask id="t" camunda:candidateGroups="${{signer}}">{loop}</bpmn:userTask>'
        + '<bpmn:endEvent id="end"/>'
        + flow("start", "plan")
        + flow("plan", "t")
        + flow("t", "end")
    )
    assert data_errors(body) == []
    assert unset(body.replace("nrOfInstances", "nrOfInstance")) == [("nrOfInstance", "t")]
    standard = (
        START_FORM + '<bpmn:userTask id="t" camunda:candidateGroups="g">'
        "<bpmn:standardLoopCharacteristics><bpmn:loopCondition>${loopCounter &lt; 2}"
        "</bpmn:loopCondition></bpmn:standardLoopCharacteristics></bpmn:userTask>"
        '<bpmn:endEvent id="end"/>' + flow("start", "t") + flow("t", "end")
    )
    [error] = data_errors(standard)
    assert "'loopCounter' is read by the loop condition" in error.message
    assert "Camunda built-in this service provides only in a multi-instance" in error.message
    assert "= None" not in error.hint and "rounds = rounds + 1" in error.hint


LANED = (
    '<bpmn:process id="small_connection" isExecutable="true"><bpmn:laneSet>'
    '<bpmn:lane id="l1" name="客户经理"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
    "<bpmn:flowNodeRef>t</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>"
    '<bpmn:lane id="l2" name="营业厅"/></bpmn:laneSet>'
    '<bpmn:startEvent id="start"/>{task}<bpmn:endEvent id="end"/>'
    + flow("start", "t")
    + flow("t", "end")
    + "</bpmn:process></bpmn:definitions>"
)


@pytest.mark.parametrize(
    ("namespace", "task", "written"),
    [
        (
            'xmlns:flowable="http://flowable.org/bpmn"',
            '<bpmn:userTask id="t" flowable:candidateGroups="hall_clerk"/>',
            "flowable:candidateGroups is Flowable's",
        ),
        (
            ZEEBE,
            '<bpmn:userTask id="t"><bpmn:extensionElements><zeebe:assignmentDefinition '
            'candidateGroups="hall_clerk"/></bpmn:extensionElements></bpmn:userTask>',
            "zeebe:assignmentDefinition is Camunda 8's (Zeebe)",
        ),
    ],
    ids=["flowable", "zeebe"],
)
def test_another_engines_groups_in_a_lane_say_who_gets_the_task(
    namespace: str, task: str, written: str
) -> None:
    """The lane's groups get the task, not the groups the other engine's assignment names: a
    warning (the task has an owner here) that names both and how to give it to the latter."""
    xml = HEAD.replace(' id="d"', f' {namespace} id="d"') + LANED.format(task=task)
    found = check_bpmn(xml.encode(), "p.bpmn", CONTEXT)[1]
    [finding] = [f for f in found if f.code == "vendor.extension"]
    assert finding.severity == "warning" and finding.element == "t"
    assert finding.message == (
        f"{written} extension, which this service does not read: the task goes to the lane "
        "客户经理's groups: customer_manager, not to hall_clerk"
    )
    assert 'camunda:candidateGroups="hall_clerk"' in finding.hint
    assert "move the task into the lane 营业厅" in finding.hint


def test_a_variable_only_a_formless_start_could_bring_is_warned() -> None:
    """A start event without a form may bring any variable, so a condition on a variable nothing
    in the model sets passed the check and failed at run time (a Flowable formProperty, a Zeebe
    ioMapping, a Signavio label read as a name). It is a warning naming the variable."""

    def body(start: str = '<bpmn:startEvent id="start"/>', before: str = "") -> str:
        return (
            start
            + before
            + '<bpmn:exclusiveGateway id="gw" default="no"/>'
            + '<bpmn:userTask id="yes_task" camunda:candidateGroups="clerk"/>'
            + '<bpmn:endEvent id="end"/>'
            + (flow("start", "set") + flow("set", "gw") if before else flow("start", "gw"))
            + flow("gw", "yes_task", "${approved and capacity &gt; 100}", fid="yes")
            + flow("gw", "end", fid="no")
            + flow("yes_task", "end")
        )

    def warned(text: str) -> list[tuple[str, str | None, str]]:
        found = [f for f in tiny(text) if f.code == "data.start-variable"]
        return sorted((f.severity, f.element, f.message.split("'")[1]) for f in found)

    assert warned(body()) == [("warning", "yes", "approved"), ("warning", "yes", "capacity")]
    [one] = [f for f in tiny(body()) if "'approved'" in f.message]
    assert "it can only come with the request that starts the case" in one.message
    assert "give the start event a form with a field 'approved'" in one.hint
    # Set by a step, or listed in the start form: nothing to say.
    assert warned(body(before=script("set", "approved = True\ncapacity = 5"))) == []
    form = (
        '<bpmn:startEvent id="start"><bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="approved" label="a" type="boolean"/>'
        '<camunda:formField id="capacity" label="c" type="long"/>'
        "</camunda:formData></bpmn:extensionElements></bpmn:startEvent>"
    )
    assert warned(body(start=form)) == []


def test_a_data_object_a_step_writes_but_does_not_set_is_an_error() -> None:
    """A data output association copies the step's variable of the data object's name into it;
    the engine refused every completion of a step without one ('A data object could not be
    set'), so a documentation-only association from the Modeler stopped every case there."""

    def body(task: str) -> str:
        return (
            '<bpmn:dataObject id="files"/>'
            '<bpmn:dataObjectReference id="files_ref" name="申请资料" dataObjectRef="files"/>'
            '<bpmn:startEvent id="start"/>'
            + task.replace(
                "ASSOC",
                '<bpmn:dataOutputAssociation id="doa"><bpmn:targetRef>files_ref</bpmn:targetRef>'
                "</bpmn:dataOutputAssociation>",
            )
            + '<bpmn:endEvent id="end"/>'
            + flow("start", "t")
            + flow("t", "end")
        )

    def errors(text: str) -> list[BpmnProblem]:
        return [f for f in tiny(text) if f.code == "data.object-output"]

    [error] = errors(
        body('<bpmn:userTask id="t" camunda:candidateGroups="clerk">ASSOC</bpmn:userTask>')
    )
    assert error.is_error and error.element == "t"
    assert (
        "writes the data object 'files' (files_ref), but sets no variable 'files'" in error.message
    )
    assert "delete the association" in error.hint
    # A script or a form field of that name feeds it.
    fed = '<bpmn:scriptTask id="t">ASSOC<bpmn:script>files = []</bpmn:script></bpmn:scriptTask>'
    assert errors(body(fed)) == []
    form = (
        '<bpmn:userTask id="t" camunda:candidateGroups="clerk"><bpmn:extensionElements>'
        '<camunda:formData><camunda:formField id="files" label="f" type="string"/>'
        "</camunda:formData></bpmn:extensionElements>ASSOC</bpmn:userTask>"
    )
    assert errors(body(form)) == []
