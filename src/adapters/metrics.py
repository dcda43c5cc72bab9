"""Prometheus metrics of the service (``prometheus_client``, the default registry).

Every name starts with ``calsync_``. Each area keeps its metrics in a block of
its own below; defining a metric does no I/O.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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


# -- fleet: the database pool, starts, leases ------------------------------------------------

DB_POOL_CONNECTIONS = Gauge(
    "calsync_db_pool_connections",
    "PostgreSQL connections of this process's pool: open, and lent out (in use)",
    ["state"],
)
DB_POOL_SIZE = Gauge("calsync_db_pool_size", "The most PostgreSQL connections this process may hold")
DB_UNAVAILABLE = Counter(
    "calsync_db_unavailable_total", "Calls answered UNAVAILABLE because the database was down or saturated", ["rpc"]
)
DB_START_RETRIES = Counter(
    "calsync_db_start_retries_total", "Attempts to reach the database at start that failed (retried)"
)
DB_REACHABLE = Gauge("calsync_db_reachable", "1 while the database answers this process's health check, else 0")
PUSH_LEASE_TAKEOVERS = Counter(
    "calsync_push_lease_takeovers_total", "Pushes claimed whose lease another (dead or stuck) pusher had held"
)
