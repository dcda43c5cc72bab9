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
