"""Analytics reports as text for `bpmn-service report`: one JSON object, CSV of one view, or
aligned tables (the processes view transposed, one column per process version and category).

The reports themselves come from analytics.py; this module only lays them out. Table widths count
CJK characters as two columns so that Chinese element names line up in a terminal.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import asdict
from datetime import datetime
from typing import Any

from .analytics import Report, as_dict


def flatten(view: str, item: Any) -> dict[str, Any]:
    """A KPI row as flat columns: nested figures become ``cycle_days_p50`` and so on."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for name, inner in value.items():
                walk(f"{prefix}_{name}" if prefix else name, inner)
        else:
            flat[prefix] = value

    walk("", as_dict(view, item))
    return flat


def render(found: dict[str, Report[Any]], fmt: str) -> str:
    """Reports as text: ``json`` (one object), ``csv`` (one view) or aligned ``table``s."""
    if fmt == "json":
        first = next(iter(found.values()))
        body: dict[str, Any] = {"query": asdict(first.query)}
        body.update(
            {view: [as_dict(view, i) for i in report.items] for view, report in found.items()}
        )
        return json.dumps(body, ensure_ascii=False, indent=2, default=_json_default)
    if fmt == "csv":
        if len(found) != 1:
            raise ValueError("csv prints one view; choose it with --view")
        [(view, report)] = found.items()
        rows = [flatten(view, i) for i in report.items]
        out = io.StringIO()
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
        return out.getvalue().rstrip("\n")
    sections = []
    for view, report in found.items():
        rows = [flatten(view, i) for i in report.items]
        if not rows:
            sections.append(f"{view}: no instances match")
        elif view == "processes":
            sections.append(f"{view}\n{_transposed(rows)}")
        else:
            sections.append(f"{view}\n{_table(rows)}")
    return "\n\n".join(sections)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else str(value)
    return str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


def _table(rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0])
    cells = [[_cell(r[c]) or "-" for c in columns] for r in rows]
    widths = [max(_width(c), *(_width(row[i]) for row in cells)) for i, c in enumerate(columns)]
    numeric = [all(isinstance(r[c], int | float) or r[c] is None for r in rows) for c in columns]
    lines = ["  ".join(_pad(c, w, n) for c, w, n in zip(columns, widths, numeric, strict=True))]
    lines += [
        "  ".join(_pad(v, w, n) for v, w, n in zip(row, widths, numeric, strict=True))
        for row in cells
    ]
    return "\n".join(line.rstrip() for line in lines)


def _transposed(rows: list[dict[str, Any]]) -> str:
    """One column per (key, version, category), one line per figure."""
    heads = [f"{r['key']} v{r['version']} {r['category'] or '-'}" for r in rows]
    names = [n for n in rows[0] if n not in ("key", "version", "category")]
    label = max(_width(n) for n in names)
    widths = [
        max(_width(h), *(_width(_cell(r[n]) or "-") for n in names))
        for h, r in zip(heads, rows, strict=True)
    ]
    lines = [
        " " * label + "  " + "  ".join(_pad(h, w, True) for h, w in zip(heads, widths, strict=True))
    ]
    for n in names:
        values = [_pad(_cell(r[n]) or "-", w, True) for r, w in zip(rows, widths, strict=True)]
        lines.append(_pad(n, label) + "  " + "  ".join(values))
    return "\n".join(lines)
