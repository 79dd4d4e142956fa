"""`bpmn-service layout` and the layout warnings: tiny files with lanes, loops, boundary events and
multi-instance are laid out with no warning; deliberately bad drawings give each warning with its
line and element."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bpmn_service.cli import main
from bpmn_service.engine import compile_bpmn, diagram_size, layout_bpmn, layout_warnings
from bpmn_service.errors import InvalidBpmn
from conftest import DATA, ROOT, Api

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" \
xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" \
xmlns:di="http://www.omg.org/spec/DD/20100524/DI" \
xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_tiny" targetNamespace="http://example/t">
"""

# Two lanes, a co-sign (multi-instance) with two boundary timers, a rework loop, a data object and
# a flow that skips a lane; drawn without any diagram at all.
LANES = (
    HEAD
    + """  <bpmn:collaboration id="Collab_tiny">
    <bpmn:participant id="Pool_tiny" name="供电公司" processRef="tiny" />
  </bpmn:collaboration>
  <bpmn:process id="tiny" name="Tiny" isExecutable="true">
    <bpmn:laneSet id="LaneSet_tiny">
      <bpmn:lane id="Lane_clerk" name="受理">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>prepare</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>rework</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_lead" name="会签">
        <bpmn:flowNodeRef>cosign</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>remind</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>expire</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>decide</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>chase</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>chased</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>expired</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:dataObject id="register" />
    <bpmn:dataObjectReference id="register_ref" name="登记簿" dataObjectRef="register" />
    <bpmn:startEvent id="start" name="申请受理">
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="prepare" name="准备会签名单" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:incoming>f6</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:dataOutputAssociation id="out_register">
        <bpmn:targetRef>register_ref</bpmn:targetRef>
      </bpmn:dataOutputAssociation>
      <bpmn:script>signers = ["a", "b"]
register = []</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="cosign" name="竣工验收会签" camunda:candidateGroups="leadership">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>signers</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="signer" name="signer" />
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="remind" name="1 个工作日未签" cancelActivity="false"
        attachedToRef="cosign">
      <bpmn:outgoing>f7</bpmn:outgoing>
      <bpmn:timerEventDefinition id="remind_def">
        <bpmn:timeDuration>P1D</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="expire" name="方案有效期届满" attachedToRef="cosign">
      <bpmn:outgoing>f9</bpmn:outgoing>
      <bpmn:timerEventDefinition id="expire_def">
        <bpmn:timeDuration>P30D</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="chase" name="催办" camunda:candidateGroups="leadership">
      <bpmn:incoming>f7</bpmn:incoming>
      <bpmn:outgoing>f8</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="chased" name="已催办">
      <bpmn:incoming>f8</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="expired" name="已过期">
      <bpmn:incoming>f9</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:exclusiveGateway id="decide" name="会签通过？" default="f5">
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="rework" name="整改" camunda:candidateGroups="clerk">
      <bpmn:incoming>f5</bpmn:incoming>
      <bpmn:outgoing>f6</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end" name="办结">
      <bpmn:incoming>f4</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare" />
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="cosign" />
    <bpmn:sequenceFlow id="f3" sourceRef="cosign" targetRef="decide" />
    <bpmn:sequenceFlow id="f4" name="通过" sourceRef="decide" targetRef="end">
      <bpmn:conditionExpression>approved</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" name="不通过" sourceRef="decide" targetRef="rework" />
    <bpmn:sequenceFlow id="f6" sourceRef="rework" targetRef="prepare" />
    <bpmn:sequenceFlow id="f7" sourceRef="remind" targetRef="chase" />
    <bpmn:sequenceFlow id="f8" sourceRef="chase" targetRef="chased" />
    <bpmn:sequenceFlow id="f9" sourceRef="expire" targetRef="expired" />
  </bpmn:process>
</bpmn:definitions>
"""
)

# One lane-less process drawn badly on purpose: f2 runs through `middle`, the timer sits on the
# multi-instance marker, two labels overlap, a label lies on a task and `lost` has no shape.
BAD = (
    HEAD
    + """  <bpmn:process id="bad" isExecutable="true">
    <bpmn:startEvent id="start" name="开始">
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="sign" name="会签" camunda:candidateGroups="clerk">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopCardinality>2</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="late" name="超期" cancelActivity="false" attachedToRef="sign">
      <bpmn:timerEventDefinition id="late_def">
        <bpmn:timeDuration>P1D</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="middle" name="中间" camunda:candidateGroups="clerk" />
    <bpmn:endEvent id="end" name="结束">
      <bpmn:incoming>f2</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="lost" name="丢失" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sign" />
    <bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_bad">
    <bpmndi:BPMNPlane id="Plane_bad" bpmnElement="bad">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="100" y="100" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="90" y="140" width="60" height="14" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="sign_di" bpmnElement="sign">
        <dc:Bounds x="200" y="78" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="late_di" bpmnElement="late">
        <dc:Bounds x="232" y="140" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="100" y="145" width="40" height="14" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="middle_di" bpmnElement="middle">
        <dc:Bounds x="360" y="78" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="520" y="100" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="380" y="90" width="40" height="14" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1">
        <di:waypoint x="136" y="118" />
        <di:waypoint x="200" y="118" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2">
        <di:waypoint x="300" y="118" />
        <di:waypoint x="520" y="118" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
)

# Two pools (one collapsed) with message flows, an annotation outside the process, an expanded
# subprocess and a loop marker under a boundary event; no diagram.
POOLS = (
    HEAD
    + """  <bpmn:collaboration id="c">
    <bpmn:participant id="p1" name="供电公司" processRef="main" />
    <bpmn:participant id="p2" name="客户" />
    <bpmn:messageFlow id="m1" name="申请" sourceRef="p2" targetRef="s" />
    <bpmn:messageFlow id="m2" name="答复" sourceRef="t2" targetRef="p2" />
    <bpmn:textAnnotation id="a1"><bpmn:text>客户在 APP 中提交</bpmn:text></bpmn:textAnnotation>
    <bpmn:association id="as1" sourceRef="s" targetRef="a1" />
  </bpmn:collaboration>
  <bpmn:process id="main" isExecutable="true">
    <bpmn:startEvent id="s" name="收到申请">
      <bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:messageEventDefinition id="md" />
    </bpmn:startEvent>
    <bpmn:task id="t1" name="受理">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:task>
    <bpmn:subProcess id="sp" name="审核">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:startEvent id="ss"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:task id="st" name="初审">
        <bpmn:incoming>g1</bpmn:incoming>
        <bpmn:outgoing>g2</bpmn:outgoing>
      </bpmn:task>
      <bpmn:endEvent id="se"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="ss" targetRef="st" />
      <bpmn:sequenceFlow id="g2" sourceRef="st" targetRef="se" />
    </bpmn:subProcess>
    <bpmn:task id="t2" name="答复">
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:standardLoopCharacteristics />
    </bpmn:task>
    <bpmn:boundaryEvent id="b1" name="超时" attachedToRef="t2">
      <bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td" />
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e2" name="超时结束"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t1" />
    <bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="sp" />
    <bpmn:sequenceFlow id="f3" sourceRef="sp" targetRef="t2" />
    <bpmn:sequenceFlow id="f4" sourceRef="t2" targetRef="e" />
    <bpmn:sequenceFlow id="f5" sourceRef="b1" targetRef="e2" />
  </bpmn:process>
</bpmn:definitions>
"""
)

DI_LINE = re.compile(r"^\s*</?(bpmndi|dc|di):")
SHIPPED = sorted((ROOT / "processes").glob("*.bpmn"))
TEST_FILES = sorted(DATA.glob("*.bpmn"))


def _semantics(text: str) -> list[str]:
    """Every line outside the diagram."""
    return [line for line in text.splitlines() if not DI_LINE.match(line)]


def _bounds(text: str, element: str) -> tuple[float, float, float, float]:
    match = re.search(
        rf'bpmnElement="{re.escape(element)}"[^>]*>\s*<dc:Bounds x="([-\d.]+)" y="([-\d.]+)" '
        r'width="([\d.]+)" height="([\d.]+)"',
        text,
    )
    assert match, element
    x, y, w, h = (float(v) for v in match.groups())
    return x, y, w, h


def _waypoints(text: str, flow: str) -> list[tuple[float, float]]:
    match = re.search(rf'bpmnElement="{re.escape(flow)}"[^>]*>(.*?)</bpmndi:BPMNEdge>', text, re.S)
    assert match, flow
    found = re.findall(r'<di:waypoint x="([-\d.]+)" y="([-\d.]+)"', match[1])
    return [(float(x), float(y)) for x, y in found]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_layout_draws_lanes_loops_boundary_events_and_multi_instance_without_warnings() -> None:
    laid_out = layout_bpmn(LANES.encode(), "tiny.bpmn").decode()
    assert layout_warnings(laid_out.encode(), "tiny.bpmn") == []
    # Only the diagram was added: every other line is the same, in the same order.
    assert _semantics(laid_out) == _semantics(LANES)
    # Every node stands inside its lane, and the lanes inside the pool.
    pool = _bounds(laid_out, "Pool_tiny")
    for lane, nodes in {
        "Lane_clerk": ("start", "prepare", "rework", "end"),
        "Lane_lead": ("cosign", "decide", "chase", "chased", "expired"),
    }.items():
        lx, ly, lw, lh = _bounds(laid_out, lane)
        assert pool[0] < lx and ly >= pool[1] and ly + lh <= pool[1] + pool[3]
        for node in nodes:
            x, y, w, h = _bounds(laid_out, node)
            assert lx < x and x + w < lx + lw and ly < y and y + h < ly + lh, node
    # Left to right: each step of the main path starts right of the one before.
    xs = [_bounds(laid_out, n)[0] for n in ("start", "prepare", "cosign", "decide", "end")]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    # Boundary events sit on the co-sign's bottom edge, clear of its marker at the centre.
    cx, cy, cw, ch = _bounds(laid_out, "cosign")
    for timer in ("remind", "expire"):
        x, y, w, h = _bounds(laid_out, timer)
        assert y + h / 2 == cy + ch
        assert x + w <= cx + cw / 2 - 7 or x >= cx + cw / 2 + 7, timer
    # Flows are orthogonal; the loop back to `prepare` leaves its gateway and re-enters the task.
    for flow in ("f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"):
        points = _waypoints(laid_out, flow)
        assert len(points) >= 2
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            assert x0 == x1 or y0 == y1, flow
    rework = _bounds(laid_out, "rework")
    prepare = _bounds(laid_out, "prepare")
    loop = _waypoints(laid_out, "f6")
    assert rework[0] <= loop[0][0] <= rework[0] + rework[2]
    assert prepare[0] <= loop[-1][0] <= prepare[0] + prepare[2]
    # Deterministic and stable: laying out the result again changes nothing.
    assert layout_bpmn(laid_out.encode(), "tiny.bpmn").decode() == laid_out


def test_laid_out_files_deploy_the_same_process() -> None:
    def allow(_lane: str, _groups: str | None) -> bool:
        return True

    compile_bpmn(layout_bpmn(LANES.encode(), "tiny.bpmn"), "tiny.bpmn", allow)
    for path in (DATA / "countersign.bpmn", DATA / "access_matrix.bpmn"):
        original = path.read_bytes()
        before = compile_bpmn(original, path.name, allow)
        after = compile_bpmn(layout_bpmn(original, path.name), path.name, allow)
        assert after.spec_json == before.spec_json


@pytest.mark.parametrize("path", SHIPPED + TEST_FILES, ids=lambda p: p.name)
def test_every_shipped_and_test_file_lays_out_without_warnings(path: Path) -> None:
    original = path.read_bytes()
    laid_out = layout_bpmn(original, path.name)
    assert layout_warnings(laid_out, path.name) == []
    assert _semantics(laid_out.decode()) == _semantics(original.decode())
    size = diagram_size(laid_out, path.name)
    assert size.shapes >= diagram_size(original, path.name).shapes
    # Flows are orthogonal, and one that goes forward never doubles back to the left.
    text = laid_out.decode()
    flows = re.findall(r'<bpmn:sequenceFlow id="([^"]+)"', text)
    assert flows
    for flow in flows:
        points = _waypoints(text, flow)
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            assert x0 == x1 or y0 == y1, flow
        if points[-1][0] > points[0][0] + 40:
            xs = [x for x, _ in points]
            assert xs == sorted(xs), flow


def test_checks_find_each_kind_of_problem_with_line_and_element() -> None:
    findings = layout_warnings(BAD.encode(), "bad.bpmn")
    found = {(f.code, f.element): f for f in findings}
    through = found[("layout.flow-through-shape", "f2")]
    assert "middle" in through.message and through.line == _line_of(BAD, 'id="f2_di"')
    covered = found[("layout.marker-covered", "late")]
    assert "multi-instance" in covered.message and "sign" in covered.message
    assert covered.line == _line_of(BAD, 'id="late_di"')
    overlap = found[("layout.label-overlap", "start")]
    assert "late" in overlap.message
    over_shape = found[("layout.label-over-shape", "end")]
    assert "middle" in over_shape.message
    assert all(f.severity == "warning" and f.file == "bad.bpmn" and f.hint for f in findings)
    assert len(findings) == 4, findings
    # A lane without a shape is invisible too (flow nodes without one are refused on deploy).
    with_lane = BAD.replace(
        '<bpmn:process id="bad" isExecutable="true">',
        '<bpmn:process id="bad" isExecutable="true"><bpmn:laneSet id="ls">'
        '<bpmn:lane id="Lane_x" name="受理" /></bpmn:laneSet>',
    )
    [missing] = [f for f in layout_warnings(with_lane.encode(), "b.bpmn") if f.element == "Lane_x"]
    assert missing.code == "layout.missing-shape" and missing.line == _line_of(with_lane, "Lane_x")
    # The tool fixes them all.
    assert layout_warnings(layout_bpmn(BAD.encode(), "bad.bpmn"), "bad.bpmn") == []


def test_layout_draws_a_file_that_has_no_diagram() -> None:
    bare = re.sub(r"\s*<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", BAD, flags=re.S)
    assert "BPMNDiagram" not in bare
    laid_out = layout_bpmn(bare.encode(), "bare.bpmn")
    assert b"<bpmndi:BPMNShape" in laid_out
    assert layout_warnings(laid_out, "bare.bpmn") == []


def test_layout_draws_pools_message_flows_annotations_and_subprocesses() -> None:
    laid_out = layout_bpmn(POOLS.encode(), "pools.bpmn").decode()
    assert layout_warnings(laid_out.encode(), "pools.bpmn") == []
    assert 'bpmnElement="c"' in laid_out  # the plane draws the collaboration
    main_pool, customer = _bounds(laid_out, "p1"), _bounds(laid_out, "p2")
    assert main_pool[1] + main_pool[3] < customer[1]  # stacked, the collapsed pool below
    sub = _bounds(laid_out, "sp")
    for inner in ("ss", "st", "se"):
        x, y, w, h = _bounds(laid_out, inner)
        assert sub[0] < x and x + w < sub[0] + sub[2] and sub[1] < y and y + h < sub[1] + sub[3]
    assert 'bpmnElement="sp" isExpanded="true"' in laid_out
    # The message flows are vertical where they leave and enter, the annotation has a shape.
    for flow in ("m1", "m2"):
        points = _waypoints(laid_out, flow)
        assert points[0][0] == points[1][0] and points[-1][0] == points[-2][0], flow
    assert _bounds(laid_out, "a1") and len(_waypoints(laid_out, "as1")) == 2
    loop_task, timer = _bounds(laid_out, "t2"), _bounds(laid_out, "b1")
    centre = loop_task[0] + loop_task[2] / 2
    assert timer[0] + timer[2] <= centre - 7 or timer[0] >= centre + 7


def test_layout_keeps_windows_line_ends_and_refuses_other_encodings() -> None:
    crlf = BAD.replace("\n", "\r\n").encode()
    laid_out = layout_bpmn(crlf, "crlf.bpmn")
    assert laid_out.count(b"\n") == laid_out.count(b"\r\n")
    assert layout_warnings(laid_out, "crlf.bpmn") == []
    utf16 = BAD.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    with pytest.raises(InvalidBpmn, match="not UTF-8"):
        layout_bpmn(utf16, "utf16.bpmn")


def test_layout_refuses_what_is_not_bpmn() -> None:
    with pytest.raises(InvalidBpmn, match="not well-formed"):
        layout_bpmn(b"<bpmn:definitions", "broken.bpmn")
    with pytest.raises(InvalidBpmn, match="DOCTYPE"):
        layout_bpmn((DATA / "hostile" / "billion-laughs.bpmn").read_bytes(), "x.bpmn")


def test_layout_refuses_an_id_used_twice_naming_both_lines() -> None:
    """A subprocess with its process's id made the layout recurse until Python's stack ran out."""
    content = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
 targetNamespace="x">
<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>
<bpmn:subProcess id="p"><bpmn:startEvent id="s2"/></bpmn:subProcess>
</bpmn:process></bpmn:definitions>"""
    with pytest.raises(InvalidBpmn) as refused:
        layout_bpmn(content, "twice.bpmn")
    [problem] = refused.value.problems
    assert (problem.line, problem.element) == (5, "p")
    assert "used again (first on line 4)" in problem.message


def test_layout_command_writes_the_file_and_reports_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.bpmn"
    source.write_text(BAD, encoding="utf-8")
    out = tmp_path / "out.bpmn"
    assert main(["layout", str(source), "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert re.match(rf"{re.escape(str(out))}: laid out \d+ x \d+ px \(was \d+ x \d+\)", printed.out)
    assert "0 layout warnings" in printed.out and printed.err == ""
    assert source.read_text(encoding="utf-8") == BAD
    assert main(["layout", str(source)]) == 0  # in place
    assert source.read_bytes() == out.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert main(["layout", str(tmp_path / "missing.bpmn")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_check_prints_layout_warnings_without_failing(tmp_path: Path) -> None:
    source = tmp_path / "bad.bpmn"
    # The reminder leads to the middle step (a step no path reaches would be an error).
    reached = BAD.replace('<bpmn:endEvent id="lost" name="丢失" />', "").replace(
        '<bpmn:sequenceFlow id="f2"',
        '<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="middle" />'
        '<bpmn:sequenceFlow id="f2"',
    )
    reached = reached.replace(
        "</bpmndi:BPMNPlane>",
        '<bpmndi:BPMNEdge id="f3_di" bpmnElement="f3"><di:waypoint x="250" y="176" />'
        '<di:waypoint x="250" y="200" /><di:waypoint x="410" y="200" />'
        '<di:waypoint x="410" y="158" /></bpmndi:BPMNEdge></bpmndi:BPMNPlane>',
    )
    source.write_text(reached, "utf-8")
    script = Path(sys.executable).parent / "bpmn-service"
    result = subprocess.run(
        [str(script), "check", str(source)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert all(": warning: " in w and w.startswith(f"{source}:") for w in warnings)
    layout = [w for w in warnings if "bpmn-service layout FILE" in w]
    assert len(layout) == 4, result.stderr  # through a shape, marker, two label overlaps
    # and the middle step, where the reminder's path ends without an end event
    line = next(i for i, text in enumerate(reached.splitlines(), 1) if 'id="middle"' in text)
    assert [w for w in warnings if w not in layout] == [
        f"{source}:{line} [middle]: warning: no sequence flow leaves the user task '中间': this"
        " path of the case ends there without an end event (draw a sequence flow from it to the"
        " next step or to an end event)"
    ]


def test_deploy_answer_lists_layout_warnings_and_deploys_anyway(api: Api) -> None:
    response = api.deploy(DATA / "escalation.bpmn")
    assert response.status_code == 201, response.text
    answered = response.json()["warnings"]
    assert answered and all(w["severity"] == "warning" for w in answered)
    # The file's other warning (its `amount` comes only with the start request) is no layout's.
    warnings = [w for w in answered if w["code"].startswith("layout.")]
    first = warnings[0]
    assert first["file"] == "escalation.bpmn" and first["code"] == "layout.flow-through-shape"
    assert first["line"] and first["element"] and "bpmn-service layout" in first["hint"]
    laid_out = layout_bpmn((DATA / "escalation.bpmn").read_bytes(), "escalation.bpmn")
    again = api.deploy_bytes("escalation.bpmn", laid_out)
    assert again.status_code == 201
    assert [w["code"] for w in again.json()["warnings"]] == ["data.start-variable"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_models_are_drawn_without_layout_warnings(path: Path) -> None:
    # What an analyst opens in the Modeler: no flow through a shape, no covered 会签 marker,
    # no label over another; an edit that breaks this is redrawn with `bpmn-service layout`.
    assert [str(w) for w in layout_warnings(path.read_bytes(), path.name)] == []


BARE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"{extra} id="d" targetNamespace="x">
  <process id="bare" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="t" />
    <userTask id="t" name="办理" />
    <sequenceFlow id="f2" sourceRef="t" targetRef="e" />
    <endEvent id="e" />
  </process>
</definitions>
"""


@pytest.mark.parametrize(
    "extra",
    ["", ' xmlns:dc="urn:example:not-the-dc-namespace"'],
    ids=["no-diagram-namespaces", "dc-prefix-taken"],
)
def test_a_file_that_declares_no_diagram_namespaces_is_laid_out(tmp_path: Path, extra: str) -> None:
    """Files from tools that draw nothing often declare only the BPMN namespace: the diagram
    carries its own declarations (a free prefix where the file uses the usual one otherwise),
    and the file is written only once the result reads back."""
    source = tmp_path / "bare.bpmn"
    source.write_text(BARE.format(extra=extra), encoding="utf-8")
    assert main(["layout", str(source)]) == 0
    laid_out = source.read_bytes()
    size = diagram_size(laid_out, "bare.bpmn")
    assert (size.shapes, size.edges) == (3, 2)
    assert layout_warnings(laid_out, "bare.bpmn") == []
    assert layout_bpmn(laid_out, "bare.bpmn") == laid_out
    before_diagram = laid_out.decode().split("<bpmndi:BPMNDiagram")[0].rstrip()
    assert before_diagram == BARE.format(extra=extra).split("</definitions>")[0].rstrip()
    compile_bpmn(laid_out, "bare.bpmn", lambda _lane, _groups: True)
