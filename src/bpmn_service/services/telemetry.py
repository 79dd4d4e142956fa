"""Counters of what the service did, for /metrics (docs/operations.md).

A use case notes what it did on its session; the notes become counts only when its unit of work
commits, so a request that is rolled back (a lost race, an invalid step) counts nothing. The
metrics are per server process, as Prometheus expects from each scraped target.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session

ENGINE_STEPS = Counter(
    "bpmn_engine_steps_total", "BPMN elements the engine completed", ["process", "kind"]
)
INSTANCES_STARTED = Counter("bpmn_instances_started_total", "Instances started", ["process"])
INSTANCES_ENDED = Counter(
    "bpmn_instances_ended_total",
    "Instances that ended (completed or cancelled)",
    ["process", "status"],
)
TASKS_ENDED = Counter("bpmn_user_tasks_ended_total", "User tasks that ended", ["process", "reason"])
TIME_LIMIT_BREACHES = Counter(
    "bpmn_time_limit_breaches_total",
    "User tasks that ended after their due date (late completion, or an SLA timer took over)",
    ["process", "element"],
)
TIMER_LAG = Histogram(
    "bpmn_timer_lag_seconds",
    "How long after its due moment a timer fired",
    ["process"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
INCIDENTS_CREATED = Counter(
    "bpmn_incidents_created_total", "External tasks whose retries ran out", ["process", "topic"]
)

_PENDING = "telemetry"
Note = tuple[Counter | Histogram, tuple[str, ...], float]


def count(session: Session, metric: Counter, *labels: str, amount: float = 1.0) -> None:
    """Count `amount` once the session's transaction commits."""
    session.info.setdefault(_PENDING, []).append((metric, labels, amount))


def observe(session: Session, metric: Histogram, *labels: str, value: float) -> None:
    """Observe `value` once the session's transaction commits."""
    session.info.setdefault(_PENDING, []).append((metric, labels, value))


def committed(session: Session) -> None:
    """Apply what the committed transaction noted."""
    notes: list[Note] = session.info.pop(_PENDING, [])
    for metric, labels, value in notes:
        if isinstance(metric, Histogram):
            metric.labels(*labels).observe(value)
        else:
            metric.labels(*labels).inc(value)


def discarded(session: Session) -> None:
    session.info.pop(_PENDING, None)
