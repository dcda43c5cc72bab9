"""Prometheus metrics of every process kind (``prometheus_client``, default registry,
names prefixed ``calsync_``). Each area keeps its metrics in a block of its own.
Defining a metric does no I/O; the endpoint (``MetricsEndpoint``) is served when
``CALSYNC_METRICS_PORT`` is set. docs/operations.md lists them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# --- gRPC calls (server interceptor) -------------------------------------------------
RPC_CALLS = Counter(
    "calsync_grpc_calls",
    "gRPC calls served, by service, method and status code",
    ["service", "method", "code"],
)
RPC_SECONDS = Histogram(
    "calsync_grpc_call_seconds",
    "How long gRPC calls took to answer (streams: until they ended), by service and method",
    ["service", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


# The labelled children, found once per (service, method, code): labels() costs a
# lock and a lookup on every call otherwise.
_rpc_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def observe_rpc(service: str, method: str, code: str, seconds: float) -> None:
    key = (service, method, code)
    children = _rpc_children.get(key)
    if children is None:
        children = _rpc_children.setdefault(key, (RPC_CALLS.labels(*key), RPC_SECONDS.labels(service, method)))
    children[0].inc()
    children[1].observe(seconds)


# --- syncs of iCloud accounts (adapters/icloud/poller.py) -----------------------------
SYNCS = Counter("calsync_syncs", "Account syncs run, by outcome (ok, partial, failed, throttled, reconnect_required)", ["outcome"])
SYNC_SECONDS = Histogram(
    "calsync_sync_seconds", "How long an account's sync took",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
SYNC_REQUESTS = Counter("calsync_sync_requests", "HTTP requests made to the CalDAV server by syncs")


def observe_sync(outcome: str, seconds: float, requests: int) -> None:
    SYNCS.labels(outcome).inc()
    SYNC_SECONDS.observe(seconds)
    SYNC_REQUESTS.inc(requests)


# --- pushes of appointments to iCloud (adapters/icloud/pusher.py) ---------------------
PUSH_ATTEMPTS = Counter(
    "calsync_push_attempts",
    "Attempts to write an appointment to iCloud, by outcome (created, updated, deleted, found, retrying, failed, ...)",
    ["outcome"],
)
PUSH_FAILURES = Counter("calsync_push_failures", "Pushes given up (permanent failure, or too many attempts)")
PUSH_SECONDS = Histogram(
    "calsync_push_seconds", "How long one push attempt took",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def observe_push(outcome: str, seconds: float) -> None:
    PUSH_ATTEMPTS.labels(outcome).inc()
    if outcome == "failed":
        PUSH_FAILURES.inc()
    PUSH_SECONDS.observe(seconds)


# --- read at scrape time: accounts, calendars, connections, push queue, projections,
# --- PostgreSQL pools (server/observability.py hands over the readers) -------------
EVENT_STORE_APPENDS = Counter("calsync_event_store_appends", "Saves of new events to the event store by this process")
SCRAPE_FAILURES = Counter("calsync_scrape_failures", "Scrapes whose figures could not be read (the store away)", ["part"])


@dataclass
class Readers:
    """What a process kind reports; None: not this kind's business."""

    sync: Callable[[], dict[str, int]] | None = None
    push: Callable[[], dict[str, float]] | None = None
    connections: Callable[[], dict[str, int]] | None = None
    # name -> (events behind the log's head, seconds behind)
    projections: Callable[[], dict[str, tuple[int, float]]] | None = None
    # name -> psycopg_pool statistics (pool_size, pool_available, pool_max, requests_waiting)
    pools: Callable[[], dict[str, dict[str, int]]] | None = None


class StateCollector(Collector):
    """Gauges worked out when Prometheus scrapes (a few COUNT queries), so that they
    are true whichever process changed the state."""

    def __init__(self, readers: Readers) -> None:
        self._readers = readers

    def describe(self) -> Iterable[Metric]:
        return []  # worked out at scrape time only (no query when registered)

    def collect(self) -> Iterable[Metric]:
        for part, collect in (
            ("sync", self._sync), ("push", self._push), ("connections", self._connections),
            ("projections", self._projections), ("pools", self._pools),
        ):
            try:
                yield from collect()
            except Exception:  # the store is away: the other parts still report
                SCRAPE_FAILURES.labels(part).inc()

    def _sync(self) -> Iterable[Metric]:
        if self._readers.sync is None:
            return
        figures = self._readers.sync()
        accounts = GaugeMetricFamily(
            "calsync_sync_accounts", "iCloud accounts by state (known, due, overdue, leased)", labels=["state"]
        )
        for state in ("accounts", "accounts_due", "accounts_overdue", "accounts_leased"):
            accounts.add_metric([state.removeprefix("accounts_") if state != "accounts" else "known"], figures[state])
        yield accounts
        yield GaugeMetricFamily(
            "calsync_calendars_stale", "Blocking calendars without a successful sync for CALSYNC_STALE_AFTER",
            value=figures["calendars_stale"],
        )
        yield GaugeMetricFamily(
            "calsync_calendars_failing", "Blocking calendars whose last sync failed", value=figures["calendars_failing"]
        )

    def _push(self) -> Iterable[Metric]:
        if self._readers.push is None:
            return
        figures = self._readers.push()
        yield GaugeMetricFamily("calsync_push_queue_depth", "Appointments waiting to be written", value=figures["depth"])
        yield GaugeMetricFamily(
            "calsync_push_queue_retrying", "Queued appointments already tried at least once", value=figures["retrying"]
        )
        yield GaugeMetricFamily(
            "calsync_push_queue_oldest_seconds", "How long the longest-waiting due appointment has waited",
            value=figures["oldest_seconds"],
        )

    def _connections(self) -> Iterable[Metric]:
        if self._readers.connections is None:
            return
        counts = self._readers.connections()
        family = GaugeMetricFamily("calsync_connections", "Connections by state", labels=["state"])
        for state in ("active", "reconnect_required", "disconnected"):
            family.add_metric([state], counts.get(state, 0))
        yield family
        yield GaugeMetricFamily(
            "calsync_connections_reconnect_required", "Connections waiting for a new app-specific password",
            value=counts.get("reconnect_required", 0),
        )

    def _projections(self) -> Iterable[Metric]:
        if self._readers.projections is None:
            return
        lags = self._readers.projections()
        events = GaugeMetricFamily(
            "calsync_projection_lag_events", "Events of the log a read model has not processed yet", labels=["projection"]
        )
        seconds = GaugeMetricFamily(
            "calsync_projection_lag_seconds", "Since when a read model has been behind the log's head (0: caught up)",
            labels=["projection"],
        )
        for name, (behind, late) in sorted(lags.items()):
            events.add_metric([name], behind)
            seconds.add_metric([name], late)
        yield events
        yield seconds

    def _pools(self) -> Iterable[Metric]:
        if self._readers.pools is None:
            return
        pools = self._readers.pools()
        connections = GaugeMetricFamily(
            "calsync_postgres_pool_connections", "PostgreSQL pool connections (size: open, available: idle, max)",
            labels=["pool", "state"],
        )
        waiting = GaugeMetricFamily(
            "calsync_postgres_pool_waiting", "Requests waiting for a PostgreSQL pool connection", labels=["pool"]
        )
        for name, stats in sorted(pools.items()):
            for state, key in (("size", "pool_size"), ("available", "pool_available"), ("max", "pool_max")):
                connections.add_metric([name, state], stats.get(key, 0))
            waiting.add_metric([name], stats.get("requests_waiting", 0))
        yield connections
        yield waiting


class MetricsEndpoint:
    """``/metrics`` over HTTP on its own port, in a thread of its own."""

    def __init__(self, host: str, port: int, collector: StateCollector | None = None) -> None:
        self._host, self._port = host, port
        self._collector = collector
        self._server: Any = None
        self.port = 0

    def start(self) -> MetricsEndpoint:
        if self._collector is not None:
            REGISTRY.register(self._collector)
        self._server, _thread = start_http_server(self._port, self._host)
        self.port = int(self._server.server_address[1])
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._collector is not None:
            REGISTRY.unregister(self._collector)
            self._collector = None


# -- appointments changed in iCloud, and conflicts on appointments --------------------------

APPOINTMENT_OUTCOMES = Counter(
    "calsync_appointment_outcomes_total",
    "What syncs and pushes recorded about appointments changed in iCloud and their conflicts",
    ["outcome"],
)


def appointment_outcome(event: str) -> None:
    """Counts an outcome named as its log line ("appointment.followed_icloud" -> "followed_icloud")."""
    APPOINTMENT_OUTCOMES.labels(outcome=event.removeprefix("appointment.")).inc()


# -- availability answers: busy times, unknown users ------------------------------

BUSY_TIMES_INTERVALS = Histogram(
    "calsync_busy_times_intervals",
    "Busy intervals in one ListBusyTimes answer (all its users together)",
    buckets=(0, 1, 10, 100, 1000, 10000, 100000),
)
UNKNOWN_USER_ANSWERS = Counter(
    "calsync_unknown_user_answers_total",
    "Questions about a user the service never heard of, answered NOT_FOUND (USER_UNKNOWN)",
)

# -- the API contract: answers that are errors ----------------------------------------

RPC_ERRORS = Counter(
    "calsync_rpc_errors_total",
    "Calls answered with an error status, by RPC, status code and ErrorInfo reason",
    ["rpc", "code", "reason"],
)

# -- fleet: the database at start and in health checks, push leases -------------------------
# (the pool's own gauges are read at scrape time: calsync_postgres_pool_* above)

DB_START_RETRIES = Counter(
    "calsync_db_start_retries_total", "Attempts to reach the database at start that failed (retried)"
)
DB_REACHABLE = Gauge("calsync_db_reachable", "1 while the database answers this process's health check, else 0")
PUSH_LEASE_TAKEOVERS = Counter(
    "calsync_push_lease_takeovers_total", "Pushes claimed whose lease another (dead or stuck) pusher had held"
)

# -- event history streams and log followers ------------------------------------------------

HISTORY_REPLAYED_EVENTS = Counter(
    "calsync_history_replayed_events_total", "Events sent by StreamEvents replays (before each stream caught up)"
)
HISTORY_REPLAY_SECONDS = Histogram(
    "calsync_history_replay_seconds",
    "Time from a StreamEvents call to its caught-up message",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
)
FOLLOWER_EVENTS = Counter(
    "calsync_follower_events_total", "Events a log follower wrote into its read model", ["projection"]
)
FOLLOWER_BATCH_SECONDS = Histogram(
    "calsync_follower_batch_seconds",
    "Time a log follower took to write one batch of events (one transaction)",
    ["projection"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
)

# -- bookings: commands on one aggregate, their turns and version conflicts ------------------

COMMAND_CONFLICTS = Counter(
    "calsync_command_conflicts_total",
    "Version conflicts met by commands (another process wrote the aggregate first), by outcome",
    ["outcome"],  # retried, gave_up
)
BOOKING_READ_WAIT = Histogram(
    "calsync_booking_read_wait_seconds",
    "Time a booking waited for the availability model to reach the user's last event",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def count_command_conflict(outcome: str) -> None:
    COMMAND_CONFLICTS.labels(outcome=outcome).inc()


# -- round-robin booking: team bookings by outcome -------------------------------------

ROUND_ROBIN_ASSIGNMENTS = Counter(
    "calsync_round_robin_assignments_total",
    "Round-robin bookings for a team, by outcome",
    ["outcome"],  # assigned, no_member_free, retried
)


def count_round_robin(outcome: str) -> None:
    ROUND_ROBIN_ASSIGNMENTS.labels(outcome=outcome).inc()


# -- the relay of the log to NATS JetStream -----------------------------------------

RELAY_EVENTS = Counter(
    "calsync_relay_events_total",
    "Events of the log published to JetStream and acknowledged by it",
)
RELAY_LAG = Gauge(
    "calsync_relay_lag_events",
    "Events of the log not yet acknowledged by JetStream (the head's position minus the relay's)",
)

# -- subscribed calendars: polls of feeds ----------------------------------------------

FEED_POLLS = Counter(
    "calsync_feed_polls_total",
    "Polls of subscribed feeds, by outcome (not_modified: a 304; unchanged: the same body again; "
    "changed: read and recorded; failed: unreachable, refused or not iCalendar, last busy times kept)",
    ["outcome"],
)

# -- the sync poller (syncs, their outcomes, durations and requests: above) ---------------

CALENDAR_REPORTS = Counter(
    "calsync_calendar_reports_total",
    "Calendars REPORTed by account polls, by why (changed: its ctag moved; no_ctag; verify: hourly or SyncNow)",
    ["reason"],
)
POLLS_IN_FLIGHT = Gauge("calsync_sync_polls_in_flight", "Account polls running in this process")
LEASE_TAKEOVERS = Counter("calsync_sync_lease_takeovers_total", "Accounts claimed from an expired lease of another holder")
THROTTLED = Counter("calsync_caldav_throttled_total", "429/503 answers with Retry-After, by host", ["host"])


# -- subscribed calendars: fetching iCalendar feeds (adapters/feeds/fetch.py) ------------

FEED_REQUESTS = Counter(
    "calsync_feed_requests_total",
    "Feed fetches (redirect hops included in one), by outcome",
    ["outcome"],  # not_modified, ok, refused, unavailable, throttled
)
FEED_BYTES = Counter("calsync_feed_bytes_total", "Bytes of feed bodies fetched (after gzip/deflate decoding)")


def count_feed_request(outcome: str, body_bytes: int = 0) -> None:
    FEED_REQUESTS.labels(outcome=outcome).inc()
    if body_bytes:
        FEED_BYTES.inc(body_bytes)
