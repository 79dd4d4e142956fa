"""The extension properties of a model that mark steps for the reports, read from its text.

``leadTimeEnd = true`` on a user task: a case's lead time (获得电力, application to power-on)
ends at that task's first completion (services/lead_time.py, the simulation). Read from the BPMN
text, which a deployed version never changes.
"""

from __future__ import annotations

from lxml import etree

from .bpmn_xml import BPMN_NS, SAFE_XML_PARSER
from .multi_instance import task_properties

LEAD_TIME_END = "leadTimeEnd"


def lead_time_ends(xml: str | bytes, key: str) -> frozenset[str]:
    """The ids of the user tasks of process `key` whose ``leadTimeEnd`` property is true."""
    data = xml.encode() if isinstance(xml, str) else xml
    try:
        root = etree.fromstring(data, SAFE_XML_PARSER)
    except etree.XMLSyntaxError:  # every deployed text parsed once; nothing to read otherwise
        return frozenset()
    process = next((p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id") == key), None)
    if process is None:
        return frozenset()
    return frozenset(
        task.get("id") or ""
        for task in process.iter(f"{{{BPMN_NS}}}userTask")
        if task.get("id") and task_properties(task).get(LEAD_TIME_END, "").lower() == "true"
    )
