"""What a BPMN file may not say because the database could not store it: lengths of the ids,
names and texts that go into columns of bounded length (db/models.py; tests/test_column_limits.py
keeps the two in step). Checked at deploy, before anything is stored, so that a model never
deploys and then fails every start (PostgreSQL refuses an over-long value; SQLite would store it).
"""

from __future__ import annotations

from lxml import etree

from bpmn_service.errors import BpmnProblem

from .camunda_ext import CAMUNDA_NS, NSMAP, listed_names

PROCESS_KEY = 128  # process_definition.key, process_instance.definition_key
TEXT = 255  # element ids, element and lane names, message names, topics, file names
GROUP_OR_USER = 128  # task_candidate.ref, task.assignee


def length_problems(
    root: etree._Element, process: etree._Element, filename: str
) -> list[BpmnProblem]:
    problems: list[BpmnProblem] = []

    def too_long(what: str, value: str, limit: int, element: etree._Element | None) -> None:
        if len(value) > limit:
            problems.append(
                BpmnProblem(
                    f"{what} is {len(value)} characters long; at most {limit} can be stored",
                    filename,
                    element.sourceline if element is not None else None,
                    (element.get("id") or "")[:TEXT] if element is not None else None,
                )
            )

    too_long("the file name", filename, TEXT, None)
    too_long("the process id", process.get("id") or "", PROCESS_KEY, process)
    too_long("the process name", process.get("name") or "", TEXT, process)
    for element in process.iter():
        if not isinstance(element.tag, str):
            continue
        too_long("the id", element.get("id") or "", TEXT, element)
        too_long("the name", element.get("name") or "", TEXT, element)
        too_long("the topic", element.get(f"{{{CAMUNDA_NS}}}topic") or "", TEXT, element)
        for attribute in ("candidateGroups", "candidateUsers", "assignee"):
            value = element.get(f"{{{CAMUNDA_NS}}}{attribute}") or ""
            if "${" in value:
                continue
            for name in listed_names(value):
                too_long(f"the {attribute} entry", name, GROUP_OR_USER, element)
    for message in root.xpath("./bpmn:message", namespaces=NSMAP):
        too_long("the message name", message.get("name") or "", TEXT, message)
    return problems
