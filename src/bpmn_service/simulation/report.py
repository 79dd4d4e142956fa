"""The simulation report: figures per process and category, and their HTML, JSON and CSV forms.

The per-application figures come from the simulated history (driver.compute_kpis, with the
procedure / hall-visit / hand-off rules of services.metrics); the summary adds the §10.5
calibration targets and the external anchors (World Bank Doing Business, the 2020 national
targets). The HTML page is self-contained: tables and inline SVG plots, no script, no download.
"""

from __future__ import annotations

import csv
import html
import io
import json
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from bpmn_service.timelimits import CATEGORIES

from .driver import InstanceResult
from .runner import Simulation

CURRENT, STREAMLINED = "yekuo_current", "yekuo_streamlined"
# §10.5: median total WD, P90 WD, median utility-controlled WD, plan-reply limit met (share).
CALIBRATION: dict[tuple[str, str], tuple[float, float, float, float | None]] = {
    (CURRENT, "RES"): (7.3, 9.4, 6.1, 0.71),
    (CURRENT, "LV"): (41.9, 57.7, 21.5, 0.68),
    (CURRENT, "HV_S"): (99.3, 133.4, 48.9, 0.78),
    (CURRENT, "HV_D"): (136.9, 183.0, 63.4, 0.93),
    (STREAMLINED, "RES"): (2.3, 3.2, 2.0, None),
    (STREAMLINED, "LV"): (10.4, 14.6, 3.5, None),
    (STREAMLINED, "HV_S"): (42.2, 61.0, 17.9, None),
    (STREAMLINED, "HV_D"): (62.8, 91.4, 22.7, None),
}
CALIBRATION_LIMIT = "A-T-SCHEME"
COLORS = {CURRENT: "#c0504d", STREAMLINED: "#4f81bd"}
# World Bank Doing Business bounds (domain brief §4.1 / §10.6).
DB_PROC_BEST, DB_PROC_WORST, DB_DAYS_BEST, DB_DAYS_WORST = 3.0, 9.0, 18.0, 248.0


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default, like the SQL analytics)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "mean": None, "p10": None, "p25": None, "p50": None, "p75": None}
    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "p10": quantile(values, 0.10),
        "p25": quantile(values, 0.25),
        "p50": quantile(values, 0.50),
        "p75": quantile(values, 0.75),
        "p90": quantile(values, 0.90),
        "min": min(values),
        "max": max(values),
    }


def _score(value: float | None, best: float, worst: float) -> float | None:
    if value is None:
        return None
    return round(max(0.0, min(1.0, (worst - value) / (worst - best))) * 100.0, 1)


def summarize(sim: Simulation) -> dict[str, Any]:
    """Figures per process and category (JSON-ready)."""
    out: dict[str, Any] = {}
    for key, outcome in sim.outcomes.items():
        per_cat: dict[str, Any] = {}
        for category in CATEGORIES:
            rows = [r for r in outcome.results if r.category == category]
            if not rows:
                continue
            done = [r for r in rows if r.total_wd is not None]
            per_cat[category] = _category(done, rows, sim.scenario.wd_to_cd)
        out[key] = per_cat
    return out


def _category(done: list[InstanceResult], rows: list[InstanceResult], wd_to_cd: float) -> Any:
    total = [r.total_wd for r in done if r.total_wd is not None]
    utility = [r.utility_wd for r in done if r.utility_wd is not None]
    cd = [r.total_cd for r in done if r.total_cd is not None]
    procedures = [float(r.procedures) for r in done]
    steps: Counter[str] = Counter()
    for r in done:
        steps.update(r.step_wd)
    mean_total = statistics.fmean(total) if total else 0.0
    dominant = [
        {
            "element": element,
            "mean_wd": value / len(done),
            "share": (value / len(done)) / mean_total if mean_total else None,
        }
        for element, value in steps.most_common(8)
    ]
    sla: dict[str, Any] = {}
    for r in done:
        for limit_id, (elapsed, limit, met) in r.sla.items():
            entry = sla.setdefault(limit_id, {"limit_wd": limit, "n": 0, "met": 0, "elapsed": []})
            entry["n"] += 1
            entry["met"] += int(met)
            entry["elapsed"].append(elapsed)
    for entry in sla.values():
        entry["share_met"] = entry["met"] / entry["n"] if entry["n"] else None
        entry["elapsed_p50"] = quantile(entry.pop("elapsed"), 0.5)
    proc_p50 = quantile(procedures, 0.5)
    cd_p50 = quantile(cd, 0.5)
    score_proc = _score(proc_p50, DB_PROC_BEST, DB_PROC_WORST)
    score_time = _score(cd_p50, DB_DAYS_BEST, DB_DAYS_WORST)
    return {
        "applications": len(rows),
        "completed": len(done),
        "not_completed": len(rows) - len(done),
        "total_wd": _stats(total),
        "total_cd": _stats(cd),
        "total_cd_by_factor_p50": (quantile(total, 0.5) or 0.0) * wd_to_cd,
        "utility_wd": _stats(utility),
        "procedures": _stats(procedures),
        "hall_visits": _stats([float(r.hall_visits) for r in done]),
        "handoffs": _stats([float(r.handoffs) for r in done]),
        "rework_loops": _stats([float(r.rework_loops) for r in done]),
        "histograms": {
            name: dict(sorted(Counter(getattr(r, name) for r in done).items()))
            for name in ("procedures", "hall_visits", "handoffs")
        },
        "time_limits": sla,
        "dominant_steps": dominant,
        "db_score": {
            "procedures": score_proc,
            "time": score_time,
            "score": round((score_proc + score_time) / 2, 1)
            if score_proc is not None and score_time is not None
            else None,
        },
    }


def calibration(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for (key, category), (p50, p90, util, sla) in CALIBRATION.items():
        cell = summary.get(key, {}).get(category)
        if cell is None:
            continue
        limits = cell["time_limits"].get(CALIBRATION_LIMIT, {})
        rows.append(
            {
                "process": key,
                "category": category,
                "target_total_p50": p50,
                "total_p50": cell["total_wd"]["p50"],
                "target_total_p90": p90,
                "total_p90": cell["total_wd"]["p90"],
                "target_utility_p50": util,
                "utility_p50": cell["utility_wd"]["p50"],
                "target_plan_reply_met": sla,
                "plan_reply_met": limits.get("share_met") if key == CURRENT else None,
            }
        )
    return rows


def anchors(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The external anchors (domain brief §1, §4, §8.7) next to the simulated medians."""

    def cell(key: str, category: str) -> dict[str, Any]:
        return dict(summary.get(key, {}).get(category) or {})

    def p50(c: dict[str, Any], name: str) -> float | None:
        return (c.get(name) or {}).get("p50")

    rows = []
    for label, anchor_proc, anchor_days, key, category, note in (
        ("World Bank DB2018, China", 5.5, 143.0, CURRENT, "HV_S", "as-is analogue (§4.2)"),
        ("World Bank DB2020, China", 2.0, 32.0, STREAMLINED, "LV", "140 kVA case; ≤160 kW is LV"),
        ("World Bank DB2020, China", 2.0, 32.0, STREAMLINED, "HV_S", "if the case is served HV"),
        ("Best performer: UAE (DEWA)", 2.0, 10.0, STREAMLINED, "LV", "later 1 step / 7 days"),
        ("DB best-practice bounds", 3.0, 18.0, STREAMLINED, "LV", "score 100 on both"),
        ("National 2020 target, RES/LV 三零", 2.0, None, STREAMLINED, "RES", "2 steps (环节)"),
        ("National 2020 target, RES/LV 三零", 2.0, None, STREAMLINED, "LV", "2 steps (环节)"),
        ("National 2020 target, HV", 4.0, None, STREAMLINED, "HV_S", "4 steps (L confidence)"),
        ("National 2020 target, HV", 4.0, None, STREAMLINED, "HV_D", "4 steps (L confidence)"),
    ):
        c = cell(key, category)
        rows.append(
            {
                "anchor": label,
                "note": note,
                "anchor_procedures": anchor_proc,
                "anchor_days": anchor_days,
                "process": key,
                "category": category,
                "procedures_p50": p50(c, "procedures"),
                "days_p50": p50(c, "total_cd"),
            }
        )
    for label, limit_wd, key, category, measure in (
        ("NEA 2020: small/micro firms ≤15 WD", 15.0, STREAMLINED, "LV", "total_wd"),
        ("Shanghai 2025–2029: ≤10 days (LV)", 10.0, STREAMLINED, "LV", "total_cd"),
        ("Residential target ≤3 WD (§8.7)", 3.0, STREAMLINED, "RES", "utility_wd"),
        ("Utility-controlled ≤20 WD, HV_S (§8.7)", 20.0, STREAMLINED, "HV_S", "utility_wd"),
        ("Utility-controlled ≤30 WD, HV_D (§8.7)", 30.0, STREAMLINED, "HV_D", "utility_wd"),
    ):
        c = cell(key, category)
        rows.append(
            {
                "anchor": label,
                "note": measure,
                "anchor_procedures": None,
                "anchor_days": limit_wd,
                "process": key,
                "category": category,
                "procedures_p50": None,
                "days_p50": p50(c, measure),
            }
        )
    return rows


def lanes(sim: Simulation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, outcome in sim.outcomes.items():
        if not outcome.lanes:
            continue
        span = max((r.ended or r.start for r in outcome.results), default=1.0) or 1.0
        out[key] = {
            lane: {
                "staff": state.capacity,
                "served": state.served,
                "utilisation": state.busy_wd / (state.capacity * span),
                "mean_queue_wait_wd": state.waited_wd / state.served if state.served else 0.0,
                "max_queue": state.max_queue,
            }
            for lane, state in outcome.lanes.items()
        }
    return out


def build(
    sim: Simulation,
    service: dict[str, Any] | None,
    sensitivity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    summary = summarize(sim)
    errors = [r.error for o in sim.outcomes.values() for r in o.results if r.error][:20]
    s = sim.scenario
    return {
        "scenario": {
            "source": s.source,
            "seed": s.seed,
            "applications": s.applications,
            "start_date": s.start_date.isoformat(),
            "arrivals_per_working_day": s.arrivals_per_working_day,
            "responsiveness_sigma": s.responsiveness_sigma,
            "processes": {k: m.name for k, m in sim.models.items()},
        },
        "run": {"seconds": round(sim.elapsed_seconds, 1), "workers": sim.workers},
        "summary": summary,
        "calibration": calibration(summary),
        "anchors": anchors(summary),
        "lanes": lanes(sim),
        "steps_without_duration": {
            k: sorted(o.missing_steps) for k, o in sim.outcomes.items() if o.missing_steps
        },
        "errors": errors,
        "service_kpis": service,
        "sensitivity": sensitivity,
    }


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
                    ";".join(f"{k}={'yes' if m else 'no'}" for k, (_, _, m) in r.sla.items()),
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
