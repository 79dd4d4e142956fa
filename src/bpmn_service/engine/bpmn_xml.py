"""Reading BPMN documents safely: the hardened XML parse, and the element and value helpers that
the compiler (parsing.py) and the deploy rules (deploy_rules.py) share.

Nothing later ever sees entities, DTDs, network references or oversized documents: parse_xml
refuses them before lxml builds a tree.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from lxml import etree

from bpmn_service.errors import BpmnProblem, InvalidBpmn

from .camunda_ext import NSMAP

MAX_BPMN_BYTES = 5 * 1024 * 1024
BPMN_NS = NSMAP["bpmn"]
ISO_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

SAFE_XML_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def local_name(tag: Any) -> str:
    """An element's tag without its namespace; "" for comments and processing instructions."""
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def element_kinds(scope: etree._Element) -> dict[str, str]:
    """The kind (tag without namespace) of every element under `scope` that has an id, by id."""
    return {
        el.get("id"): local_name(el.tag)
        for el in scope.iter()
        if isinstance(el.tag, str) and el.get("id")
    }


def lanes_of_nodes(process: etree._Element) -> dict[str, str | None]:
    """The name of the lane each flow node is drawn in, by the node's id (None: a lane without
    a name)."""
    lanes: dict[str, str | None] = {}
    for lane in process.xpath(".//bpmn:lane", namespaces=NSMAP):
        for ref in lane.xpath("./bpmn:flowNodeRef/text()", namespaces=NSMAP):
            lanes[ref.strip()] = lane.get("name")
    return lanes


def owner_of(el: etree._Element) -> etree._Element:
    """The element itself or its nearest ancestor with an id: what a problem is reported at."""
    node = el
    while node is not None and not node.get("id"):
        node = node.getparent()
    return node if node is not None else el


def with_lf_lines(data: bytes) -> bytes:
    """The document with CR and CR LF line ends as LF. libxml2 counts lines by LF only, so a
    file saved with old Mac (CR-only) line ends had every element on line 1. XML parsers turn
    every line end into LF anyway (XML 1.0, 2.11), so the tree is the same; only what is parsed
    changes, never what is stored. UTF-16 text (NUL bytes) is left alone: it is refused later."""
    if b"\r" not in data or b"\x00" in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def parse_xml(data: bytes, filename: str) -> etree._Element:
    """The hardened parse: size cap, no DTD, no entities, no network, bounded depth; the
    elements' lines counted whatever the file's line ends (with_lf_lines)."""
    if len(data) > MAX_BPMN_BYTES:
        raise InvalidBpmn([BpmnProblem(f"file is larger than {MAX_BPMN_BYTES} bytes", filename)])
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise InvalidBpmn(
            [BpmnProblem("DOCTYPE and entity declarations are not allowed", filename)]
        )
    try:
        root = etree.fromstring(with_lf_lines(data), SAFE_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidBpmn(
            [BpmnProblem(f"not well-formed XML: {exc.msg}", filename, exc.lineno)]
        ) from None
    if root.getroottree().docinfo.doctype:
        raise InvalidBpmn([BpmnProblem("DOCTYPE is not allowed", filename)])
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise InvalidBpmn(
            [
                BpmnProblem(
                    f"the root element is {local_name(root.tag) or root.tag!r}, "
                    f"expected bpmn:definitions "
                    f"in namespace {BPMN_NS}",
                    filename,
                    root.sourceline,
                )
            ]
        )
    return root


def is_due_value(value: str) -> bool:
    """An ISO-8601 duration (P5D) or a date-time with an offset."""
    if ISO_DURATION.match(value):
        return True
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def id_used_again(
    element_id: str, filename: str, line: int | None, first: int | None
) -> BpmnProblem:
    """The finding for an element whose id an element before it already has (ids are xs:ID;
    `check`, every deployment and the layout tool say it in these words)."""
    return BpmnProblem(
        f"the id {element_id!r} is used again (first on line {first}); every element needs an "
        "id of its own",
        filename,
        line,
        element_id,
        code="structure.schema",
        hint="rename one of them; in Camunda Modeler, the element's ID field",
    )
