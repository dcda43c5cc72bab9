"""Prometheus metrics of the service (``prometheus_client``, the default registry).

Every name starts with ``calsync_``. Each area keeps its metrics in a block of
its own below.
"""

from __future__ import annotations

from prometheus_client import Counter

# -- appointments changed in iCloud, and conflicts on appointments --------------------------

APPOINTMENT_OUTCOMES = Counter(
    "calsync_appointment_outcomes_total",
    "What syncs and pushes recorded about appointments changed in iCloud and their conflicts",
    ["outcome"],
)


def appointment_outcome(event: str) -> None:
    """Counts an outcome named as its log line ("appointment.followed_icloud" -> "followed_icloud")."""
    APPOINTMENT_OUTCOMES.labels(outcome=event.removeprefix("appointment.")).inc()
