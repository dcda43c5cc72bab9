"""The booking rules on their own: step, buffers, minimum notice, horizon, daily cap,
and the reasons ExplainTime gives for each. Times are worked out by hand; the
user's zone is UTC unless a test says otherwise."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.application import Application

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
    grid_slots,
)
from calendar_domain.configuration import CalendarConfiguration

MONDAY = date(2030, 1, 7)  # a Monday
NINE_TO_NOON = WorkingHours({0: (Window(9 * 60, 12 * 60),)})


def at(hour: int, minute: int = 0, day: int = 7) -> int:
    return int(datetime(2030, 1, day, hour, minute, tzinfo=UTC).timestamp())


def query(rules: BookingRules, *, now: int = at(0, day=1), booked: dict[date, int] | None = None,
          hours: WorkingHours = NINE_TO_NOON, zone: str = "UTC") -> SlotQuery:
    return SlotQuery(at(0), at(0, day=8), now, ZoneInfo(zone), hours, rules, booked or {})


def busy(start: int, end: int) -> Busy:
    return Busy(start, end, SourceKind.IMPORTED, True, "opaque")


def starts(slots: list[tuple[int, int]]) -> list[str]:
    return [datetime.fromtimestamp(s, UTC).strftime("%H:%M") for s, _ in slots]


def test_slots_step_from_the_window_start() -> None:
    found = free_slots(query(BookingRules(slot_minutes=60, step_minutes=30)), [])
    assert starts(found) == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert all(end - start == 3600 for start, end in found)


def test_buffers_keep_time_free_before_and_after_a_slot() -> None:
    meeting = busy(at(10, 30), at(11))
    plain = free_slots(query(BookingRules(slot_minutes=30)), [meeting])
    assert starts(plain) == ["09:00", "09:30", "10:00", "11:00", "11:30"]
    before = free_slots(query(BookingRules(slot_minutes=30, buffer_before_minutes=30)), [meeting])
    assert starts(before) == ["09:00", "09:30", "10:00", "11:30"]  # 11:00 starts right after it
    after = free_slots(query(BookingRules(slot_minutes=30, buffer_after_minutes=30)), [meeting])
    assert starts(after) == ["09:00", "09:30", "11:00", "11:30"]  # 10:00 ends right before it


def test_minimum_notice_and_horizon_cut_the_window() -> None:
    now = at(9, 10)
    noticed = free_slots(query(BookingRules(slot_minutes=30, minimum_notice_minutes=60), now=now), [])
    assert starts(noticed)[:2] == ["10:30", "11:00"]  # the first step at or after 10:10
    soon = free_slots(query(BookingRules(slot_minutes=30, horizon_days=1), now=at(10, day=6)), [])
    # a horizon of one day from Sunday 10:00: Monday's slots starting before 10:00
    assert starts(soon) == ["09:00", "09:30"]


def test_the_daily_cap_closes_a_full_day() -> None:
    rules = BookingRules(slot_minutes=60, daily_cap=2)
    assert free_slots(query(rules, booked={MONDAY: 2}), []) == []
    assert len(free_slots(query(rules, booked={MONDAY: 1}), [])) == 3


def test_a_cap_in_minutes_leaves_room_for_a_shorter_slot() -> None:
    minutes = SlotQuery(at(0), at(0, day=8), at(0, day=1), ZoneInfo("UTC"), NINE_TO_NOON,
                        BookingRules(slot_minutes=30, daily_cap_minutes=90), {MONDAY: 1}, {MONDAY: 60})
    assert len(free_slots(minutes, [])) == 6  # 60 + 30 <= 90
    assert free_slots(minutes, [], slot_seconds=3600) == []  # 60 + 60 > 90
    assert explain(replace(minutes, start=at(9), end=at(9, 30)), [])[0] == []
    assert [(r.kind, r.booked, r.limit) for r in explain(replace(minutes, start=at(9), end=at(10)), [])[0]] == [
        (ReasonKind.DAILY_CAP_MINUTES, 60, 90)
    ]


def test_the_weekly_cap_counts_monday_to_sunday() -> None:
    rules = BookingRules(slot_minutes=60, weekly_cap=1)
    # Sunday 6 January belongs to the week before; Wednesday 9 January to Monday 7's
    assert len(free_slots(query(rules, booked={date(2030, 1, 6): 3}), [])) == 3
    assert free_slots(query(rules, booked={date(2030, 1, 9): 1}), []) == []
    assert len(free_slots(query(rules, booked={date(2030, 1, 14): 1}), [])) == 3


def test_working_hours_are_wall_time_across_a_daylight_saving_change() -> None:
    # Europe/Berlin springs forward on Sunday 31 March 2030; hours on every day
    hours = WorkingHours({d: (Window(9 * 60, 10 * 60),) for d in range(7)})
    saturday, monday = datetime(2030, 3, 30, tzinfo=UTC), datetime(2030, 4, 1, tzinfo=UTC)
    now = int(saturday.timestamp())
    q = SlotQuery(now, int(monday.timestamp()), now, ZoneInfo("Europe/Berlin"), hours,
                  BookingRules(slot_minutes=60, horizon_days=730))
    found = [datetime.fromtimestamp(s, UTC) for s, _ in free_slots(q, [])]
    # 09:00 CET is 08:00 UTC; 09:00 CEST is 07:00 UTC
    assert found == [datetime(2030, 3, 30, 8, tzinfo=UTC), datetime(2030, 3, 31, 7, tzinfo=UTC)]


def test_explain_names_notice_horizon_cap_buffer_and_busy() -> None:
    rules = BookingRules(slot_minutes=30, minimum_notice_minutes=120, horizon_days=1, daily_cap=1,
                         buffer_after_minutes=30)
    near = busy(at(10), at(10, 30))
    reasons, _ = explain(
        SlotQuery(at(9, 30), at(10), at(9), ZoneInfo("UTC"), NINE_TO_NOON, rules, {MONDAY: 1}), [near]
    )
    assert [r.kind for r in reasons] == [ReasonKind.MINIMUM_NOTICE, ReasonKind.DAILY_CAP, ReasonKind.BUFFER]
    assert reasons[-1].busy == near
    far, _ = explain(SlotQuery(at(10, day=9), at(10, 30, day=9), at(9), ZoneInfo("UTC"), NINE_TO_NOON, rules), [])
    assert [r.kind for r in far] == [ReasonKind.BEYOND_HORIZON, ReasonKind.OUTSIDE_WORKING_HOURS]
    inside, _ = explain(SlotQuery(at(10, 15), at(10, 15), at(0, day=1), ZoneInfo("UTC"), NINE_TO_NOON,
                                  BookingRules(horizon_days=730)), [near])
    assert [r.kind for r in inside] == [ReasonKind.BUSY]


def test_the_slots_of_a_narrower_span_are_the_wider_spans_filtered() -> None:
    """Answers keep a window's slots regardless of notice and horizon and cut them
    to what is bookable now; that must equal working them out at ``now``."""
    rng = random.Random(7)
    hours = WorkingHours({d: (Window(8 * 60, 12 * 60), Window(13 * 60 + 15, 18 * 60)) for d in range(5)})
    for _ in range(300):
        rules = BookingRules(
            slot_minutes=rng.choice((15, 30, 45, 60)), step_minutes=rng.choice((0, 10, 15, 30)),
            buffer_before_minutes=rng.choice((0, 5, 15)), buffer_after_minutes=rng.choice((0, 10)),
            minimum_notice_minutes=rng.choice((0, 45, 600)), horizon_days=rng.choice((1, 3, 60)),
        )
        meetings = []
        for _ in range(rng.randrange(12)):
            start = at(0) + rng.randrange(7 * 96) * 900
            meetings.append(busy(start, start + rng.choice((900, 2700, 5400))))
        now = at(0) + rng.randrange(-2 * 86400, 8 * 86400, 300)
        q = query(rules, now=now, hours=hours, zone=rng.choice(("UTC", "Europe/Berlin", "America/New_York")))
        earliest, latest = bookable_span(q)
        wide = grid_slots(q, meetings, q.start, q.end)
        assert free_slots(q, meetings) == [s for s in wide if earliest <= s[0] < latest]


def test_booking_rules_stored_before_the_weekly_and_monthly_caps_replay_without_caps() -> None:
    """BookingRulesSet carries a mapping; events stored before the caps in minutes,
    per week and per month lack those keys and read as no cap."""
    app: Application[Any] = Application()
    configuration = CalendarConfiguration("loc-1", "u1")
    configuration.set_booking_rules(BookingRules(slot_minutes=45, daily_cap=3, weekly_cap=9))
    events = [app.mapper.to_stored_event(e) for e in configuration.collect_events()]
    state = app.mapper.transcoder.decode(events[-1].state)
    new_rules = ("daily_cap_minutes", "weekly_cap", "weekly_cap_minutes", "monthly_cap", "monthly_cap_minutes")
    state["booking_rules"] = {k: v for k, v in state["booking_rules"].items() if k not in new_rules}
    events[-1] = replace(events[-1], state=app.mapper.transcoder.encode(state))
    replayed = None
    for stored in events:
        replayed = app.mapper.to_domain_event(stored).mutate(replayed)
    assert isinstance(replayed, CalendarConfiguration)
    assert replayed.booking_rules == BookingRules(slot_minutes=45, daily_cap=3)
    assert replayed.booking_rules.capped  # the daily cap still holds
