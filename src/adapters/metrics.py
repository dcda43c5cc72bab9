"""Prometheus metrics of the service (``prometheus_client``, the default registry).

Every name starts with ``calsync_``. Each area keeps its metrics in a block of
its own below.
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


# -- the sync poller -----------------------------------------------------------------------

ACCOUNT_POLLS = Counter(
    "calsync_account_polls_total",
    "Polls of an iCloud account, by outcome (quiet: one PROPFIND and nothing changed)",
    ["outcome"],
)
ACCOUNT_POLL_SECONDS = Histogram(
    "calsync_account_poll_seconds",
    "Wall time of one account poll",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
CALDAV_REQUESTS = Counter("calsync_caldav_requests_total", "CalDAV requests made by account polls")
CALENDAR_REPORTS = Counter(
    "calsync_calendar_reports_total", "Calendars synced by REPORT, by why (ctag changed, missing, verify)", ["reason"]
)
ACCOUNTS_DUE = Gauge("calsync_accounts_due", "Accounts due for a poll, as last counted by this process")
ACCOUNTS_OVERDUE = Gauge(
    "calsync_accounts_overdue", "Accounts due for longer than one interval, as last counted by this process"
)
ACCOUNTS_LEASED = Gauge("calsync_accounts_leased", "Account polls in flight in this process")
LEASE_TAKEOVERS = Counter("calsync_sync_lease_takeovers_total", "Accounts claimed from an expired lease of another holder")
THROTTLED = Counter("calsync_caldav_throttled_total", "429/503 answers with Retry-After, by host", ["host"])
