"""A corpus of malicious and malformed BPMN: every file is refused, nothing runs, the server lives.

Each case is built from one valid document (start → script → gateway → user task → end, with full
BPMNDI) by changing one thing. The script, condition and listener payloads would create a sentinel
file under tmp_path if they were ever executed; the tests assert that it never appears.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from bpmn_service.engine.parsing import MAX_BPMN_ELEMENTS
from conftest import ROOT, Api

TEMPLATE = """<?xml version="1.0" encoding="{encoding}"?>
{prolog}<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" \
xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" \
xmlns:di="http://www.omg.org/spec/DD/20100524/DI" \
xmlns:camunda="http://camunda.org/schema/1.0/bpmn" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
id="Defs_hostile" targetNamespace="http://bpmn-service.example/test">
  <bpmn:process id="{key}" name="{name}" isExecutable="{executable}">
    <bpmn:documentation>{documentation}</bpmn:documentation>
    <bpmn:startEvent id="start" name="Start">{start_ext}
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="calc" name="Calculate"{script_attrs}>
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" name="Route" default="f4">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:{work_tag} id="{work_id}" name="Work"{work_attrs}>{work_ext}
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f5</bpmn:outgoing>{work_tail}
    </bpmn:{work_tag}>
    <bpmn:endEvent id="end" name="End">
      <bpmn:incoming>f4</bpmn:incoming>
      <bpmn:incoming>f5</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc" />
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw" />
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="{f3_target}">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"{condition_attrs}>{condition}\
</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="end" />
    <bpmn:sequenceFlow id="f5" sourceRef="{work_id}" targetRef="end" />
  </bpmn:process>
{diagram}</bpmn:definitions>
"""

DIAGRAM = """  <bpmndi:BPMNDiagram id="Diagram_hostile">
    <bpmndi:BPMNPlane id="Plane_hostile" bpmnElement="{key}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">\
<dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="calc_di" bpmnElement="calc">\
<dc:Bounds x="240" y="80" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="gw_di" bpmnElement="gw" isMarkerVisible="true">\
<dc:Bounds x="395" y="95" width="50" height="50" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="work_di" bpmnElement="{work_id}">\
<dc:Bounds x="500" y="80" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">\
<dc:Bounds x="652" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1">\
<di:waypoint x="188" y="120" /><di:waypoint x="240" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2">\
<di:waypoint x="340" y="120" /><di:waypoint x="395" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f3_di" bpmnElement="f3">\
<di:waypoint x="445" y="120" /><di:waypoint x="500" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f4_di" bpmnElement="f4">\
<di:waypoint x="420" y="145" /><di:waypoint x="420" y="220" /><di:waypoint x="670" y="220" />\
<di:waypoint x="670" y="138" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f5_di" bpmnElement="f5">\
<di:waypoint x="600" y="120" /><di:waypoint x="652" y="120" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
"""

DEFAULTS: dict[str, str] = {
    "encoding": "UTF-8",
    "prolog": "",
    "key": "hostile",
    "name": "Hostile",
    "executable": "true",
    "documentation": "",
    "start_ext": "",
    "script_attrs": "",
    "script": "x = 1",
    "condition_attrs": "",
    "condition": "x == 1",
    "work_tag": "userTask",
    "work_id": "work",
    "work_attrs": ' camunda:candidateGroups="hall_clerk"',
    "work_ext": "",
    "work_tail": "",
    "f3_target": "",
}


def document(*, diagram: bool = True, raw: dict[str, str] | None = None, **fields: str) -> str:
    """The baseline document with some fields replaced; `fields` are XML-escaped, `raw` not."""
    values = {**DEFAULTS, **{k: escape(v, {'"': "&quot;"}) for k, v in fields.items()}}
    values.update(raw or {})
    if not values["f3_target"]:
        values["f3_target"] = values["work_id"]
    values["diagram"] = DIAGRAM.format(**values) if diagram else ""
    return TEMPLATE.format(**values)


def doc(**kw: str) -> bytes:
    return document(**kw).encode()


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[str], bytes]  # sentinel path -> file content
    expect: str  # a fragment of the error message (lower case)
    status: int = 422


def _entity_doc(prolog: str, documentation: str) -> bytes:
    return doc(raw={"prolog": prolog, "documentation": documentation})


EXTERNAL_ENTITY_XXE = (
    '<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
    "&xxe;",
)
NETWORK_ENTITY = (
    '<!DOCTYPE bpmn:definitions [<!ENTITY net SYSTEM "http://127.0.0.1:9/x">]>\n',
    "&net;",
)
BILLION_LAUGHS = (
    "<!DOCTYPE bpmn:definitions [\n"
    '  <!ENTITY lol "lol">\n'
    + "".join(
        f'  <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n",
    "&lol9;",
)
QUADRATIC_BLOWUP = (
    f'<!DOCTYPE bpmn:definitions [<!ENTITY a "{"a" * 50_000}">]>\n',
    "&a;" * 20_000,
)
EXTERNAL_DTD = ('<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:9/bpmn.dtd">\n', "")
PARAMETER_ENTITIES = (
    "<!DOCTYPE bpmn:definitions [\n"
    '  <!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
    '  <!ENTITY % file SYSTEM "file:///etc/passwd">\n'
    "  %remote;\n"
    "]>\n",
    "",
)
# A DOCTYPE after a long comment, beyond the first 4 KB of the file.
LATE_DOCTYPE = (
    "<!-- " + "padding " * 1000 + '-->\n<!DOCTYPE bpmn:definitions SYSTEM "file:///etc/passwd">\n',
    "",
)


def _utf7_doctype(_s: str) -> bytes:
    # "<!DOCTYPE" spelled in UTF-7 so that a byte-level search for it does not match.
    text = document(
        encoding="UTF-7",
        raw={
            "prolog": "+ADw-!DOCTYPE x +AFs-+ADw-!ENTITY e SYSTEM +ACI-file:///etc/passwd+ACI-+AD4-+AF0-+AD4-\n"
        },
    )
    return text.encode()


def _utf16(_s: str) -> bytes:
    text = document(encoding="UTF-16", raw={"prolog": EXTERNAL_ENTITY_XXE[0]})
    return text.encode("utf-16")


def _latin1(_s: str) -> bytes:
    return document(name="Café électrique").encode("latin-1")


def _deeply_nested(_s: str) -> bytes:
    depth = 10_000
    return doc(raw={"documentation": "<x>" * depth + "</x>" * depth})


def _duplicate_ids(_s: str) -> bytes:
    # The user task gets the id of the script task.
    return doc(raw={"work_id": "calc"})


def _script(code: str) -> Callable[[str], bytes]:
    return lambda sentinel: doc(script=code.replace("SENTINEL", sentinel))


def _condition(expr: str, attrs: str = "") -> Callable[[str], bytes]:
    return lambda sentinel: doc(
        condition=expr.replace("SENTINEL", sentinel), raw={"condition_attrs": attrs}
    )


def _raw(**raw: str) -> Callable[[str], bytes]:
    return lambda sentinel: doc(raw={k: v.replace("SENTINEL", sentinel) for k, v in raw.items()})


EXECUTION_LISTENER = """
      <bpmn:extensionElements>
        <camunda:executionListener event="start">
          <camunda:script scriptFormat="python">open("SENTINEL", "w")</camunda:script>
        </camunda:executionListener>
      </bpmn:extensionElements>"""
EXPRESSION_LISTENER = """
      <bpmn:extensionElements>
        <camunda:executionListener event="start"
          expression="${__import__('os').system('touch SENTINEL')}" />
      </bpmn:extensionElements>"""
TASK_LISTENER = """
      <bpmn:extensionElements>
        <camunda:taskListener event="create" class="org.example.Evil" />
      </bpmn:extensionElements>"""
INPUT_OUTPUT = """
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="x">
            <camunda:script scriptFormat="python">open("SENTINEL", "w")</camunda:script>
          </camunda:inputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>"""
CAMUNDA_COLLECTION = """
      <bpmn:multiInstanceLoopCharacteristics \
camunda:collection="${__import__('os').listdir('/')}" camunda:elementVariable="signer" />"""

CASES = [
    # --- XML-level attacks --------------------------------------------------------------------
    Case("xxe-file-entity", lambda _s: _entity_doc(*EXTERNAL_ENTITY_XXE), "doctype"),
    Case("xxe-network-entity", lambda _s: _entity_doc(*NETWORK_ENTITY), "doctype"),
    Case("billion-laughs", lambda _s: _entity_doc(*BILLION_LAUGHS), "doctype"),
    Case("quadratic-blowup", lambda _s: _entity_doc(*QUADRATIC_BLOWUP), "doctype"),
    Case("external-dtd", lambda _s: _entity_doc(*EXTERNAL_DTD), "doctype"),
    Case("parameter-entities", lambda _s: _entity_doc(*PARAMETER_ENTITIES), "doctype"),
    Case("doctype-after-4kb", lambda _s: _entity_doc(*LATE_DOCTYPE), "doctype"),
    Case("utf7-encoded-doctype", _utf7_doctype, "doctype"),
    Case("utf16-with-entity", _utf16, "utf-8"),
    Case("not-xml", lambda _s: b"this is not XML at all {}", "not well-formed"),
    Case("empty-file", lambda _s: b"", "not well-formed"),
    Case("whitespace-only", lambda _s: b"  \n\t ", "not well-formed"),
    Case("non-utf8", _latin1, "utf-8"),
    Case("truncated", lambda _s: doc()[:-200], "not well-formed"),
    Case(
        "root-not-definitions",
        lambda _s: b'<?xml version="1.0"?><html><body>hello</body></html>',
        "root element",
    ),
    Case(
        "wrong-bpmn-namespace",
        lambda _s: doc().replace(
            b"http://www.omg.org/spec/BPMN/20100524/MODEL",
            b"http://www.omg.org/spec/BPMN/20100524/MODEL-typo",
        ),
        "root element",
    ),
    Case("deeply-nested", _deeply_nested, "not well-formed"),
    # --- structure ----------------------------------------------------------------------------
    Case("no-executable-process", lambda _s: doc(executable="false"), "isexecutable"),
    Case("duplicate-ids", _duplicate_ids, "is used again"),
    Case("flow-to-missing-element", _raw(f3_target="nowhere"), "nowhere"),
    Case("missing-bpmndi", lambda _s: document(diagram=False).encode(), "bpmndi"),
    Case(
        "user-task-without-candidates",
        _raw(work_attrs=""),
        "no camunda:candidategroups",
    ),
    # --- scripts ------------------------------------------------------------------------------
    Case("script-import-statement", _script("import os\nos.system('touch SENTINEL')"), "only"),
    Case("script-dunder-import", _script("x = __import__('os').system('touch SENTINEL')"), "'_'"),
    Case(
        "script-subclasses",
        _script("x = ().__class__.__base__.__subclasses__()"),
        "not allowed",
    ),
    Case("script-open", _script("x = open('SENTINEL', 'w')"), "'open' is not available"),
    Case("script-dunder-attribute", _script("x = businessKey.__class__"), "'__class__'"),
    Case("script-method-self", _script("x = businessKey.upper.__self__"), "'__self__'"),
    Case("script-format-escape", _script('x = "{0.__class__}".format(businessKey)'), "'format'"),
    Case("script-fstring", _script('x = f"{businessKey.__class__}"'), "not allowed"),
    Case("script-lambda", _script("x = (lambda: open('SENTINEL', 'w'))()"), "lambda"),
    Case("script-eval", _script("x = eval(\"open('SENTINEL', 'w')\")"), "'eval' is not available"),
    Case("script-getattr", _script("x = getattr(businessKey, 'upper')"), "'getattr'"),
    Case("script-walrus", _script("x = (y := 1)"), "namedexpr"),
    Case("script-def", _script("def f():\n    return open('SENTINEL', 'w')"), "only"),
    Case("script-loop", _script("for i in [1]:\n    x = i"), "only"),
    Case("script-attribute-assignment", _script("x = 1\nx.y = 2"), "only"),
    Case("script-underscore-name", _script("_x = 1"), "'_'"),
    Case("script-juel", _script("x = ${a && b}"), "syntax"),
    Case("script-empty", _script("   "), "no script"),
    Case("script-syntax-error", _script("x = (1"), "syntax"),
    # --- gateway conditions -------------------------------------------------------------------
    Case("condition-import", _condition("__import__('os').system('touch SENTINEL')"), "'_'"),
    Case("condition-juel-not-import", _condition("${!__import__('os').getcwd()}"), "'_'"),
    Case("condition-juel-too-long", _condition("${" + "a && " * 2500 + "a}"), "longer"),
    Case("condition-juel-and-lambda", _condition("${a && (lambda: 1)()}"), "lambda"),
    Case("condition-statement", _condition("x = 1"), "syntax"),
    Case(
        "condition-javascript",
        _condition("java.lang.Runtime.getRuntime()", ' language="javascript"'),
        "language",
    ),
    Case("condition-subclasses", _condition("[].__class__.__mro__"), "not allowed"),
    # --- Camunda extensions that run code -----------------------------------------------------
    Case(
        "camunda-class",
        _raw(work_tag="serviceTask", work_attrs=' camunda:class="java.lang.Runtime"'),
        "java delegates",
    ),
    Case(
        "camunda-delegate-expression",
        _raw(work_tag="serviceTask", work_attrs=' camunda:delegateExpression="${evil}"'),
        "delegate expressions",
    ),
    Case(
        "camunda-expression",
        _raw(
            work_tag="serviceTask",
            work_attrs=" camunda:expression=\"${__import__('os').system('touch SENTINEL')}\"",
        ),
        "camunda:expression",
    ),
    Case("execution-listener", _raw(start_ext=EXECUTION_LISTENER), "listeners"),
    Case("execution-listener-expression", _raw(start_ext=EXPRESSION_LISTENER), "listeners"),
    Case("task-listener", _raw(work_ext=TASK_LISTENER), "listeners"),
    Case("camunda-input-output-script", _raw(work_ext=INPUT_OUTPUT), "inputoutput"),
    Case("camunda-collection", _raw(work_tail=CAMUNDA_COLLECTION), "camunda:collection"),
    Case(
        "camunda-external-script-resource",
        _raw(script_attrs=' camunda:resource="file:///etc/passwd"'),
        "external script",
    ),
    Case(
        "candidate-groups-expression-import",
        _raw(work_attrs=" camunda:candidateGroups=\"${__import__('os').getcwd()}\""),
        "'_'",
    ),
    # --- size ---------------------------------------------------------------------------------
    Case(
        "huge-file",
        lambda _s: doc(raw={"documentation": "<!-- " + "x" * (6 * 1024 * 1024) + " -->"}),
        "larger than",
        status=413,
    ),
]


def definitions_count(api: Api) -> int:
    return sum(len(d["versions"]) for d in api.get("/process-definitions").json())


def test_the_baseline_document_is_valid(api: Api) -> None:
    """Each case changes one thing in this document, so the refusal is due to that change."""
    response = api.deploy_bytes("baseline.bpmn", doc())
    assert response.status_code == 201, response.text
    started = api.start("hostile", "BASE-1", {})
    assert started.status_code == 201, started.text
    assert [t["element_id"] for t in started.json()["tasks"]] == ["work"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_upload_is_refused(api: Api, tmp_path: Path, case: Case) -> None:
    sentinel = tmp_path / "pwned"
    content = case.build(str(sentinel))

    response = api.deploy_bytes("upload.bpmn", content)

    assert response.status_code == case.status, response.text[:2000]
    body = response.json()
    assert body["message"]
    if case.status == 422:
        assert body["code"] == "invalid_bpmn"
        assert body["details"], "details list every problem"
        for problem in body["details"]:
            assert problem["file"] == "upload.bpmn"
            assert problem["message"]
        messages = [d["message"].lower() for d in body["details"]]
        assert any(case.expect in m for m in messages), messages
    else:
        assert case.expect in body["message"].lower(), body["message"]
    # Nothing was stored, nothing ran, and the server keeps serving.
    assert definitions_count(api) == 0
    assert api.start("hostile", "HOSTILE-1", {}).status_code == 404
    assert not sentinel.exists()
    assert api.get("/health/live", user=None).status_code == 200
    assert api.get("/tasks", "clerk").status_code == 200


def test_refusals_report_the_element_and_line(api: Api, tmp_path: Path) -> None:
    content = doc(
        script="x = __import__('os')",
        condition="${a && }",
        raw={"work_ext": TASK_LISTENER},
    )
    response = api.deploy_bytes("three.bpmn", content)
    assert response.status_code == 422
    details = response.json()["details"]
    by_element = {d["element"]: d for d in details}
    assert {"calc", "f3", "work"} <= set(by_element), details
    lines = content.decode().splitlines()
    for element, problem in by_element.items():
        assert problem["line"], problem
        assert f'id="{element}"' in lines[problem["line"] - 1], problem
    assert not (tmp_path / "pwned").exists()


def test_a_file_of_too_many_elements_is_refused_before_it_is_checked(api: Api) -> None:
    """150,000 tasks (3.6 MB, under the upload limit) took the checks half a minute of a server
    core before they were refused; the element count refuses them at once, naming the limit."""
    tasks = "".join(f'<bpmn:task id="t{i}"/>' for i in range(150_000))
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="d" targetNamespace="http://bpmn-service.example/test">\n'
        f'<bpmn:process id="many" isExecutable="true"><bpmn:startEvent id="s"/>{tasks}'
        "</bpmn:process></bpmn:definitions>"
    ).encode()
    response = api.deploy_bytes("many.bpmn", content)
    assert response.status_code == 422, response.text
    [problem] = response.json()["details"]
    assert problem["code"] == "structure.size"
    assert problem["line"] == 2
    assert "150,003 BPMN elements" in problem["message"]
    assert f"at most {MAX_BPMN_ELEMENTS:,}" in problem["message"]
    assert api.get("/process-definitions/many").status_code == 404


def test_refused_loop_attributes_name_their_task(api: Api) -> None:
    """A camunda:collection that is not a variable name is refused; it sits on the id-less loop
    element, so the problem names the task owning it.

    docs/authoring.md: "Each is reported at deploy with its element id."
    """
    response = api.deploy_bytes("collection.bpmn", doc(raw={"work_tail": CAMUNDA_COLLECTION}))
    assert response.status_code == 422
    details = response.json()["details"]
    collection = [d for d in details if "camunda:collection" in d["message"]]
    assert collection, details
    assert [d["element"] for d in collection] == ["work"], details


def test_xinclude_is_never_processed(api: Api) -> None:
    """XInclude inside lax extension content may be accepted, but is never expanded."""
    xinclude = (
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" '
        'parse="text" />'
    )
    response = api.deploy_bytes("xinclude.bpmn", doc(raw={"documentation": xinclude}))
    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:
        xml = api.get("/process-definitions/hostile/xml").text
        assert "root:" not in xml
        assert "xi:include" in xml


RUNTIME_BLOWUPS = [
    ("power-tower", "x = 9**9**9"),
    ("big-exponent", "x = 10**5000"),
    ("string-repeat", "x = 'a' * 10**10"),
    ("list-repeat", "x = [1] * 10**9"),
    ("comprehension", "x = [i for i in 'a' * 9999 for j in 'a' * 9999]"),
    ("division-by-zero", "x = 1 / 0"),
    ("huge-integer-result", "x = (10**1000)**1000"),
]


@pytest.mark.parametrize(
    "script", [s for _, s in RUNTIME_BLOWUPS], ids=[i for i, _ in RUNTIME_BLOWUPS]
)
def test_runtime_blowups_fail_the_step_with_422(api: Api, script: str) -> None:
    """Resource bombs pass the syntax whitelist; running them fails the step (422), stores nothing.

    Whether the deploy refuses them up front (422) or the start does, the caller gets a 422 naming
    the script task, never a 500, and no instance is created.
    """
    deployed = api.deploy_bytes("bomb.bpmn", doc(script=script))
    if deployed.status_code == 422:
        assert "calc" in {d["element"] for d in deployed.json()["details"]}
        return
    assert deployed.status_code == 201, deployed.text
    started = api.start("hostile", "BOMB-1", {})
    assert started.status_code == 422, started.text[:500]
    assert started.json()["details"] == {"element": "calc"}
    assert api.get("/process-instances").json()["total"] == 0
    assert api.get("/health/live", user=None).status_code == 200


BOMB_RUNNER = """
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from bpmn_service.config import Settings
from bpmn_service.main import create_app

root, database, bpmn = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
settings = Settings(
    database_url=f"sqlite:///{database}",
    users_file=root / "config" / "users.toml",
    processes_dir=root / "processes",
    registry_file=root / "config" / "construction-units.toml",
    deploy_on_start=False,
    reference_workers=False,
)
headers = {"Authorization": "Bearer demo-admin"}
with TestClient(create_app(settings)) as client:
    print("ready", flush=True)
    files = [("files", ("bomb.bpmn", bpmn.read_bytes(), "application/xml"))]
    deployed = client.post("/api/v1/deployments", headers=headers, files=files)
    print("deploy", deployed.status_code, flush=True)
    if deployed.status_code == 201:
        body = {"business_key": "BOMB", "variables": {}}
        started = client.post(
            "/api/v1/process-definitions/hostile/instances", headers=headers, json=body
        )
        print("start", started.status_code, flush=True)
"""


def test_nested_power_towers_are_refused_without_being_computed(tmp_path: Path) -> None:
    """Each exponent is at most 1000, yet ((10**1000)**1000)**1000 has a billion digits.

    Computing it would occupy a worker for hours (and on SQLite hold the writer lock meanwhile), so
    it must be refused up front or fail fast. The server runs in a subprocess that is killed if it
    does not answer within the timeout.
    """
    bpmn = tmp_path / "bomb.bpmn"
    bpmn.write_bytes(doc(script="x = ((10**1000)**1000)**1000"))
    runner = tmp_path / "runner.py"
    runner.write_text(BOMB_RUNNER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPMN_")}
    errors = tmp_path / "runner.err"
    with errors.open("w") as stderr:
        runner_process = subprocess.Popen(
            [sys.executable, str(runner), str(ROOT), str(tmp_path / "bomb.db"), str(bpmn)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert runner_process.stdout is not None
        for line in runner_process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        # Starting the app (imports, migrations) may take long on a loaded machine; the 30 s
        # count only from then on, while the server answers the deployment and the start.
        try:
            ready = lines.get(timeout=180)
        except queue.Empty:
            raise AssertionError("the server did not start within 180 s") from None
        assert ready == "ready\n", errors.read_text()[-2000:]
        try:
            runner_process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError("the server was still computing after 30 s") from None
    finally:
        if runner_process.poll() is None:
            runner_process.kill()
            runner_process.wait()
    answers = []
    while (line := lines.get(timeout=10)) is not None:
        answers.append(line)
    assert runner_process.returncode == 0, errors.read_text()[-2000:]
    assert "".join(answers).split() in (["deploy", "422"], ["deploy", "201", "start", "422"])


def test_server_keeps_serving_after_the_whole_corpus(api: Api, tmp_path: Path) -> None:
    sentinel = str(tmp_path / "pwned")
    for case in CASES:
        if case.status == 422:
            assert api.deploy_bytes("x.bpmn", case.build(sentinel)).status_code == 422, case.id
    # Many hostile files in one request (at most 50 per deployment): all refused, each listed.
    batch = [c for c in CASES if c.status == 422][:50]
    files = [("files", (f"{c.id}.bpmn", c.build(sentinel), "application/xml")) for c in batch]
    response = api.post("/deployments", "analyst", files=files)
    assert response.status_code == 422
    reported = {d["file"] for d in response.json()["details"]}
    assert reported == {f"{c.id}.bpmn" for c in batch}
    assert definitions_count(api) == 0
    assert not Path(sentinel).exists()
    assert api.deploy_bytes("good.bpmn", doc()).status_code == 201
    assert api.start("hostile", "AFTER-1", {}).status_code == 201
