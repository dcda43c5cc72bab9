"""What a process shows its operators besides the log: the Prometheus endpoint
(``CALSYNC_METRICS_PORT``, off unless set) with the figures its kind is
responsible for, read when scraped."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from grpc_health.v1 import health_pb2
from psycopg_pool import PoolTimeout

from adapters import metrics
from adapters.persistence.follower import ProjectionFollower
from calendar_domain.telemetry import happened
from server.bootstrap import Container

log = logging.getLogger(__name__)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

# What each process kind reports besides its own counters (gRPC calls, syncs,
# pushes): the server in embedded mode does everything.
KINDS = {
    "serve": ("sync", "push", "connections", "projections", "pools"),
    "project": ("projections", "pools"),
    "push": ("push", "pools"),
    "sync": ("sync", "connections", "pools"),
}


def followers(container: Container) -> dict[str, ProjectionFollower]:
    """The read models this process follows (or watches)."""
    every = {
        "connections": container.follower,
        "availability": container.availability_follower,
        "push_queue": container.push_follower,
    }
    return {name: follower for name, follower in every.items() if follower.started}


def projection_lags(container: Container) -> dict[str, tuple[int, float]]:
    """Each read model's distance from the log's head: events, and seconds since it
    last stood there (0 when it stands there now)."""
    head = container.app.recorder.max_notification_id() or 0
    now = time.time()
    lags: dict[str, tuple[int, float]] = {}
    for name, follower in followers(container).items():
        behind = max(0, head - follower.position)
        lags[name] = (behind, max(0.0, now - follower.caught_up_at) if behind else 0.0)
    return lags


def pool_stats(container: Container) -> dict[str, dict[str, int]]:
    """psycopg_pool's statistics of the process's one PostgreSQL pool, by its
    application_name (none with SQLite)."""
    pool = container.pool
    return {} if pool is None else {pool.application_name: pool.stats()}


def readers(container: Container, kind: str) -> metrics.Readers:
    parts = KINDS[kind]
    settings = container.settings
    view: Any = container.connection_view
    return metrics.Readers(
        sync=(
            lambda: container.sync_state.figures(time.time(), settings.sync_interval, settings.stale_after)
        ) if "sync" in parts else None,
        push=(lambda: container.push_queue.figures(time.time())) if "push" in parts else None,
        connections=view.count_by_status if "connections" in parts else None,
        projections=(lambda: projection_lags(container)) if "projections" in parts else None,
        pools=(lambda: pool_stats(container)) if "pools" in parts and settings.event_store == "postgres" else None,
    )


def start_metrics(container: Container, kind: str) -> metrics.MetricsEndpoint | None:
    """Serves ``/metrics`` when ``CALSYNC_METRICS_PORT`` is set (on the gRPC listen
    address's host); None when it is not."""
    settings = container.settings
    if not settings.metrics_port:
        return None
    container.app.add_listener(lambda _position: metrics.EVENT_STORE_APPENDS.inc())
    host = settings.listen.rsplit(":", 1)[0].strip("[]") or "0.0.0.0"  # noqa: S104 - as the gRPC address says
    return metrics.MetricsEndpoint(host, settings.metrics_port, metrics.StateCollector(readers(container, kind))).start()


# Health names beside the gRPC services' own, for a load balancer's readiness check.
READ_MODELS_HEALTH = "calendarintegration.read_models"
STORE_HEALTH = "calendarintegration.store"


class HealthWatch:
    """Keeps the health answers true, every CALSYNC_DB_CHECK_INTERVAL seconds: every
    name NOT_SERVING while the store cannot be reached (PostgreSQL down, or the log
    unreadable), SERVING again once it can; ``calendarintegration.read_models``
    SERVING only while every read model is within CALSYNC_READ_WAIT_TIMEOUT of the
    log's head (reads with ``min_position`` would wait longer than that). A pool
    whose connections are all busy is not a store down: the process's pool then
    checks PostgreSQL on a short-lived connection of its own."""

    def __init__(self, container: Container, set_status: Any, names: list[str], interval: float | None = None) -> None:
        self._container = container
        self._set = set_status
        self._names = names
        self._interval = container.settings.db_check_interval if interval is None else interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.store_ok: bool | None = None

    def start(self) -> HealthWatch:
        self.check()
        self._thread = threading.Thread(target=self._run, name="health-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self._container.settings.db_pool_timeout + 10)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self.check()

    def check(self) -> None:
        settings = self._container.settings
        pool = self._container.pool
        reachable = pool is None or pool.reachable(settings.db_pool_timeout)
        lags: dict[str, tuple[int, float]] = {}
        store_ok = reachable
        if reachable:
            try:
                lags = projection_lags(self._container)  # reads the log's head: the store answers
            except PoolTimeout:  # every connection busy, PostgreSQL answering: not down, not ready
                lags = {"": (1, float("inf"))}
            except Exception:
                store_ok = False
        if self._stopping.is_set():
            return  # the server is stopping: its health says so already
        caught_up = store_ok and all(seconds <= settings.read_wait_timeout for _, seconds in lags.values())
        if store_ok != self.store_ok:
            metrics.DB_REACHABLE.set(1 if store_ok else 0)
            if self.store_ok is not None or not store_ok:
                happened(
                    log, "database.reachable" if store_ok else "database.unreachable",
                    logging.INFO if store_ok else logging.WARNING, health="SERVING" if store_ok else "NOT_SERVING",
                )
            self.store_ok = store_ok
        for name in [*self._names, STORE_HEALTH]:
            self._set(name, SERVING if store_ok else NOT_SERVING)
        self._set(READ_MODELS_HEALTH, SERVING if caught_up else NOT_SERVING)
