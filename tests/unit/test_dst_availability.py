"""The availability rules on the days of a daylight-saving change: working windows,
slot steps, buffers, minimum notice, horizon and the daily cap's local day. Every
instant is worked out by hand (Europe/Berlin: CET, UTC+1, to CEST, UTC+2, on 29 March
2026 at 02:00, back on 25 October at 03:00; America/New_York: EST, UTC-5, to EDT on
8 March at 02:00, back on 1 November at 02:00 EDT)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from calendar_domain.availability import (
    BookingRules,
    Busy,
    ReasonKind,
    SlotQuery,
    SourceKind,
    Window,
    WorkingHours,
    bookable_span,
    explain,
    free_slots,
    local_day_span,
)

SPRING, FALL = date(2026, 3, 29), date(2026, 10, 25)  # Sundays, Berlin's change days
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def _z(text: str) -> int:
    """Seconds since the epoch of a UTC instant 'YYYY-MM-DDTHH:MM'."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def _rules(**values: int) -> BookingRules:
    """Booking rules whose horizon (from 1 January 2026 unless a test says) reaches the days here."""
    return BookingRules(**{"horizon_days": 400, **values})


def _hours(day: date, start_hour: int, end_hour: int) -> WorkingHours:
    return WorkingHours({}, {day: (Window(start_hour * 60, end_hour * 60),)})


def _query(hours: WorkingHours, rules: BookingRules, start: str, end: str, *, now: str = "2026-01-01T00:00",
           zone: ZoneInfo = BERLIN, booked: dict[date, int] | None = None) -> SlotQuery:
    return SlotQuery(_z(start), _z(end), _z(now), zone, hours, rules, booked or {})


def _starts(slots: list[tuple[int, int]]) -> list[int]:
    return [start for start, _ in slots]


@pytest.mark.parametrize(
    ("day", "zone", "first", "count"),
    [
        (SPRING, BERLIN, "2026-03-29T07:00", 8),  # 09:00 CEST to 17:00 CEST
        (FALL, BERLIN, "2026-10-25T08:00", 8),  # 09:00 CET to 17:00 CET
        (date(2026, 3, 8), NEW_YORK, "2026-03-08T13:00", 8),  # 09:00 EDT
        (date(2026, 11, 1), NEW_YORK, "2026-11-01T14:00", 8),  # 09:00 EST
    ],
)
def test_a_nine_to_five_day_on_the_change_day_is_eight_real_hours(day: date, zone: ZoneInfo, first: str, count: int) -> None:
    query = _query(_hours(day, 9, 17), _rules(slot_minutes=60), "2026-01-01T00:00", "2027-01-01T00:00", zone=zone)
    slots = free_slots(query, [])
    assert _starts(slots) == [_z(first) + 3600 * i for i in range(count)]


def test_slot_steps_that_cross_the_change_step_in_real_time() -> None:
    # 00:00-06:00 local: five real hours on the spring day, seven on the autumn one
    spring = free_slots(_query(_hours(SPRING, 0, 6), _rules(slot_minutes=60), "2026-03-28T00:00", "2026-03-30T00:00"), [])
    assert _starts(spring) == [_z("2026-03-28T23:00") + 3600 * i for i in range(5)]
    fall = free_slots(_query(_hours(FALL, 0, 6), _rules(slot_minutes=60), "2026-10-24T00:00", "2026-10-26T00:00"), [])
    assert _starts(fall) == [_z("2026-10-24T22:00") + 3600 * i for i in range(7)]
    # a 90-minute step from 01:00 CET: 01:00 CET, 03:30 CEST (not 02:30, which does not exist), 05:00 CEST
    stepped = free_slots(
        _query(_hours(SPRING, 1, 6), _rules(slot_minutes=60, step_minutes=90), "2026-03-28T00:00", "2026-03-30T00:00"), []
    )
    assert _starts(stepped) == [_z("2026-03-29T00:00"), _z("2026-03-29T01:30"), _z("2026-03-29T03:00")]


def test_buffers_around_busy_time_across_the_change_are_real_minutes() -> None:
    # busy 01:00 CET to 03:00 CEST (one real hour), 60 minutes' buffer after it and before a slot
    taken = [Busy(_z("2026-03-29T00:00"), _z("2026-03-29T01:00"), SourceKind.IMPORTED, True, "opaque")]
    rules = _rules(slot_minutes=60, buffer_before_minutes=60, buffer_after_minutes=60)
    query = _query(_hours(SPRING, 0, 8), rules, "2026-03-28T00:00", "2026-03-30T00:00")
    # 23:00Z would end at 00:00Z with no room after it; the next slot starts an hour after the busy time
    assert _starts(free_slots(query, taken)) == [_z("2026-03-29T02:00") + 3600 * i for i in range(4)]
    reasons, _ = explain(replace_span(query, "2026-03-29T01:30", "2026-03-29T02:30"), taken)
    assert [r.kind for r in reasons] == [ReasonKind.BUFFER]


def replace_span(query: SlotQuery, start: str, end: str) -> SlotQuery:
    return SlotQuery(_z(start), _z(end), query.now, query.zone, query.hours, query.rules, query.booked_per_day)


def test_the_horizon_counts_local_days_and_the_notice_real_minutes() -> None:
    # now: Saturday 12:00 CET; one day ahead is Sunday 12:00 CEST, 23 real hours later
    rules = _rules(slot_minutes=60, minimum_notice_minutes=90, horizon_days=1)
    query = _query(_hours(SPRING, 0, 24), rules, "2026-03-28T00:00", "2026-03-30T00:00", now="2026-03-28T11:00")
    assert bookable_span(query) == (_z("2026-03-28T12:30"), _z("2026-03-29T10:00"))
    late = explain(replace_span(query, "2026-03-29T10:00", "2026-03-29T11:00"), [])[0]
    assert [r.kind for r in late] == [ReasonKind.BEYOND_HORIZON]
    assert explain(replace_span(query, "2026-03-29T09:00", "2026-03-29T10:00"), [])[0] == []
    # autumn: 25 real hours
    autumn = _query(_hours(FALL, 0, 24), rules, "2026-10-24T00:00", "2026-10-26T00:00", now="2026-10-24T10:00")
    assert bookable_span(autumn)[1] == _z("2026-10-25T11:00")


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [(SPRING, "2026-03-28T23:00", "2026-03-29T22:00"), (FALL, "2026-10-24T22:00", "2026-10-25T23:00")],
)
def test_the_daily_caps_day_is_the_local_day_of_23_or_25_hours(day: date, start: str, end: str) -> None:
    assert local_day_span(_z(start), _z(start) + 1, BERLIN) == (_z(start), _z(end))
    assert local_day_span(_z(end) - 1, _z(end), BERLIN) == (_z(start), _z(end))
    rules = _rules(slot_minutes=60, daily_cap=1)
    hours = WorkingHours({6: (Window(0, 24 * 60),)})  # Sundays, all day
    query = _query(hours, rules, "2026-01-01T00:00", "2027-01-01T00:00", booked={day: 1})
    slots = free_slots(query, [])
    # nothing on the capped day, from its first local hour to its last
    assert not [s for s in slots if _z(start) <= s[0] < _z(end)]
    assert [s for s in slots if _z(start) - 3600 <= s[0] < _z(end) + 3600] == []
    assert explain(replace_span(query, end.replace("22:00", "21:00").replace("23:00", "22:00"), end), [])[0][0].kind is ReasonKind.DAILY_CAP
