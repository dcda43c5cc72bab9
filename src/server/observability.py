"""What a process shows its operators besides the log: the Prometheus endpoint
(``CALSYNC_METRICS_PORT``, off unless set) with the figures its kind is
responsible for, read when scraped."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from grpc_health.v1 import health_pb2

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
    """psycopg_pool's statistics of every PostgreSQL pool (none with SQLite)."""
    stores: dict[str, Any] = {
        "events": container.app.recorder,
        "views": container.connection_view,
        "availability": container.availability_view,
        "pushes": container.push_queue,
    }
    found: dict[str, dict[str, int]] = {}
    for name, recorder in stores.items():
        pool = getattr(getattr(recorder, "datastore", None), "pool", None)
        if pool is not None and hasattr(pool, "get_stats"):
            found[name] = {key: int(value) for key, value in pool.get_stats().items()}
    return found


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
    """Keeps the health answers true: every name NOT_SERVING while the store cannot
    be reached; ``calendarintegration.read_models`` SERVING only while every read
    model is within CALSYNC_READ_WAIT_TIMEOUT of the log's head (reads with
    ``min_position`` would wait longer than that)."""

    def __init__(self, container: Container, set_status: Any, names: list[str], interval: float = 1.0) -> None:
        self._container = container
        self._set = set_status
        self._names = names
        self._interval = interval
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
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self.check()

    def check(self) -> None:
        try:
            lags = projection_lags(self._container)  # reads the log's head: the store answers
            store_ok = True
        except Exception:
            lags, store_ok = {}, False
        caught_up = store_ok and all(
            seconds <= self._container.settings.read_wait_timeout for _, seconds in lags.values()
        )
        if store_ok != self.store_ok:
            happened(log, "health.store", logging.INFO if store_ok else logging.WARNING, reachable=store_ok)
            self.store_ok = store_ok
        for name in [*self._names, STORE_HEALTH]:
            self._set(name, SERVING if store_ok else NOT_SERVING)
        self._set(READ_MODELS_HEALTH, SERVING if caught_up else NOT_SERVING)
