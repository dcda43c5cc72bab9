"""Round-robin booking: which free member of a team gets an appointment.

The rule (also in appointments.proto and docs/api.md), among the free members:
the least recently assigned by round robin (never assigned first), then the
fewest appointments starting in the ISO 8601 week (Monday to Sunday, UTC) of
the requested start, then the smallest user id. It is a total order, so two
concurrent requests see the same order: the one that loses the race for the
first member takes the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from calendar_domain import values
from calendar_domain.bookings import record_span
from calendar_domain.errors import InvalidValue

MAX_MEMBERS = 50

ONLY_FREE = "only_free_member"
LEAST_RECENT = "least_recently_assigned"
FEWEST_IN_WEEK = "fewest_bookings_in_week"
SMALLEST_ID = "smallest_user_id"


@dataclass
class Member:
    """One candidate as the assignment saw it (``row`` is what history records)."""

    user_id: str
    last_assigned: str  # ISO 8601, "" when never assigned
    week_bookings: int
    reasons: list[dict[str, str]] = field(default_factory=list)

    @property
    def free(self) -> bool:
        return not self.reasons

    def key(self) -> tuple[str, int, str]:
        return (self.last_assigned, self.week_bookings, self.user_id)

    def row(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "free": self.free,
            "reasons": list(self.reasons),
            "last_assigned_time": self.last_assigned or None,
            "week_bookings": self.week_bookings,
        }


def checked_members(user_ids: Sequence[str]) -> list[str]:
    """1 to MAX_MEMBERS distinct user ids, in the order given."""
    if not user_ids:
        raise InvalidValue("user_ids", "user_ids needs at least one user")
    if len(user_ids) > MAX_MEMBERS:
        raise InvalidValue("user_ids", f"user_ids may name at most {MAX_MEMBERS} users")
    members = [values.opaque_id(f"user_ids[{i}]", u) for i, u in enumerate(user_ids)]
    if len(set(members)) != len(members):
        raise InvalidValue("user_ids", "user_ids must be distinct")
    return members


def week_bookings(appointments: dict[str, dict[str, Any]], start: datetime) -> int:
    """Appointments (booked, not cancelled) starting in the ISO week of ``start`` (UTC)."""
    day = start.astimezone(UTC).date()
    monday = datetime.combine(day - timedelta(days=day.weekday()), datetime.min.time(), UTC)
    after = monday + timedelta(days=7)
    return sum(
        1 for r in appointments.values() if r["status"] == "booked" and monday <= record_span(r)[0] < after
    )


def ranked(members: Sequence[Member]) -> list[Member]:
    """The free members, best first."""
    return sorted((m for m in members if m.free), key=Member.key)


def why_first(order: Sequence[Member]) -> str:
    """Which step of the rule put the first of ``order`` before the second."""
    if len(order) < 2:
        return ONLY_FREE
    first, second = order[0], order[1]
    if first.last_assigned != second.last_assigned:
        return LEAST_RECENT
    if first.week_bookings != second.week_bookings:
        return FEWEST_IN_WEEK
    return SMALLEST_ID
