"""Forms of one process that declare one variable with types of different JSON kinds (text,
number, true/false), and conditions that compare a variable every form declares as text with a
number or test it as true or false. Both deployed without a word: a 'false' typed into a text
field took the branch for true, and a start form's text capacity failed every case in a script.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bpmn_service.engine import CheckContext, check_bpmn
from bpmn_service.errors import BpmnProblem

SHIPPED = Path(__file__).resolve().parents[2] / "processes" / "yekuo_streamlined.bpmn"
CONTEXT = CheckContext(lambda _key, _lane: ["clerks"])
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">\n'
)
CODES = ("data.form-type", "data.compared-type")


def form(element: str, *fields: tuple[str, str], name: str = "", readonly: bool = False) -> str:
    tag = "startEvent" if element == "start" else "userTask"
    group = "" if tag == "startEvent" else ' camunda:candidateGroups="clerks"'
    ro = '<camunda:validation><camunda:constraint name="readonly"/></camunda:validation>'
    rows = "".join(
        f'<camunda:formField id="{fid}" type="{ftype}">{ro if readonly else ""}'
        "</camunda:formField>\n"
        for fid, ftype in fields
    )
    named = f' name="{name}"' if name else ""
    return (
        f'<bpmn:{tag} id="{element}"{named}{group}><bpmn:extensionElements><camunda:formData>\n'
        f"{rows}</camunda:formData></bpmn:extensionElements></bpmn:{tag}>\n"
    )


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


def check(*parts: str) -> tuple[list[str], list[BpmnProblem]]:
    xml = f'{HEAD}<bpmn:process id="p" isExecutable="true">\n{"".join(parts)}</bpmn:process>\n'
    xml += "</bpmn:definitions>\n"
    found = check_bpmn(xml.encode(), "p.bpmn", CONTEXT)[1]
    return xml.splitlines(), [f for f in found if f.code in CODES]


def line_of(lines: list[str], *texts: str) -> int:
    return next(i for i, line in enumerate(lines, 1) if all(t in line for t in texts))


def chain(*steps: str) -> str:
    return "".join(flow(a, b) for a, b in zip(steps, steps[1:], strict=False))


END = '<bpmn:endEvent id="end"/>\n'


def test_a_field_declared_text_here_and_a_number_there_is_warned_naming_both() -> None:
    lines, [finding] = check(
        form("start", ("amount", "long")),
        form("review", ("amount", "string"), name="审核"),
        form("again", ("amount", "double")),
        END,
        chain("start", "review", "again", "end"),
    )
    assert (finding.code, finding.severity, finding.element) == (
        "data.form-type",
        "warning",
        "review",
    )
    assert finding.line == line_of(lines, 'id="amount" type="string"')
    start, review, again = (
        line_of(lines, 'id="amount" type="long"'),
        finding.line,
        line_of(lines, 'id="amount" type="double"'),
    )
    assert finding.message == (
        f"form field 'amount' is declared with types of different kinds: long on the start "
        f"form (start, line {start}), string on task 审核 (review, line {review}), double on "
        f"task again (again, line {again}); the forms disagree on whether it holds text or a "
        f"number, and expressions that read it the other way fail or take the wrong path"
    )
    assert "give every form's 'amount' field one type" in finding.hint
    assert "long or double" in finding.hint  # what most declarations and the reads say


@pytest.mark.parametrize(
    ("one", "other"),
    [("long", "double"), ("string", "enum"), ("date", "string"), ("boolean", "boolean")],
)
def test_types_of_one_kind_agree(one: str, other: str) -> None:
    assert (
        check(form("start", ("x", one)), form("t", ("x", other)), END, chain("start", "t", "end"))[
            1
        ]
        == []
    )


def test_a_read_only_field_only_shows_the_value_and_is_not_compared() -> None:
    assert (
        check(
            form("start", ("amount", "long")),
            form("t", ("amount", "string"), readonly=True),
            END,
            chain("start", "t", "end"),
        )[1]
        == []
    )


def test_the_reads_decide_which_declaration_is_the_odd_one() -> None:
    """One text and one true/false field: the gateway that tests it as true or false says
    which of the two is wrong."""
    lines, [finding] = check(
        form("start", ("urgent", "boolean")),
        form("t", ("urgent", "string")),
        '<bpmn:exclusiveGateway id="gw" default="gw_end"/>\n',
        form("fast", ("note", "string")),
        END,
        chain("start", "t", "gw"),
        flow("gw", "fast", "${urgent}"),
        flow("gw", "end"),
        flow("fast", "end"),
    )
    assert finding.element == "t" and "string on task t (t, line" in finding.message
    assert "the condition of flow gw_fast tests it as true or false" in finding.message
    assert "boolean" in finding.hint


@pytest.mark.parametrize(
    ("condition", "said"),
    [
        ("${urgent}", "tests 'urgent' as true or false"),
        ("${!urgent &amp;&amp; amount &gt; 5}", "tests 'urgent' as true or false"),
        ("urgent == true", "compares 'urgent' with true"),
        ("${urgent eq false}", "compares 'urgent' with false"),
        ("urgent &gt; 10", "compares 'urgent' with the number 10"),
    ],
)
def test_a_condition_reading_a_text_field_as_true_false_or_a_number_is_warned(
    condition: str, said: str
) -> None:
    lines, [finding] = check(
        form("start", ("urgent", "string"), ("amount", "long")),
        '<bpmn:exclusiveGateway id="gw" default="gw_end"/>\n',
        form("fast", ("note", "string")),
        END,
        chain("start", "gw"),
        flow("gw", "fast", condition),
        flow("gw", "end"),
        flow("fast", "end"),
    )
    assert (finding.code, finding.severity, finding.element) == (
        "data.compared-type",
        "warning",
        "gw_fast",
    )
    assert finding.line == line_of(lines, 'id="gw_fast"')
    assert f"the condition of flow gw_fast {said}" in finding.message
    at = line_of(lines, 'id="urgent"')
    assert (
        f"every form that sets it declares it text: string on the start form (start, line {at})"
        in finding.message
    )
    assert "'false' and '否'" in finding.message or "number" in said
    assert "Forms tab" in finding.hint
    # The text to compare with instead fits the reading: a yes/no answer, or a number as text.
    assert ('urgent == "100"' if "number" in said else 'urgent == "是"') in finding.hint


def test_text_compared_with_text_or_set_by_a_script_too_is_no_finding() -> None:
    body = (
        form("start", ("urgent", "string")),
        '<bpmn:exclusiveGateway id="gw" default="gw_end"/>\n',
        form("fast", ("note", "string")),
        END,
        flow("gw", "end"),
        flow("fast", "end"),
    )
    assert check(*body, chain("start", "gw"), flow("gw", "fast", "urgent == 'yes'"))[1] == []
    converted = (
        '<bpmn:scriptTask id="s"><bpmn:script>urgent = urgent == "是"</bpmn:script>'
        "</bpmn:scriptTask>\n"
    )
    assert check(*body, converted, chain("start", "s", "gw"), flow("gw", "fast", "urgent"))[1] == []


def test_two_type_edits_of_the_streamlined_model_are_named() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    lines = text.splitlines()
    boolean = (
        '<camunda:formField id="needsExternalWorks" '
        'label="需电网配套外线工程（三零：供电公司投资建设）" type="boolean">'
    )
    assert boolean in text
    edited = text.replace(boolean, boolean.replace('"boolean"', '"string"'))
    found = check_bpmn(edited.encode(), SHIPPED.name, CONTEXT)[1]
    [finding] = [f for f in found if f.code == "data.form-type"]
    assert finding.element == "B-UT02"
    assert finding.line == next(i for i, line in enumerate(lines, 1) if boolean in line)
    assert "string on task" in finding.message and "boolean on task" in finding.message
    assert "tests it as true or false" in finding.message

    long = '<camunda:formField id="appliedCapacityKVA" label="申请容量(kVA)" type="long">'
    first = text.index(long)
    edited = text[:first] + long.replace('"long"', '"string"') + text[first + len(long) :]
    found = check_bpmn(edited.encode(), SHIPPED.name, CONTEXT)[1]
    [finding] = [f for f in found if f.code == "data.form-type"]
    assert finding.line == text[:first].count("\n") + 1  # the start form's field
    assert finding.message.count("long (read-only) on task") == 4


def test_the_shipped_models_forms_agree() -> None:
    for path in sorted(SHIPPED.parent.glob("*.bpmn")):
        found = check_bpmn(path.read_bytes(), path.name, CONTEXT)[1]
        assert [f for f in found if f.code in CODES] == [], path.name
