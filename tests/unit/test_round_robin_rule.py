"""The round-robin rule's order and the step that decided it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calendar_domain.errors import InvalidValue
from calendar_domain.round_robin import (
    FEWEST_IN_WEEK,
    LEAST_RECENT,
    ONLY_FREE,
    SMALLEST_ID,
    Member,
    checked_members,
    ranked,
    week_bookings,
    why_first,
)


def _ids(order: list[Member]) -> list[str]:
    return [m.user_id for m in order]


def test_never_assigned_first_then_fewest_in_week_then_smallest_id() -> None:
    busy = Member("a", "", 0, [{"kind": "busy", "rule": "appointment"}])
    late = Member("b", "2026-01-05T10:00:00+00:00", 0)
    early = Member("c", "2026-01-05T09:00:00+00:00", 5)
    never_two = Member("e", "", 2)
    never_one_z = Member("z", "", 1)
    never_one_d = Member("d", "", 1)
    order = ranked([busy, late, early, never_two, never_one_z, never_one_d])
    assert _ids(order) == ["d", "z", "e", "c", "b"]
    assert why_first(order) == SMALLEST_ID
    assert why_first(order[1:]) == FEWEST_IN_WEEK
    assert why_first(order[2:]) == LEAST_RECENT
    assert why_first(order[4:]) == ONLY_FREE
    assert ranked([busy]) == []


def test_the_iso_week_runs_monday_to_sunday_utc() -> None:
    def booked(start: str, status: str = "booked") -> dict[str, str]:
        return {"start": start, "end": start.replace("T10", "T11"), "status": status}

    appointments = {
        "sun-before": booked("2026-01-04T10:00:00+00:00"),
        "mon": booked("2026-01-05T10:00:00+00:00"),
        "sun": booked("2026-01-11T10:00:00+00:00"),
        "cancelled": booked("2026-01-06T10:00:00+00:00", "cancelled"),
        "mon-after": booked("2026-01-12T10:00:00+00:00"),
    }
    assert week_bookings(appointments, datetime(2026, 1, 8, 15, tzinfo=UTC)) == 2


@pytest.mark.parametrize("users", [[], ["a", "a"], [f"u{i}" for i in range(51)], ["a", ""]])
def test_members_are_one_to_fifty_distinct_ids(users: list[str]) -> None:
    with pytest.raises(InvalidValue):
        checked_members(users)
    assert checked_members([f"u{i}" for i in range(50)])[-1] == "u49"
