"""The time-limit regime tests/data/declared_limit.bpmn is run under: one limit, X-T-REPLY, of 8
working days for low-voltage (LV) customers, escalated to the leadership group."""

from __future__ import annotations

from datetime import date

from bpmn_service.timelimits import Regime, TimeLimits

KEY = "declared_limit_demo"


def demo_time_limits() -> TimeLimits:
    return TimeLimits(
        [
            Regime(
                name="DEMO",
                version="1",
                effective_from=date(2020, 1, 1),
                source="test",
                limits={"X-T-REPLY": {"LV": 8.0}},
                names={"X-T-REPLY": "方案答复"},
                escalations={"X-T-REPLY": ("leadership",)},
            )
        ],
        {KEY: "DEMO"},
    )
