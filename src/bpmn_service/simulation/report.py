"""The simulation report rendered: the self-contained HTML page, JSON, the per-application CSV and
the terminal summary.

The figures themselves are figures.py's (build() makes the report dict rendered here). The HTML
page is self-contained: tables and inline SVG plots, no script, no download.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from bpmn_service.timelimits import CATEGORIES

from .figures import CURRENT, STREAMLINED
from .runner import Simulation

COLORS = {CURRENT: "#c0504d", STREAMLINED: "#4f81bd"}


# -- JSON and CSV ---------------------------------------------------------------------------


def to_json(report: dict[str, Any]) -> str:
    def default(value: Any) -> Any:
        if hasattr(value, "isoformat"):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return json.dumps(report, ensure_ascii=False, indent=2, default=default)


CSV_COLUMNS = (
    "process",
    "application",
    "category",
    "status",
    "responsiveness",
    "total_wd",
    "utility_wd",
    "total_cd",
    "procedures",
    "hall_visits",
    "handoffs",
    "rework_loops",
    "time_limits_met",
)


def to_csv(sim: Simulation) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for key, outcome in sim.outcomes.items():
        for r in outcome.results:
            writer.writerow(
                [
                    key,
                    r.index,
                    r.category,
                    r.status,
                    f"{r.factor:.4f}",
                    _fmt(r.total_wd),
                    _fmt(r.utility_wd),
                    _fmt(r.total_cd),
                    r.procedures,
                    r.hall_visits,
                    r.handoffs,
                    r.rework_loops,
                    ";".join(f"{m.limit_id}={'yes' if m.met else 'no'}" for m in r.sla),
                ]
            )
    return out.getvalue()


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


# -- HTML -----------------------------------------------------------------------------------


def _n(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def box_plot(rows: Sequence[tuple[str, dict[str, Any], str]], unit: str, width: int = 520) -> str:
    """Horizontal box plots (P10–P90 whiskers, quartile box, median line), one per row."""
    upper = max((s.get("p90") or 0.0) for _, s, _ in rows) or 1.0
    upper *= 1.08
    left, right, step = 90, 20, 30
    height = step * len(rows) + 30
    scale = (width - left - right) / upper

    def x(v: float | None) -> float:
        return left + (v or 0.0) * scale

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" font-size="11" font-family="sans-serif">'
    ]
    for i, (label, s, color) in enumerate(rows):
        y = 10 + i * step
        mid = y + 10
        parts.append(f'<text x="4" y="{mid + 4}">{html.escape(label)}</text>')
        if not s.get("n"):
            continue
        parts.append(
            f'<line x1="{x(s["p10"]):.1f}" x2="{x(s["p90"]):.1f}" y1="{mid}" y2="{mid}" '
            f'stroke="{color}"/>'
        )
        parts.append(
            f'<rect x="{x(s["p25"]):.1f}" y="{y + 2}" width="{x(s["p75"]) - x(s["p25"]):.1f}" '
            f'height="16" fill="{color}" fill-opacity="0.35" stroke="{color}"/>'
        )
        parts.append(
            f'<line x1="{x(s["p50"]):.1f}" x2="{x(s["p50"]):.1f}" y1="{y}" y2="{y + 20}" '
            f'stroke="{color}" stroke-width="2.5"/>'
        )
        parts.append(
            f'<text x="{x(s["p90"]) + 4:.1f}" y="{mid + 4}" fill="#333">{s["p50"]:.1f}</text>'
        )
    axis_y = height - 14
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{axis_y}" y2="{axis_y}" stroke="#999"/>'
    )
    for k in range(6):
        v = upper * k / 5
        parts.append(
            f'<text x="{x(v):.1f}" y="{axis_y + 12}" text-anchor="middle" fill="#666">'
            f"{v:.0f}</text>"
        )
    parts.append(
        f'<text x="{width - right}" y="{axis_y - 4}" text-anchor="end" fill="#666">{unit}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def histogram(series: Sequence[tuple[str, dict[Any, int], str]], width: int = 260) -> str:
    """Grouped bars of the share of applications per value (one colour per process)."""
    values = sorted({int(v) for _, counts, _ in series for v in counts})
    if not values:
        return ""
    shares = []
    for _, counts, _ in series:
        total = sum(counts.values()) or 1
        shares.append({int(k): n / total for k, n in counts.items()})
    lo, hi = values[0], values[-1]
    slots = hi - lo + 1
    height, bottom, left = 110, 92, 6
    slot = (width - 2 * left) / slots
    bar = slot / (len(series) + 0.5)
    top = max((max(s.values()) for s in shares if s), default=1.0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" font-size="10" font-family="sans-serif">'
    ]
    for j, ((_, _, color), share) in enumerate(zip(series, shares, strict=True)):
        for v, p in share.items():
            h = 80 * p / top
            x = left + (v - lo) * slot + j * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{color}" fill-opacity="0.8"><title>{v}: {100 * p:.1f} %</title></rect>'
            )
    every = max(1, slots // 10)
    for v in range(lo, hi + 1, every):
        x = left + (v - lo) * slot + slot / 2
        parts.append(f'<text x="{x:.1f}" y="{bottom + 12}" text-anchor="middle">{v}</text>')
    parts.append("</svg>")
    return "".join(parts)


def tornado(rows: Sequence[dict[str, Any]], width: int = 640) -> str:
    """Horizontal bars of the change in mean total WD, largest first."""
    if not rows:
        return ""
    extent = max(abs(r["delta_wd"]) for r in rows) or 1.0
    left, mid_w = 260, (width - 280) / 2
    center = left + mid_w
    step = 18
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{step * len(rows) + 10}" role="img" font-size="11" font-family="sans-serif">'
    ]
    for i, r in enumerate(rows):
        y = 4 + i * step
        w = abs(r["delta_wd"]) / extent * mid_w
        x = center if r["delta_wd"] >= 0 else center - w
        color = "#c0504d" if r["delta_wd"] >= 0 else "#4f81bd"
        parts.append(f'<text x="4" y="{y + 11}">{html.escape(r["parameter"][:42])}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="13" fill="{color}"/>')
        parts.append(
            f'<text x="{width - 4}" y="{y + 11}" text-anchor="end">{r["delta_wd"]:+.2f}</text>'
        )
    parts.append(
        f'<line x1="{center}" x2="{center}" y1="0" y2="{step * len(rows) + 6}" stroke="#666"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
table { border-collapse: collapse; margin: 8px 0 18px; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.grid { display: grid; grid-template-columns: repeat(2, 1fr); gap: 12px 24px; }
.cat { border-top: 2px solid #ddd; padding-top: 8px; }
.legend span { display: inline-block; padding: 2px 8px; color: #fff; margin-right: 6px; }
small { color: #666; }
"""


def to_html(report: dict[str, Any]) -> str:
    summary = report["summary"]
    keys = list(summary)
    names = report["scenario"]["processes"]
    colors = {k: COLORS.get(k, "#777") for k in keys}
    s = report["scenario"]
    out = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        "<title>业扩报装 simulation</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>业扩报装: simulated applications, current vs streamlined</h1>",
        f"<p>Scenario <code>{html.escape(s['source'])}</code>, seed {s['seed']}, "
        f"{s['applications']} applications per process from {s['start_date']} "
        f"({s['arrivals_per_working_day']:g} per working day), run in "
        f"{report['run']['seconds']} s on {report['run']['workers']} worker(s). "
        "Times are working days (WD) of the working-day calendar unless marked cd "
        "(calendar days, measured on the calendar).</p>",
        "<p class='legend'>"
        + "".join(
            f"<span style='background:{colors[k]}'>{html.escape(k)} "
            f"{html.escape(names.get(k) or '')}</span>"
            for k in keys
        )
        + "</p>",
    ]
    if report["errors"]:
        out.append("<h2>Applications that did not finish</h2><ul>")
        out += [f"<li>{html.escape(e)}</li>" for e in report["errors"]]
        out.append("</ul>")
    out.append("<h2>Side by side</h2>")
    head = ["figure", *[f"{k} {c}" for c in CATEGORIES for k in keys]]
    figures: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("applications", lambda c: _n(c["completed"])),
        ("total WD, median", lambda c: _n(c["total_wd"]["p50"])),
        ("total WD, P90", lambda c: _n(c["total_wd"]["p90"])),
        ("total cd, median", lambda c: _n(c["total_cd"]["p50"])),
        ("utility-controlled WD, median", lambda c: _n(c["utility_wd"]["p50"])),
        ("utility-controlled WD, P90", lambda c: _n(c["utility_wd"]["p90"])),
        ("customer procedures, mean", lambda c: _n(c["procedures"]["mean"], 2)),
        ("hall visits, mean", lambda c: _n(c["hall_visits"]["mean"], 2)),
        ("internal hand-offs, mean", lambda c: _n(c["handoffs"]["mean"], 1)),
        ("rework loops, mean", lambda c: _n(c["rework_loops"]["mean"], 2)),
        ("DB-style score (procedures, time)", lambda c: _n(c["db_score"]["score"])),
    ]
    rows = []
    for label, get in figures:
        row = [html.escape(label)]
        for c in CATEGORIES:
            for k in keys:
                cell = summary[k].get(c)
                row.append(get(cell) if cell else "–")
        rows.append(row)
    limit_ids = sorted({lid for k in keys for c in summary[k].values() for lid in c["time_limits"]})
    for lid in limit_ids:
        row = [f"{html.escape(lid)} met"]
        for c in CATEGORIES:
            for k in keys:
                entry = (summary[k].get(c) or {}).get("time_limits", {}).get(lid)
                row.append(_pct(entry["share_met"]) if entry else "–")
        rows.append(row)
    out.append(_table(head, rows))
    out.append("<h2>Distributions per category</h2><div class='grid'>")
    for c in CATEGORIES:
        cells = {k: summary[k].get(c) for k in keys if summary[k].get(c)}
        if not cells:
            continue
        out.append(f"<div class='cat'><h3>{c}</h3>")
        for measure, title in (("total_wd", "total WD"), ("utility_wd", "utility-controlled WD")):
            out.append(f"<div><small>{title} (box P25–P75, whiskers P10–P90)</small><br>")
            out.append(
                box_plot(
                    [(k.replace("yekuo_", ""), v[measure], colors[k]) for k, v in cells.items()],
                    "WD",
                )
            )
            out.append("</div>")
        for measure, title in (
            ("procedures", "customer procedures"),
            ("hall_visits", "hall visits"),
            ("handoffs", "internal hand-offs"),
        ):
            out.append(f"<div style='display:inline-block'><small>{title}</small><br>")
            out.append(
                histogram([(k, v["histograms"][measure], colors[k]) for k, v in cells.items()])
            )
            out.append("</div>")
        out.append(
            "<p><small>Steps that dominate (mean WD at the step per application; "
            "parallel branches overlap):</small></p>"
        )
        for k, v in cells.items():
            items = ", ".join(
                f"{html.escape(d['element'])} {d['mean_wd']:.1f}" for d in v["dominant_steps"][:6]
            )
            out.append(f"<p><small><b>{html.escape(k)}</b>: {items}</small></p>")
        out.append("</div>")
    out.append("</div>")
    out.append("<h2>Calibration against the domain brief §10.5</h2>")
    out.append(
        _table(
            [
                "process",
                "category",
                "total P50 (target)",
                "total P90 (target)",
                "utility P50 (target)",
                "plan reply met (target)",
            ],
            [
                [
                    html.escape(r["process"]),
                    r["category"],
                    f"{_n(r['total_p50'])} ({r['target_total_p50']})",
                    f"{_n(r['total_p90'])} ({r['target_total_p90']})",
                    f"{_n(r['utility_p50'])} ({r['target_utility_p50']})",
                    f"{_pct(r['plan_reply_met'])} ({_pct(r['target_plan_reply_met'])})"
                    if r["target_plan_reply_met"] is not None
                    else "–",
                ]
                for r in report["calibration"]
            ],
        )
    )
    out.append("<h2>External anchors</h2>")
    out.append(
        _table(
            [
                "anchor",
                "note",
                "procedures",
                "days / WD",
                "simulated",
                "procedures P50",
                "days / WD P50",
            ],
            [
                [
                    html.escape(r["anchor"]),
                    html.escape(r["note"]),
                    _n(r["anchor_procedures"]),
                    _n(r["anchor_days"]),
                    f"{html.escape(r['process'])} {r['category']}",
                    _n(r["procedures_p50"]),
                    _n(r["days_p50"]),
                ]
                for r in report["anchors"]
            ],
        )
    )
    out.append(
        "<p><small>World Bank Doing Business time is in calendar days (median); the brief warns "
        "that DB measured one 140 kVA warehouse in two megacities and was discontinued in 2021 "
        "(§4.5): a yardstick, not ground truth.</small></p>"
    )
    if report.get("lanes"):
        out.append("<h2>Staff queues</h2>")
        rows = [
            [
                html.escape(k),
                html.escape(lane),
                str(v["staff"]),
                str(v["served"]),
                _pct(v["utilisation"]),
                _n(v["mean_queue_wait_wd"], 2),
                str(v["max_queue"]),
            ]
            for k, lanes_ in report["lanes"].items()
            for lane, v in lanes_.items()
        ]
        out.append(
            _table(
                [
                    "process",
                    "lane",
                    "staff",
                    "tasks",
                    "utilisation",
                    "mean queue wait WD",
                    "longest queue",
                ],
                rows,
            )
        )
    if report.get("sensitivity"):
        sens = report["sensitivity"]
        out.append("<h2>Sensitivity: which parameters move the total most</h2>")
        out.append(
            f"<p><small>Each parameter changed in turn (durations ×{sens['duration_factor']:g}, "
            f"rework and branch probabilities ×{sens['probability_factor']:g}) on "
            f"{sens['applications']} applications per process with common random numbers; "
            "bars: change of the mean total WD over all categories.</small></p>"
        )
        for key, rows_ in sens["processes"].items():
            out.append(f"<h3>{html.escape(key)}</h3>")
            out.append(tornado(rows_[:15]))
    if report.get("service_kpis"):
        out.append("<h2>The service's analytics over the simulated history</h2>")
        out.append(
            "<p><small>The same history written to a throwaway SQLite database and read by "
            "<code>bpmn-service report</code>'s queries. They measure whole instances (start "
            "to end, including steps after power-on) in whole working days.</small></p>"
        )
        for key, views in report["service_kpis"].items():
            rows = [
                [
                    p["category"] or "–",
                    str(p["completed"]),
                    _n(p["cycle_working_days"]["p50"]),
                    _n(p["utility_working_days"]["p50"]),
                    _n(p["customer_procedures"]["p50"]),
                    _n(p["hall_visits_avg"], 2),
                    _n(p["handoffs_avg"], 1),
                    _n(p["db_score"]),
                ]
                for p in views["processes"]
            ]
            out.append(f"<h3>{html.escape(key)}</h3>")
            out.append(
                _table(
                    [
                        "category",
                        "completed",
                        "cycle WD P50",
                        "utility WD P50",
                        "procedures P50",
                        "hall visits",
                        "hand-offs",
                        "DB score",
                    ],
                    rows,
                )
            )
    if report.get("steps_without_duration"):
        out.append("<h2>Elements without a duration in the scenario</h2><ul>")
        for key, ids in report["steps_without_duration"].items():
            out.append(f"<li>{html.escape(key)}: {html.escape(', '.join(ids))}</li>")
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def text_summary(report: dict[str, Any]) -> str:
    """Medians per process and category, for the terminal."""
    lines = [
        f"{'process':20} {'cat':5} {'n':>6} {'total WD':>9} {'P90':>7} {'utility':>8} "
        f"{'cd':>7} {'proc':>5} {'visits':>6} {'hand-offs':>9}"
    ]
    for key, cats in report["summary"].items():
        for category, c in cats.items():
            lines.append(
                f"{key:20} {category:5} {c['completed']:>6} {_n(c['total_wd']['p50']):>9} "
                f"{_n(c['total_wd']['p90']):>7} {_n(c['utility_wd']['p50']):>8} "
                f"{_n(c['total_cd']['p50']):>7} {_n(c['procedures']['mean']):>5} "
                f"{_n(c['hall_visits']['mean']):>6} {_n(c['handoffs']['mean']):>9}"
            )
    lines.append(f"{report['run']['seconds']} s on {report['run']['workers']} worker(s)")
    return "\n".join(lines)


def whatif_text(result: dict[str, Any], top: int = 8) -> str:
    """A what-if comparison (whatif.compare) for the terminal: deployed → candidate per category,
    then the elements where the time moved most."""
    lines = [
        f"{'cat':5} {'n':>5} {'median WD':>17} {'P90 WD':>17} {'procedures':>13} "
        f"{'hall visits':>13} {'hand-offs':>13}"
    ]

    def pair(a: float | None, b: float | None, width: int) -> str:
        return f"{_n(a)} → {_n(b)}".rjust(width)

    for category, sides in result["categories"].items():
        d, c = sides["deployed"] or {}, sides["candidate"] or {}
        lines.append(
            f"{category:5} {c.get('completed', 0):>5} "
            f"{pair(d.get('total_wd_p50'), c.get('total_wd_p50'), 17)} "
            f"{pair(d.get('total_wd_p90'), c.get('total_wd_p90'), 17)} "
            f"{pair(d.get('procedures_mean'), c.get('procedures_mean'), 13)} "
            f"{pair(d.get('hall_visits_mean'), c.get('hall_visits_mean'), 13)} "
            f"{pair(d.get('handoffs_mean'), c.get('handoffs_mean'), 13)}"
        )
        limits = sorted(set(d.get("time_limits", {})) | set(c.get("time_limits", {})))
        for limit in limits:
            before = d.get("time_limits", {}).get(limit, {}).get("share_met")
            after = c.get("time_limits", {}).get(limit, {}).get("share_met")
            lines.append(f"      time limit {limit}: met {_pct(before)} → {_pct(after)}")
    moved = [e for e in result["elements"] if abs(e["delta_wd"]) >= 0.005][:top]
    if moved:
        lines.append("where the time moved (mean WD per completed application):")
        lines.extend(
            f"  {e['element_id']:12} {e['name'][:24]:24} {_n(e['deployed_wd'], 2):>7} → "
            f"{_n(e['candidate_wd'], 2):>7} ({e['delta_wd']:+.2f})"
            for e in moved
        )
    for side in ("deployed", "candidate"):
        if result["failed"][side]:
            lines.append(f"{side}: {result['failed'][side]} application(s) failed")
        if result["steps_without_duration"][side]:
            steps = ", ".join(result["steps_without_duration"][side])
            lines.append(f"{side}: steps without a scenario duration (they take no time): {steps}")
    return "\n".join(lines)
