"""The check that a process reads each form variable as the type its forms declare.

A form field's id is the variable it writes, so two forms declaring one id with types of
different JSON kinds (text: string, date, enum; a number: long, double; true/false: boolean)
make the variable's type depend on which form set it last: a text field holding "false" is
true for a gateway that tests it, and text compared with a number fails the case in a script.
Two warnings (the check cannot tell that a case ever reads the variable both ways, and files
that run today must stay deployable):

* `data.form-type`: forms that set the variable disagree. Said once, at the declaration that
  is the odd one out (by the other forms and by how conditions read it), naming every one;
* `data.compared-type`: every form that sets it declares text, but a condition tests it as
  true or false, or compares it with true, false or a number. Variables a script or a message
  may also set are left alone (a script may convert the text).

A read-only number or true/false field counts: it shows the value as that kind (the start
form's capacity, shown read-only as a number by the tasks after it). A read-only text field does
not: it shows any value, an enum's label included. The declarations are declared_types.py's,
which a supervisor's repair checks values against.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from bpmn_service.errors import BpmnProblem

from .bpmn_xml import BPMN_NS
from .camunda_ext import NSMAP, listed_names, read_extensions
from .data_flow import script_lines
from .declared_types import KIND, Declaration, declared_in, expected_kind
from .expressions import strip_wrapper
from .multi_instance import read_loop

# The kinds as analysts read them, and the types that write each.
_KIND_NAMES = {"string": "text", "number": "a number", "boolean": "true/false"}
_KIND_TYPES = {"string": "string", "number": "long or double", "boolean": "boolean"}
_CONSTANTS = {"true": True, "false": False, "True": True, "False": False}


def _kind(declaration: Declaration) -> str | None:
    kind = KIND.get(declaration.type)
    return "number" if kind == "integer" else kind


@dataclass(frozen=True, slots=True)
class _Read:
    """A condition (or script line) reading a variable as one kind."""

    name: str
    kind: str  # "boolean", "number" or "string"
    how: str  # "tests it as true or false", "compares it with the number 10"
    what: str  # "the condition of flow f3"
    element: etree._Element


def form_type_findings(process: etree._Element, filename: str) -> list[BpmnProblem]:
    return _collection_findings(process, filename) + _type_findings(process, filename)


def _collection_findings(process: etree._Element, filename: str) -> list[BpmnProblem]:
    """`structure.multi-instance`: a multi-instance collection that is a form field. Every form
    field type holds one value, never a list, and SpiffWorkflow iterates any value: a text made
    one instance per character (multi_instance.check_collection refuses it when the case runs).
    A variable a script or a message may set too is left alone (the script may make the list)."""
    declared = declared_in(process)
    set_otherwise: set[str] | None = None
    findings = []
    for loop in process.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        task = loop.getparent()
        name = read_loop(task, loop).collection
        if not name or name not in declared:
            continue
        if set_otherwise is None:
            set_otherwise = variables_set_otherwise(process)
        if name in set_otherwise:
            continue
        fields = ", ".join(
            f"{d.type} on {'the start form' if d.form == 'start form' else d.form} ({d.element_id})"
            for d in declared[name]
        )
        findings.append(
            BpmnProblem(
                f"the multi-instance collection {name!r} is a form field ({fields}), which "
                f"holds one value, never a list: the task would run once per character of "
                f"a text",
                filename,
                loop.sourceline,
                task.get("id"),
                "structure.multi-instance",
                "a collection must be a list: set it in a script task before the task (e.g. "
                f"`{name}List = {name}.split(',')`) and name that variable as the Collection",
            )
        )
    return findings


def _type_findings(process: etree._Element, filename: str) -> list[BpmnProblem]:
    declared = {
        name: kept
        for name, listed in declared_in(process).items()
        if (kept := [d for d in listed if _kind(d) is not None and not _shows_any(d)])
    }
    if not declared:
        return []
    reads = [r for r in _reads(process) if r.name in declared]
    findings: list[BpmnProblem] = []
    disagree = {
        name
        for name, listed in declared.items()
        if len({_kind(d) for d in listed}) > 1 and expected_kind(listed) is None
    }
    for name in disagree:
        findings.append(_disagreement(name, declared[name], reads, filename))
    also_set = variables_set_otherwise(process)
    for read in reads:
        listed = declared[read.name]
        if read.kind == "string" or read.name in also_set | disagree:
            continue
        if expected_kind(listed) == "string" and any(not d.readonly for d in listed):
            findings.append(_compared(read, listed, filename))
    return findings


def _shows_any(declaration: Declaration) -> bool:
    """A read-only text field: it shows whatever the variable holds."""
    return declaration.readonly and _kind(declaration) == "string"


def _shown(listed: list[Declaration]) -> str:
    return ", ".join(
        f"{d.type}{' (read-only)' if d.readonly else ''} on "
        f"{'the start form' if d.form == 'start form' else d.form} "
        f"({d.element_id}, line {d.line})"
        for d in listed
    )


def _disagreement(
    name: str, listed: list[Declaration], reads: list[_Read], filename: str
) -> BpmnProblem:
    votes = Counter(_kind(d) for d in listed)
    for read in reads:
        if read.name == name:
            votes[read.kind] += 1
    ranked = votes.most_common()
    # The kind most forms and reads agree on; on a tie, the first form's.
    meant = ranked[0][0] if len(ranked) < 2 or ranked[0][1] > ranked[1][1] else _kind(listed[0])
    odd = next(d for d in sorted(listed, key=lambda d: d.line or 0) if _kind(d) != meant)
    kinds = sorted({str(_kind(d)) for d in listed}, key=list(_KIND_NAMES).index)
    holds = " or ".join(_KIND_NAMES[k] for k in kinds)
    said = "".join(f"; {r.what} {r.how.replace(repr(name), 'it')}" for r in reads if r.name == name)
    return BpmnProblem(
        f"form field {name!r} is declared with types of different kinds: {_shown(listed)}; the "
        f"forms disagree on whether it holds {holds}, and expressions that read it the other "
        f"way fail or take the wrong path{said}",
        filename,
        odd.line,
        odd.element_id,
        "data.form-type",
        f"give every form's {name!r} field one type ({_KIND_TYPES.get(str(meant), 'one kind')}, "
        f"as the other forms and the conditions read it) in the task's Forms tab; if they are "
        f"different things, give one of the fields another id",
        "warning",
    )


def _compared(read: _Read, listed: list[Declaration], filename: str) -> BpmnProblem:
    why = (
        "any text but the empty one is true, 'false' and '否' included"
        if read.kind == "boolean"
        else "text compared with a number fails the case there"
    )
    return BpmnProblem(
        f"{read.what} {read.how}, but every form that sets it declares it text: "
        f"{_shown(listed)}; {why}",
        filename,
        read.element.sourceline,
        read.element.get("id"),
        "data.compared-type",
        f"declare the field {_KIND_TYPES[read.kind]} in the Forms tab if it holds "
        f"{_KIND_NAMES[read.kind]}, or compare it with text here "
        + (f'({read.name} == "是")' if read.kind == "boolean" else f'({read.name} == "100")'),
        "warning",
    )


def _reads(process: etree._Element) -> Iterator[_Read]:
    """Every condition reading a variable as true or false or as a number (or as text)."""
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for cond in flow.iterfind("bpmn:conditionExpression", NSMAP):
            tree = _parsed(cond.text or "")
            if tree is not None:
                what = f"the condition of flow {flow.get('id')}"
                yield from _in(tree, what, flow, truth=True)


def _parsed(text: str) -> ast.expr | None:
    try:
        return ast.parse(strip_wrapper(text), mode="eval").body
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None  # refused by the expression check, which says why


def _in(tree: ast.expr, what: str, element: etree._Element, truth: bool) -> Iterator[_Read]:
    # What the condition's truth rests on: the whole, the operands of and/or/not.
    tested = [tree] if truth else []
    while tested:
        node = tested.pop()
        if isinstance(node, ast.Name) and node.id not in _CONSTANTS:
            how = f"tests {node.id!r} as true or false"
            yield _Read(node.id, "boolean", how, what, element)
        elif isinstance(node, ast.BoolOp):
            tested.extend(node.values)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            tested.append(node.operand)
    for compare in ast.walk(tree):
        if not isinstance(compare, ast.Compare):
            continue
        operands = [compare.left, *compare.comparators]
        for op, left, right in zip(compare.ops, operands, operands[1:], strict=False):
            if isinstance(op, ast.In | ast.NotIn | ast.Is | ast.IsNot):
                continue
            for var, other in ((left, right), (right, left)):
                if isinstance(var, ast.Name) and var.id not in _CONSTANTS:
                    found = _literal(other)
                    if found is not None:
                        kind, shown = found
                        how = f"compares {var.id!r} with {shown}"
                        yield _Read(var.id, kind, how, what, element)


def _literal(node: ast.expr) -> tuple[str, str] | None:
    """The kind of a literal and how it is said."""
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return "boolean", str(_CONSTANTS[node.id]).lower()
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        return (inner[0], inner[1].replace("number ", "number -")) if inner else None
    if not isinstance(node, ast.Constant):
        return None
    if isinstance(node.value, bool):
        return "boolean", str(node.value).lower()
    if isinstance(node.value, int | float):
        return "number", f"the number {node.value}"
    if isinstance(node.value, str):
        return "string", repr(node.value)
    return None


def variables_set_otherwise(process: etree._Element) -> set[str]:
    """Variables a script line, a message or a worker may set too (their type is not the
    form's)."""
    found: set[str] = set()
    for script in process.iter(f"{{{BPMN_NS}}}scriptTask"):
        text = "".join(script.xpath("./bpmn:script/text()", namespaces=NSMAP))
        found.update(name for name, _reads in script_lines(text))
    for el in process.iter():
        if not isinstance(el.tag, str) or el.find(f"{{{BPMN_NS}}}extensionElements") is None:
            continue
        declared = read_extensions(el).get("properties", {}).get("variables")
        if declared:
            found.update(listed_names(declared))
    return found
