"""The simulation report's figures: statistics per process and category, the calibration against
the domain brief's targets, the external anchors and the staff queues (JSON-ready dicts).

The per-application figures come from the simulated history (driver.compute_kpis, with the
procedure / hall-visit / hand-off rules of services.metrics); the summary adds the §10.5
calibration targets and the external anchors (World Bank Doing Business, the 2020 national
targets). report.py renders what build() returns.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
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
    if not values:  # every case of the cell failed or is still running: the same keys, empty
        return {"n": 0} | dict.fromkeys(("mean", "p10", "p25", "p50", "p75", "p90", "min", "max"))
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
        kept: dict[str, bool] = {}  # limit -> every run of the case met
        for limit_id, elapsed, limit, met in r.sla:
            entry = sla.setdefault(
                limit_id,
                {"limit_wd": limit, "n": 0, "met": 0, "cases": 0, "cases_met": 0, "elapsed": []},
            )
            entry["n"] += 1
            entry["met"] += int(met)
            entry["elapsed"].append(elapsed)
            kept[limit_id] = kept.get(limit_id, True) and met
        for limit_id, met in kept.items():
            sla[limit_id]["cases"] += 1
            sla[limit_id]["cases_met"] += int(met)
    for entry in sla.values():
        entry["share_met"] = entry["met"] / entry["n"] if entry["n"] else None
        entry["share_cases_met"] = entry["cases_met"] / entry["cases"] if entry["cases"] else None
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
                # Per application, as §10.5 counts (a reply after an objection is a second run).
                "plan_reply_met": limits.get("share_cases_met") if key == CURRENT else None,
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
