"""How the layout warnings and the layout tool scale with the size of a file.

    .venv/bin/python bench/layout_checks.py [--sizes 500,1500,3000,6000] [--rounds 3]

For each size N it generates one process with N exclusive gateways, each splitting to a task and
to a skip flow that merge at the next gateway (3N + 2 flow nodes, 4N + 1 sequence flows), with
every flow drawn straight along one row, so that every skip flow crosses its task: N warnings of
`layout.flow-through-shape`. It times `layout_warnings` (parse, index and check) on it and then
`layout_bpmn` on the same file, the median of the rounds, and prints a markdown table with the
time per 1,000 elements: constant when the work grows linearly.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from bpmn_service.engine import layout_bpmn, layout_warnings


def generate(n: int) -> bytes:
    nodes = ['<bpmn:startEvent id="start" />']
    flows: list[str] = []
    shapes = [
        '<bpmndi:BPMNShape bpmnElement="start"><dc:Bounds x="0" y="82" width="36" height="36" />'
        "</bpmndi:BPMNShape>"
    ]
    edges: list[str] = []

    def flow(fid: str, a: str, b: str, x0: float, x1: float) -> None:
        flows.append(f'<bpmn:sequenceFlow id="{fid}" sourceRef="{a}" targetRef="{b}" />')
        edges.append(
            f'<bpmndi:BPMNEdge bpmnElement="{fid}"><di:waypoint x="{x0}" y="100" />'
            f'<di:waypoint x="{x1}" y="100" /></bpmndi:BPMNEdge>'
        )

    previous, previous_right = "start", 36.0
    for i in range(n):
        x = 100 + i * 400
        gw, task = f"g{i}", f"t{i}"
        nodes.append(f'<bpmn:exclusiveGateway id="{gw}" />')
        nodes.append(f'<bpmn:task id="{task}" />')
        shapes.append(
            f'<bpmndi:BPMNShape bpmnElement="{gw}"><dc:Bounds x="{x}" y="75" width="50" '
            f'height="50" /></bpmndi:BPMNShape>'
        )
        shapes.append(
            f'<bpmndi:BPMNShape bpmnElement="{task}"><dc:Bounds x="{x + 120}" y="60" '
            f'width="100" height="80" /></bpmndi:BPMNShape>'
        )
        flow(f"i{i}", previous, gw, previous_right, x)
        flow(f"d{i}", gw, task, x + 50, x + 120)
        # The skip flow to the next gateway runs straight through the task.
        nxt = f"g{i + 1}" if i + 1 < n else "end"
        flow(f"s{i}", gw, nxt, x + 50, x + 400)
        previous, previous_right = task, x + 220
    nodes.append('<bpmn:endEvent id="end" />')
    end_x = 100 + n * 400
    shapes.append(
        f'<bpmndi:BPMNShape bpmnElement="end"><dc:Bounds x="{end_x}" y="82" width="36" '
        'height="36" /></bpmndi:BPMNShape>'
    )
    flow("last", previous, "end", previous_right, end_x)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d" targetNamespace="t">\n'
        '<bpmn:process id="big" isExecutable="true">\n'
        + "\n".join(nodes + flows)
        + '\n</bpmn:process>\n<bpmndi:BPMNDiagram id="dg"><bpmndi:BPMNPlane id="pl" '
        'bpmnElement="big">\n' + "\n".join(shapes + edges) + "\n</bpmndi:BPMNPlane>"
        "</bpmndi:BPMNDiagram>\n</bpmn:definitions>\n"
    ).encode()


def timed(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="500,1500,3000,6000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(
        "| gateways | elements | KiB | warnings | check s | check ms / 1k elements "
        "| layout s | layout ms / 1k elements |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        data = generate(n)
        elements = 3 * n + 2 + 4 * n + 1
        found = layout_warnings(data, "big.bpmn")
        check = timed(lambda data=data: layout_warnings(data, "big.bpmn"), args.rounds)
        layout = timed(lambda data=data: layout_bpmn(data, "big.bpmn"), args.rounds)
        print(
            f"| {n} | {elements} | {len(data) // 1024} | {len(found)} | {check:.2f} | "
            f"{1e6 * check / elements:.1f} | {layout:.2f} | {1e6 * layout / elements:.1f} |"
        )


if __name__ == "__main__":
    main()
