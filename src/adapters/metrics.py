"""Prometheus metrics of the service (``prometheus_client``, the default registry).

Every name starts with ``calsync_``. Each area keeps its metrics in a block of
its own below; defining a metric does no I/O.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
