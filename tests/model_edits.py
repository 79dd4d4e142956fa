"""Edits an analyst makes to a shipped model, derived from the model itself (not from fixed element
ids): delete a review step, move a step after its successor, add a required form field. Used by
the migration tests to build "the edited copy" that running cases are migrated onto."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from bpmn_service.engine import layout_bpmn

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}
REVIEW = re.compile("审|核|检查|review", re.IGNORECASE)


@dataclass(frozen=True)
class Edit:
    xml: bytes
    deleted: str  # the step that is gone; its cases are moved to its successor first
    successor: str
    moved: str  # now runs just before `moved_before` (or, when None, in another lane)
    moved_before: str | None
    new_field: tuple[str, str]  # (user task, required field)


class _Model:
    def __init__(self, xml: bytes) -> None:
        self.root = etree.fromstring(xml)
        [self.process] = self.root.findall("bpmn:process", NS)
        self.flows = self.process.findall("bpmn:sequenceFlow", NS)
        text = " ".join(t for t in self.process.itertext() if t.strip()) + " ".join(
            v for e in self.process.iter() for v in e.attrib.values() if "${" in v
        )
        self.referenced = set(re.findall(r"[A-Za-z_]\w*", text))

    def incoming(self, element: str) -> list[etree._Element]:
        return [f for f in self.flows if f.get("targetRef") == element]

    def outgoing(self, element: str) -> list[etree._Element]:
        return [f for f in self.flows if f.get("sourceRef") == element]

    def task(self, element: str) -> etree._Element:
        [found] = self.process.xpath(f"bpmn:userTask[@id='{element}']", namespaces=NS)
        return found

    def is_user_task(self, element: str | None) -> bool:
        return bool(self.process.xpath(f"bpmn:userTask[@id='{element}']", namespaces=NS))

    def straight(self, start: str, end: str) -> bool:
        """Whether `end` is reached from `start` without passing a parallel or inclusive gateway
        (a step moved along the way stays on its branch; no join waits for it)."""
        queue, seen = [start], set()
        while queue:
            current = queue.pop(0)
            if current == end:
                return True
            seen.add(current)
            kind = self.kind(current)
            if kind in ("parallelGateway", "inclusiveGateway", "eventBasedGateway", "endEvent"):
                continue
            queue += [
                f.get("targetRef") for f in self.outgoing(current) if f.get("targetRef") not in seen
            ]
        return False

    def kind(self, element: str) -> str:
        found = self.process.xpath(f"*[@id='{element}']")
        return etree.QName(found[0]).localname if found else ""

    def fields(self, element: str) -> list[str]:
        return [f.get("id") for f in self.task(element).iter(f"{{{CAMUNDA}}}formField")]

    def plain(self, element: str) -> bool:
        """A user task on a straight line (one flow in, one out), without boundary events or
        multiple instances, whose form fields no expression or script reads."""
        found = self.process.xpath(f"bpmn:userTask[@id='{element}']", namespaces=NS)
        if not found or found[0].find("bpmn:multiInstanceLoopCharacteristics", NS) is not None:
            return False
        attached = self.process.xpath(
            f"bpmn:boundaryEvent[@attachedToRef='{element}']", namespaces=NS
        )
        return (
            not attached
            and len(self.incoming(element)) == 1
            and len(self.outgoing(element)) == 1
            and not set(self.fields(element)) & self.referenced
        )


def edited_copy(xml: bytes, path: list[str], every_path: list[list[str]]) -> Edit:
    """Delete a step (a review when one can go), move another step later and add a required
    field to the last user task every path passes, choosing the elements on `path` (a recorded
    path's element ids): steps on a straight line without boundary events whose fields no
    expression reads."""
    model = _Model(xml)
    steps = list(dict.fromkeys(path))
    deletable = [e for e in steps if model.plain(e)]
    assert deletable, "the model has no plain step on this path to delete"
    # A review if there is one, else the plain step whose successor is a user task, else any.
    deletable.sort(
        key=lambda e: (
            not REVIEW.search(model.task(e).get("name", "")),
            not model.is_user_task(model.outgoing(e)[0].get("targetRef")),
        )
    )
    deleted = deletable[0]
    moves = [
        (e, t)
        for other in sorted(every_path, key=len, reverse=True)
        for e in dict.fromkeys(other)
        if model.plain(e) and e != deleted
        for t in other[other.index(e) + 2 :]
        if model.is_user_task(t) and model.straight(model.outgoing(e)[0].get("targetRef"), t)
    ]
    # Without a step that can move along its own branch, the step moves to another lane.
    moved, moved_before = moves[0] if moves else (_lane_move(model, steps, deleted), None)
    common = set.intersection(*(set(p) for p in every_path))
    last = [e for e in steps if model.is_user_task(e) and e in common and e not in (deleted, moved)]
    field_task = last[-1]

    # Delete the review: its incoming flow goes where its outgoing flow went.
    [into], [out] = model.incoming(deleted), model.outgoing(deleted)
    successor = out.get("targetRef")
    into.set("targetRef", successor)
    model.process.remove(out)
    model.process.remove(model.task(deleted))
    if moved_before is not None:
        # Move `moved` from X -> moved -> Y (now X -> Y) to Z -> moved -> T.
        [x_in], [y_out] = model.incoming(moved), model.outgoing(moved)
        x_in.set("targetRef", y_out.get("targetRef"))
        [z_in] = model.incoming(moved_before)
        z_in.set("targetRef", moved)
        y_out.set("targetRef", moved_before)
    else:
        lanes = model.process.findall("bpmn:laneSet/bpmn:lane", NS)
        [ref] = [
            r for lane in lanes for r in lane.findall("bpmn:flowNodeRef", NS) if r.text == moved
        ]
        here = ref.getparent()
        there = next(lane for lane in lanes if lane is not here)
        here.remove(ref)
        there.append(ref)
    # A new required field.
    task = model.task(field_task)
    extensions = task.find("bpmn:extensionElements", NS)
    if extensions is None:
        extensions = etree.Element(f"{{{BPMN}}}extensionElements")
        task.insert(0, extensions)
    form = extensions.find("camunda:formData", NS)
    if form is None:
        form = etree.SubElement(extensions, f"{{{CAMUNDA}}}formData")
    new = etree.SubElement(
        form,
        f"{{{CAMUNDA}}}formField",
        id="migrationCheck",
        label="Checked after the edit",
        type="string",
    )
    validation = etree.SubElement(new, f"{{{CAMUNDA}}}validation")
    etree.SubElement(validation, f"{{{CAMUNDA}}}constraint", name="required")
    edited = etree.tostring(model.root, xml_declaration=True, encoding="UTF-8")
    return Edit(
        xml=layout_bpmn(edited, "edited.bpmn"),
        deleted=deleted,
        successor=successor,
        moved=moved,
        moved_before=moved_before,
        new_field=(field_task, "migrationCheck"),
    )


def _lane_move(model: _Model, steps: list[str], deleted: str) -> str:
    lanes = model.process.findall("bpmn:laneSet/bpmn:lane", NS)
    assert len(lanes) > 1, "the model has no second lane to move a step to"
    in_lanes = {r.text for lane in lanes for r in lane.findall("bpmn:flowNodeRef", NS)}
    found = [e for e in steps if model.is_user_task(e) and e != deleted and e in in_lanes]
    assert found, "no user task on the path to move"
    return found[len(found) // 2]
