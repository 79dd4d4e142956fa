"""How big bpmn-js draws a label: an estimate of text width and of its line wrapping.

bpmn-js writes task names in 12 px Arial inside the shape (5 px padding) and external labels
(events, gateways, flows, data) in 11 px, at most 90 px wide, 1.2 line height. A CJK character is
about one em wide; Latin letters about half of that. Estimates err on the wide side so that a
label laid out here does not overlap in the Modeler.
"""

from __future__ import annotations

import unicodedata

TASK_FONT = 12.0
EXTERNAL_FONT = 11.0
LINE_HEIGHT = 1.2
EXTERNAL_LABEL_WIDTH = 90.0
TASK_PADDING = 5.0
_NARROW = frozenset("il.,;:!|'()[]{} 1")
_BREAK_AFTER = frozenset(" -/，、。；：）)")


def char_width(ch: str, font: float) -> float:
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return font
    if ch in _NARROW:
        return font * 0.32
    if ch.isupper() or ch in "mwMW@%":
        return font * 0.7
    return font * 0.56


def text_width(text: str, font: float) -> float:
    return sum(char_width(ch, font) for ch in text)


def wrap(text: str, max_width: float, font: float) -> list[str]:
    """Greedy line filling like bpmn-js: break after a space or punctuation when one is on the
    line, otherwise between characters (CJK text has no spaces)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        width = 0.0
        last_break = -1
        for ch in paragraph:
            w = char_width(ch, font)
            if current and width + w > max_width:
                if 0 <= last_break < len(current) - 1:
                    lines.append(current[: last_break + 1].rstrip())
                    current = current[last_break + 1 :]
                else:
                    lines.append(current.rstrip())
                    current = ""
                current = current.lstrip()
                width = text_width(current, font)
                last_break = -1
            current += ch
            width += w
            if ch in _BREAK_AFTER:
                last_break = len(current) - 1
        lines.append(current.rstrip())
    return [line for line in lines if line] or [""]


def external_label_size(text: str) -> tuple[float, float]:
    """Width and height of an external label (events, gateways, flows, data)."""
    if not text:
        return (0.0, 0.0)
    lines = wrap(text, EXTERNAL_LABEL_WIDTH, EXTERNAL_FONT)
    width = max(text_width(line, EXTERNAL_FONT) for line in lines)
    return (
        min(EXTERNAL_LABEL_WIDTH, max(width, 10.0)) + 2,
        len(lines) * EXTERNAL_FONT * LINE_HEIGHT,
    )


def task_lines(text: str, width: float) -> int:
    """How many lines a task's name takes inside a shape `width` wide."""
    return len(wrap(text, width - 2 * TASK_PADDING, TASK_FONT)) if text else 0
