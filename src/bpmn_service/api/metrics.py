"""GET /metrics in Prometheus' text format (docs/operations.md), with prometheus-client.

Three sources: request counts and latencies per route template and status (this module's
middleware), what the services did (services/telemetry.py, counted on commit), and what is open
right now (services/monitoring.py, read from the database at each scrape).

Access: with BPMN_METRICS_TOKEN set, scrapers send `Authorization: Bearer <token>`; without one,
production mode answers loopback clients only and development mode everyone.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterator
from ipaddress import ip_address

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bpmn_service.api.deps import ContextDep
from bpmn_service.context import AppContext
from bpmn_service.errors import Forbidden, Unauthenticated
from bpmn_service.services import monitoring

log = logging.getLogger("bpmn_service.metrics")

REQUESTS = Counter(
    "bpmn_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "bpmn_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UNMATCHED = "unmatched"  # every path no route knows: one label value, not one per URL

router = APIRouter(tags=["operations"])


class RequestMetricsMiddleware:
    """Count and time every HTTP request by its route template (e.g. /api/v1/tasks/{task_id})."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            route = _template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)


def _template(scope: Scope) -> str:
    route = scope.get("route")
    root = scope.get("root_path", "")
    template = getattr(route, "path", None)
    if isinstance(route, Mount) or not isinstance(template, str):
        # Inside /engine-rest (root_path) but no route there matched, or nowhere at all.
        return f"{root}/{UNMATCHED}" if root else UNMATCHED
    # The matched route's template may leave out the static prefix it was included under
    # (/api/v1) and, under a mount, the mount's path (root_path): take those from the request.
    path = scope["path"]
    relative = path[len(root) :] if root and path.startswith(root) else path
    parts = relative.split("/")
    prefix = "/".join(parts[: len(parts) - template.count("/")])
    return f"{root}{prefix}{template}"


class OpenWorkCollector(Collector):
    """The database's open work, read at each scrape."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        yield from self._warm_workflows()
        up = GaugeMetricFamily("bpmn_database_up", "1 when the database answered this scrape")
        try:
            snap = monitoring.snapshot(self.ctx)
        except Exception:  # a scrape must still answer, saying the database did not
            log.exception("metrics: the database query failed")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        tasks = GaugeMetricFamily(
            "bpmn_open_user_tasks",
            "Open user tasks by process, lane and whether past their due date",
            labels=["process", "lane", "overdue"],
        )
        for t in snap.open_tasks:
            tasks.add_metric([t.process, t.lane, "true" if t.overdue else "false"], t.count)
        yield tasks
        external = GaugeMetricFamily(
            "bpmn_external_tasks",
            "Open external tasks by topic and state (available, locked, retry_wait, incident)",
            labels=["process", "topic", "state"],
        )
        for e in snap.external_tasks:
            external.add_metric([e.process, e.topic, e.state], e.count)
        yield external
        active = GaugeMetricFamily(
            "bpmn_active_instances", "Instances that have not ended", labels=["process"]
        )
        for process, n in sorted(snap.active_instances.items()):
            active.add_metric([process], n)
        yield active
        yield GaugeMetricFamily(
            "bpmn_timers_overdue",
            "Instances whose due timer has not fired yet",
            snap.overdue_timers,
        )
        yield GaugeMetricFamily(
            "bpmn_timers_overdue_max_seconds",
            "How long the most overdue unfired timer has been due",
            snap.oldest_overdue_timer_seconds,
        )
        for name, value, text in (
            ("bpmn_db_pool_size", snap.pool_size, "Connections the pool keeps"),
            ("bpmn_db_pool_checked_out", snap.pool_checked_out, "Connections in use"),
            ("bpmn_db_pool_overflow", snap.pool_overflow, "Connections beyond the pool size"),
        ):
            if value is not None:
                yield GaugeMetricFamily(name, f"{text} (this server process)", value)

    def _warm_workflows(self) -> Iterator[Metric]:
        warm = self.ctx.runner.warm
        yield GaugeMetricFamily(
            "bpmn_warm_workflows",
            "Workflows this server process keeps after a call (BPMN_WARM_WORKFLOWS)",
            len(warm),
        )
        takes = CounterMetricFamily(
            "bpmn_warm_workflow_takes",
            "Calls on a stored state by this server process: taken warm (hit) or loaded (miss)",
            labels=["outcome"],
        )
        takes.add_metric(["hit"], warm.hits)
        takes.add_metric(["miss"], warm.misses)
        yield takes


def open_work_registry(ctx: AppContext) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OpenWorkCollector(ctx))
    return registry


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        401: {"description": "BPMN_METRICS_TOKEN is set and the bearer token is not it"},
        403: {"description": "production mode without a token: loopback clients only"},
    },
)
def metrics(ctx: ContextDep, request: Request) -> Response:
    """Prometheus metrics of this server process and of the shared database."""
    _check_access(ctx, request)
    registry: CollectorRegistry = request.app.state.open_work
    body = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _check_access(ctx: AppContext, request: Request) -> None:
    token = ctx.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Unauthenticated("/metrics needs 'Authorization: Bearer <BPMN_METRICS_TOKEN>'")
        return
    if ctx.settings.mode == "production" and not _loopback(request):
        raise Forbidden(
            "/metrics answers loopback clients only in production; set BPMN_METRICS_TOKEN to "
            "scrape it from elsewhere"
        )


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
