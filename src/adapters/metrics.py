"""Prometheus metrics of the service (``prometheus_client``, default registry).

Every name starts with ``calsync_``. Each area keeps its metrics in a block of
its own below; defining a metric does no I/O.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
