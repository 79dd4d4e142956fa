"""A candidate group that no user of the users file is in: the task is offered to nobody (only
admins see every task), and nothing said so. Warned like an unknown assignee, with the group
most like it, a special word for a list written with ';' or spaces, and the same for the groups
a lane gets from lane-groups.toml. Without a users file nothing is said."""

from __future__ import annotations

from pathlib import Path

from bpmn_service.engine import CheckContext, check_bpmn
from bpmn_service.errors import BpmnProblem
from bpmn_service.identity import UserDirectory
from bpmn_service.lanes import LaneGroups

ROOT = Path(__file__).resolve().parents[2]
USERS = UserDirectory.load(ROOT / "config" / "users.toml")
SHIPPED_LANES = LaneGroups.load(ROOT / "processes" / "lane-groups.toml")
CONTEXT = CheckContext(SHIPPED_LANES.groups_for, USERS.user_ids, USERS.group_ids)
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">\n'
)


def process(tasks: str, lanes: str = "", key: str = "p") -> bytes:
    return (
        f'{HEAD}<bpmn:process id="{key}" isExecutable="true">\n{lanes}'
        '<bpmn:startEvent id="start"/>\n'
        f"{tasks}"
        '<bpmn:endEvent id="end"/>\n'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t"/>\n'
        '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="end"/>\n'
        "</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def groups(data: bytes, context: CheckContext = CONTEXT) -> list[BpmnProblem]:
    found = check_bpmn(data, "p.bpmn", context)[1]
    return [f for f in found if f.code in ("camunda.unknown-group", "lanes.unknown-group")]


def task(attributes: str) -> str:
    return f'<bpmn:userTask id="t" name="中间检查" {attributes}/>\n'


def test_a_misspelt_candidate_group_is_warned_with_the_group_meant() -> None:
    [finding] = groups(process(task('camunda:candidateGroups="inspecton"')))
    assert (finding.severity, finding.element, finding.line) == ("warning", "t", 5)
    assert finding.message == (
        "camunda:candidateGroups names 'inspecton', which no user of the users file is in: "
        "nobody but an admin would see the task; did you mean 'inspection'?"
    )
    assert "inspection" in finding.hint and "users file" in finding.hint


def test_an_unknown_group_beside_a_known_one_is_named_alone() -> None:
    [finding] = groups(process(task('camunda:candidateGroups="metering, custmer_manager"')))
    assert "names 'custmer_manager', which no user" in finding.message
    assert "did you mean 'customer_manager'?" in finding.message
    assert "only metering would see the task" in finding.message
    [finding] = groups(process(task('camunda:candidateGroups="x" camunda:assignee="clerk"')))
    assert "only clerk would see the task" in finding.message


def test_a_list_separated_by_semicolons_or_spaces_is_told_to_use_commas() -> None:
    for value in ("inspection; om_dept", "inspection om_dept", "inspection；om_dept"):
        [finding] = groups(process(task(f'camunda:candidateGroups="{value}"')))
        assert f"names {value!r}" in finding.message, value
        assert "separate groups with commas: camunda:candidateGroups=" in finding.hint, value
        assert "'inspection,om_dept'" in finding.hint, value


def test_known_groups_expressions_and_no_users_file_say_nothing() -> None:
    assert groups(process(task('camunda:candidateGroups="inspection,om_dept"'))) == []
    assert groups(process(task('camunda:candidateGroups="${signer}"'))) == []
    unknown_users = CheckContext(SHIPPED_LANES.groups_for)  # no users file found
    assert groups(process(task('camunda:candidateGroups="inspecton"')), unknown_users) == []


def test_a_starter_group_nobody_is_in_is_warned_at_the_process() -> None:
    data = process(task('camunda:candidateGroups="inspection"')).replace(
        b'isExecutable="true"', b'isExecutable="true" camunda:candidateStarterGroups="hall_clerc"'
    )
    [finding] = groups(data)
    assert (finding.element, finding.line) == ("p", 3)
    assert finding.message == (
        "camunda:candidateStarterGroups names 'hall_clerc', which no user of the users file is "
        "in: nobody but an admin would start the process; did you mean 'hall_clerk'?"
    )


def test_a_user_id_given_as_a_group_is_told_to_be_a_candidate_user() -> None:
    [finding] = groups(process(task('camunda:candidateGroups="inspector"')))
    assert "'inspector' is a user of the users file, not a group" in finding.message
    assert "camunda:candidateUsers" in finding.hint


def test_a_lane_group_nobody_is_in_is_warned_at_the_lane() -> None:
    lanes = (
        '<bpmn:laneSet id="ls"><bpmn:lane id="lane_cm" name="客户经理">'
        "<bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>\n"
    )
    typo = LaneGroups({"p": {"客户经理": ["custmer_manager"]}})
    context = CheckContext(typo.groups_for, USERS.user_ids, USERS.group_ids)
    [finding] = groups(process(task(""), lanes), context)
    assert (finding.code, finding.element, finding.line) == ("lanes.unknown-group", "lane_cm", 4)
    assert finding.message == (
        "lane '客户经理' gets the group 'custmer_manager' from lane-groups.toml, which no user "
        "of the users file is in: nobody but an admin would see its tasks (t); did you mean "
        "'customer_manager'?"
    )
    assert "lane-groups.toml" in finding.hint
    # With the group spelt right, or the task given groups of its own, nothing is said.
    right = CheckContext(SHIPPED_LANES.groups_for, USERS.user_ids, USERS.group_ids)
    assert groups(process(task(""), lanes, key="yekuo_streamlined"), right) == []
    own = task('camunda:candidateGroups="customer_manager"')
    assert groups(process(own, lanes), context) == []


def test_the_shipped_models_name_only_groups_of_the_users_file() -> None:
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        assert groups(path.read_bytes()) == [], path.name


def test_an_expression_inside_a_group_list_and_a_group_in_other_letters() -> None:
    """`${extraGroup}` beside a group is known only when the task starts (it was warned as an
    unknown group); `OM_DEPT` means om_dept, which the close-match search missed."""
    listed = process(task('camunda:candidateGroups="inspection,${extraGroup}"'))
    assert groups(listed) == []
    [finding] = groups(process(task('camunda:candidateGroups="OM_DEPT"')))
    assert "did you mean 'om_dept'?" in finding.message
