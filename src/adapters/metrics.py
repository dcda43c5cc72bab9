"""Prometheus metrics of the service (default registry; names prefixed ``calsync_``).

Each area keeps its metrics in a block of its own.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
