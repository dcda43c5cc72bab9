"""The iCloud event translation against a corpus of real-world shaped resources.

Every expected time is worked out by hand from the local time in the file. Europe/
Berlin is UTC+1 (CET) until 29 March 2026 02:00 and UTC+2 (CEST) from then on. Every
expansion also goes through the normalised copy (``ParsedResource.ical``) and must
equal the expansion of the original resource.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.icloud.ical import ParsedResource, UnparsableResource, expand, parse_resource
from calendar_domain.busy import Occurrence

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "ical"
BERLIN = "Europe/Berlin"


def _data(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def _parse(name: str, default_tz: str = BERLIN) -> ParsedResource:
    return parse_resource(_data(name), default_tz=default_tz)


def _expand(name: str, start: datetime, end: datetime, default_tz: str = BERLIN) -> list[Occurrence]:
    parsed = _parse(name, default_tz)
    result = expand(parsed.ical, start, end, default_tz=default_tz)
    assert result == expand(_data(name).decode(), start, end, default_tz=default_tz)
    return result


def _slots(occurrences: list[Occurrence]) -> list[tuple[datetime, datetime, bool, bool]]:
    """(start, end, transparent, cancelled) of each occurrence."""
    return [(o.start, o.end, o.transparent, o.cancelled) for o in occurrences]


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_weekly_series_with_exdate() -> None:
    # Mondays 09:00-10:00 CET from 5 Jan 2026, 19 Jan excluded.
    found = _expand("weekly_exdate.ics", _utc(2026, 1, 5), _utc(2026, 1, 27))
    assert _slots(found) == [
        (datetime(2026, 1, 5, 8, 0, tzinfo=UTC), datetime(2026, 1, 5, 9, 0, tzinfo=UTC), False, False),
        (datetime(2026, 1, 12, 8, 0, tzinfo=UTC), datetime(2026, 1, 12, 9, 0, tzinfo=UTC), False, False),
        (datetime(2026, 1, 26, 8, 0, tzinfo=UTC), datetime(2026, 1, 26, 9, 0, tzinfo=UTC), False, False),
    ]
    assert [o.recurrence_id for o in found] == [
        "2026-01-05T08:00:00+00:00",
        "2026-01-12T08:00:00+00:00",
        "2026-01-26T08:00:00+00:00",
    ]


def test_moved_occurrence() -> None:
    # Tuesdays 14:00 CET; the one of Tue 10 Feb moved to Wed 11 Feb 16:00-17:00 CET.
    found = _expand("moved_occurrence.ics", _utc(2026, 2, 3), _utc(2026, 2, 18))
    assert _slots(found) == [
        (datetime(2026, 2, 3, 13, 0, tzinfo=UTC), datetime(2026, 2, 3, 14, 0, tzinfo=UTC), False, False),
        (datetime(2026, 2, 11, 15, 0, tzinfo=UTC), datetime(2026, 2, 11, 16, 0, tzinfo=UTC), False, False),
        (datetime(2026, 2, 17, 13, 0, tzinfo=UTC), datetime(2026, 2, 17, 14, 0, tzinfo=UTC), False, False),
    ]
    moved = found[1]
    assert moved.recurrence_id == "2026-02-10T13:00:00+00:00"  # Tue 14:00 CET, where it was
    assert (moved.summary, moved.location) == ("Team sync (moved)", "Room 2")
    assert (found[0].summary, found[0].location) == ("Team sync", "")


def test_cancelled_occurrence_is_kept_and_marked() -> None:
    # Daily 09:30-09:45 CET, 2-4 March 2026; the one of 3 March is STATUS:CANCELLED.
    found = _expand("cancelled_occurrence.ics", _utc(2026, 3, 1), _utc(2026, 3, 10))
    assert _slots(found) == [
        (datetime(2026, 3, 2, 8, 30, tzinfo=UTC), datetime(2026, 3, 2, 8, 45, tzinfo=UTC), False, False),
        (datetime(2026, 3, 3, 8, 30, tzinfo=UTC), datetime(2026, 3, 3, 8, 45, tzinfo=UTC), False, True),
        (datetime(2026, 3, 4, 8, 30, tzinfo=UTC), datetime(2026, 3, 4, 8, 45, tzinfo=UTC), False, False),
    ]
    assert found[1].recurrence_id == "2026-03-03T08:30:00+00:00"


def test_this_and_future_moves_and_lengthens_later_occurrences() -> None:
    # Wednesdays 10:00-11:00 CET; from 21 Jan on (RANGE=THISANDFUTURE) 12:00-13:30 CET.
    found = _expand("this_and_future.ics", _utc(2026, 1, 7), _utc(2026, 2, 5))
    assert _slots(found) == [
        (datetime(2026, 1, 7, 9, 0, tzinfo=UTC), datetime(2026, 1, 7, 10, 0, tzinfo=UTC), False, False),
        (datetime(2026, 1, 14, 9, 0, tzinfo=UTC), datetime(2026, 1, 14, 10, 0, tzinfo=UTC), False, False),
        (datetime(2026, 1, 21, 11, 0, tzinfo=UTC), datetime(2026, 1, 21, 12, 30, tzinfo=UTC), False, False),
        (datetime(2026, 1, 28, 11, 0, tzinfo=UTC), datetime(2026, 1, 28, 12, 30, tzinfo=UTC), False, False),
        (datetime(2026, 2, 4, 11, 0, tzinfo=UTC), datetime(2026, 2, 4, 12, 30, tzinfo=UTC), False, False),
    ]
    # Each keeps its own original start (10:00 CET) as RECURRENCE-ID.
    assert [o.recurrence_id for o in found] == [
        "2026-01-07T09:00:00+00:00",
        "2026-01-14T09:00:00+00:00",
        "2026-01-21T09:00:00+00:00",
        "2026-01-28T09:00:00+00:00",
        "2026-02-04T09:00:00+00:00",
    ]
    assert [o.summary for o in found] == ["Planning"] * 2 + ["Planning (new time)"] * 3


def test_exdate_in_utc_removes_the_zoned_occurrence() -> None:
    # Thursdays 09:00 CET; EXDATE:20260115T080000Z is 15 Jan 09:00 CET.
    found = _expand("exdate_utc.ics", _utc(2026, 1, 8), _utc(2026, 1, 23))
    assert _slots(found) == [
        (datetime(2026, 1, 8, 8, 0, tzinfo=UTC), datetime(2026, 1, 8, 9, 0, tzinfo=UTC), False, False),
        (datetime(2026, 1, 22, 8, 0, tzinfo=UTC), datetime(2026, 1, 22, 9, 0, tzinfo=UTC), False, False),
    ]


def test_recurrence_id_in_utc_replaces_the_zoned_occurrence() -> None:
    # Fridays 11:00 CET; RECURRENCE-ID:20260116T100000Z (= 11:00 CET) moved to 15:00 CET.
    found = _expand("recurrence_id_utc.ics", _utc(2026, 1, 9), _utc(2026, 1, 24))
    assert _slots(found) == [
        (datetime(2026, 1, 9, 10, 0, tzinfo=UTC), datetime(2026, 1, 9, 11, 0, tzinfo=UTC), False, False),
        (datetime(2026, 1, 16, 14, 0, tzinfo=UTC), datetime(2026, 1, 16, 15, 0, tzinfo=UTC), False, False),
        (datetime(2026, 1, 23, 10, 0, tzinfo=UTC), datetime(2026, 1, 23, 11, 0, tzinfo=UTC), False, False),
    ]
    assert found[1].recurrence_id == "2026-01-16T10:00:00+00:00"


def test_all_day_one_day() -> None:
    # 10 March 2026 in Berlin: 00:00 CET = 9 March 23:00 UTC, to 11 March 00:00 CET.
    found = _expand("all_day_one_day.ics", _utc(2026, 3, 1), _utc(2026, 4, 1))
    assert _slots(found) == [
        (datetime(2026, 3, 9, 23, 0, tzinfo=UTC), datetime(2026, 3, 10, 23, 0, tzinfo=UTC), False, False),
    ]
    assert found[0].all_day and found[0].recurrence_id == ""


def test_all_day_without_dtend_lasts_one_day() -> None:
    # DTSTART;VALUE=DATE:20260312 only: one day (RFC 5545 3.6.1), midnight CET to midnight.
    found = _expand("all_day_no_dtend.ics", _utc(2026, 3, 1), _utc(2026, 4, 1))
    assert _slots(found) == [
        (datetime(2026, 3, 11, 23, 0, tzinfo=UTC), datetime(2026, 3, 12, 23, 0, tzinfo=UTC), False, False),
    ]


def test_all_day_multi_day_spans_all_its_days() -> None:
    # 27-30 March (DTEND 31 March, exclusive): 27 March 00:00 CET to 31 March 00:00 CEST.
    found = _expand("all_day_multi_day.ics", _utc(2026, 3, 1), _utc(2026, 4, 1))
    assert _slots(found) == [
        (datetime(2026, 3, 26, 23, 0, tzinfo=UTC), datetime(2026, 3, 30, 22, 0, tzinfo=UTC), False, False),
    ]
    # A window on the 29th alone (a day in the middle) still finds it.
    assert _expand("all_day_multi_day.ics", _utc(2026, 3, 29, 12), _utc(2026, 3, 29, 13)) == found


def test_all_day_multi_day_without_dtend_uses_duration() -> None:
    # 6 April + P3D = 6-8 April: 6 April 00:00 CEST to 9 April 00:00 CEST.
    found = _expand("all_day_multi_day_duration.ics", _utc(2026, 4, 1), _utc(2026, 5, 1))
    assert _slots(found) == [
        (datetime(2026, 4, 5, 22, 0, tzinfo=UTC), datetime(2026, 4, 8, 22, 0, tzinfo=UTC), False, False),
    ]


def test_timed_event_without_dtend_lasts_zero_time() -> None:
    # DTSTART 20 March 17:00 CET, no DTEND/DURATION: an instant (RFC 5545 3.6.1).
    found = _expand("no_dtend_timed.ics", _utc(2026, 3, 20), _utc(2026, 3, 21))
    assert _slots(found) == [
        (datetime(2026, 3, 20, 16, 0, tzinfo=UTC), datetime(2026, 3, 20, 16, 0, tzinfo=UTC), False, False),
    ]


def test_floating_time_is_in_the_users_zone() -> None:
    # 15 April 09:00 floating: 09:00 CEST in Berlin, 09:00 EDT (UTC-4) in New York.
    berlin = _expand("floating.ics", _utc(2026, 4, 1), _utc(2026, 5, 1), default_tz=BERLIN)
    assert _slots(berlin) == [
        (datetime(2026, 4, 15, 7, 0, tzinfo=UTC), datetime(2026, 4, 15, 8, 0, tzinfo=UTC), False, False),
    ]
    new_york = _expand("floating.ics", _utc(2026, 4, 1), _utc(2026, 5, 1), default_tz="America/New_York")
    assert _slots(new_york) == [
        (datetime(2026, 4, 15, 13, 0, tzinfo=UTC), datetime(2026, 4, 15, 14, 0, tzinfo=UTC), False, False),
    ]


def test_x_wr_timezone_wins_over_the_users_zone() -> None:
    # X-WR-TIMEZONE:Asia/Tokyo (UTC+9): 15 April 09:00 JST is 00:00 UTC.
    found = _expand("floating_x_wr_timezone.ics", _utc(2026, 4, 1), _utc(2026, 5, 1), default_tz=BERLIN)
    assert _slots(found) == [
        (datetime(2026, 4, 15, 0, 0, tzinfo=UTC), datetime(2026, 4, 15, 1, 0, tzinfo=UTC), False, False),
    ]


def test_event_across_the_dst_change() -> None:
    # 29 March 01:30 CET (UTC+1) to 04:30 CEST (UTC+2): three hours on the clock, two real.
    found = _expand("dst_event.ics", _utc(2026, 3, 28), _utc(2026, 3, 30))
    assert _slots(found) == [
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 2, 30, tzinfo=UTC), False, False),
    ]


def test_weekly_series_keeps_local_time_across_dst() -> None:
    # Mondays 09:00-10:00 Berlin: 08:00 UTC in CET, 07:00 UTC in CEST from 30 March.
    found = _expand("weekly_across_dst.ics", _utc(2026, 3, 1), _utc(2026, 5, 1))
    assert _slots(found) == [
        (datetime(2026, 3, 16, 8, 0, tzinfo=UTC), datetime(2026, 3, 16, 9, 0, tzinfo=UTC), False, False),
        (datetime(2026, 3, 23, 8, 0, tzinfo=UTC), datetime(2026, 3, 23, 9, 0, tzinfo=UTC), False, False),
        (datetime(2026, 3, 30, 7, 0, tzinfo=UTC), datetime(2026, 3, 30, 8, 0, tzinfo=UTC), False, False),
        (datetime(2026, 4, 6, 7, 0, tzinfo=UTC), datetime(2026, 4, 6, 8, 0, tzinfo=UTC), False, False),
    ]


def test_windows_tzid_with_its_own_vtimezone() -> None:
    # "W. Europe Standard Time" (Outlook): Fridays 15:00 - 27 March CET, 3 April CEST.
    found = _expand("windows_tzid.ics", _utc(2026, 3, 1), _utc(2026, 5, 1))
    assert _slots(found) == [
        (datetime(2026, 3, 27, 14, 0, tzinfo=UTC), datetime(2026, 3, 27, 15, 0, tzinfo=UTC), False, False),
        (datetime(2026, 4, 3, 13, 0, tzinfo=UTC), datetime(2026, 4, 3, 14, 0, tzinfo=UTC), False, False),
    ]


def test_a_custom_tzid_uses_this_resources_vtimezone_not_one_seen_before() -> None:
    # Both define TZID "Office Time": +01:00 in one, +05:00 in the other. icalendar
    # caches the first definition process-wide; each resource must use its own.
    first = _expand("custom_tzid_plus1.ics", _utc(2026, 7, 1), _utc(2026, 7, 2))
    second = _expand("custom_tzid_plus5.ics", _utc(2026, 7, 1), _utc(2026, 7, 2))
    # 1 July 09:00+01:00 = 08:00 UTC; 09:00+05:00 = 04:00 UTC.
    assert _slots(first) == [
        (datetime(2026, 7, 1, 8, 0, tzinfo=UTC), datetime(2026, 7, 1, 9, 0, tzinfo=UTC), False, False),
    ]
    assert _slots(second) == [
        (datetime(2026, 7, 1, 4, 0, tzinfo=UTC), datetime(2026, 7, 1, 5, 0, tzinfo=UTC), False, False),
    ]


def test_transparent_series_with_an_opaque_override() -> None:
    # Daily 12:00-13:00 CEST, 1-3 June, TRANSPARENT; the 2 June override is OPAQUE.
    found = _expand("transparent.ics", _utc(2026, 6, 1), _utc(2026, 6, 4))
    assert _slots(found) == [
        (datetime(2026, 6, 1, 10, 0, tzinfo=UTC), datetime(2026, 6, 1, 11, 0, tzinfo=UTC), True, False),
        (datetime(2026, 6, 2, 10, 0, tzinfo=UTC), datetime(2026, 6, 2, 11, 0, tzinfo=UTC), False, False),
        (datetime(2026, 6, 3, 10, 0, tzinfo=UTC), datetime(2026, 6, 3, 11, 0, tzinfo=UTC), True, False),
    ]


def test_cancelled_event() -> None:
    # 3 June 16:00-17:00 CEST, STATUS:CANCELLED.
    found = _expand("cancelled.ics", _utc(2026, 6, 1), _utc(2026, 6, 30))
    assert _slots(found) == [
        (datetime(2026, 6, 3, 14, 0, tzinfo=UTC), datetime(2026, 6, 3, 15, 0, tzinfo=UTC), False, True),
    ]


def test_apple_event_with_x_apple_properties() -> None:
    # iPhone-written, folded lines, structured location, travel time, two VALARMs.
    # 12 March 10:30-11:30 CET (travel time is not part of the event).
    found = _expand("apple_event.ics", _utc(2026, 3, 12), _utc(2026, 3, 13))
    assert _slots(found) == [
        (datetime(2026, 3, 12, 9, 30, tzinfo=UTC), datetime(2026, 3, 12, 10, 30, tzinfo=UTC), False, False),
    ]
    assert found[0].summary == "Coffee with Anna"
    assert found[0].location == "Alexanderplatz\nAlexanderplatz 1, 10178 Berlin, Germany"
    assert found[0].uid == "6B6F0E9A-3C2D-4E8B-9F0A-1D2C3B4A5E6F"


def test_series_from_1990_still_occurs_in_2030() -> None:
    # Mondays 08:00-08:30 Berlin since Mon 1 Jan 1990; Mon 7 Jan 2030 08:00 CET.
    started = time.perf_counter()
    found = _expand("series_1990.ics", _utc(2030, 1, 7), _utc(2030, 1, 14))
    elapsed = time.perf_counter() - started
    assert _slots(found) == [
        (datetime(2030, 1, 7, 7, 0, tzinfo=UTC), datetime(2030, 1, 7, 7, 30, tzinfo=UTC), False, False),
    ]
    assert found[0].recurrence_id == "2030-01-07T07:00:00+00:00"
    assert elapsed < 2.0  # measured: ~15 ms per expansion, ~60 ms with the parse


def test_rdate_adds_occurrences() -> None:
    # 4 May 10:00 CEST plus RDATEs 6 May 15:00 and 8 May 09:00 CEST, one hour each.
    found = _expand("rdate.ics", _utc(2026, 5, 1), _utc(2026, 5, 31))
    assert _slots(found) == [
        (datetime(2026, 5, 4, 8, 0, tzinfo=UTC), datetime(2026, 5, 4, 9, 0, tzinfo=UTC), False, False),
        (datetime(2026, 5, 6, 13, 0, tzinfo=UTC), datetime(2026, 5, 6, 14, 0, tzinfo=UTC), False, False),
        (datetime(2026, 5, 8, 7, 0, tzinfo=UTC), datetime(2026, 5, 8, 8, 0, tzinfo=UTC), False, False),
    ]


def test_window_bounds_are_half_open() -> None:
    # The 09:00-10:00 CET occurrence of 5 Jan is 08:00-09:00 UTC.
    assert _expand("weekly_exdate.ics", _utc(2026, 1, 5, 9), _utc(2026, 1, 12, 8)) == []
    assert len(_expand("weekly_exdate.ics", _utc(2026, 1, 5, 8, 59), _utc(2026, 1, 12, 8, 1))) == 2


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("malformed_not_ical.ics", "not iCalendar"),
        ("malformed_vtodo_only.ics", "no VEVENT"),
        ("malformed_two_uids.ics", "several UIDs"),
        ("malformed_no_dtstart.ics", "no DTSTART"),
        ("malformed_bad_rrule.ics", "RRULE"),
        ("malformed_unknown_tzid.ics", "Mars/Olympus_Mons"),
    ],
)
def test_malformed_resources_are_rejected_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(UnparsableResource) as raised:
        _parse(name)
    assert reason in raised.value.reason
    with pytest.raises(UnparsableResource):
        expand(_data(name).decode(errors="replace"), _utc(2026, 1, 1), _utc(2027, 1, 1), default_tz=BERLIN)


def test_normalised_ical_drops_attendees_organizer_and_alarms() -> None:
    parsed = _parse("apple_event.ics")
    original = _data("apple_event.ics").decode()
    for private in ("ATTENDEE", "ORGANIZER", "BEGIN:VALARM", "mailto:"):
        assert private in original
        assert private not in parsed.ical
    assert "TZID:Europe/Berlin" in parsed.ical and "X-APPLE-STRUCTURED-LOCATION" in parsed.ical
    window = (_utc(2026, 1, 1), _utc(2027, 1, 1))
    assert expand(parsed.ical, *window, default_tz=BERLIN) == expand(original, *window, default_tz=BERLIN)
    # Only the VTIMEZONEs the events use stay; X-WR-TIMEZONE stays.
    windows = _parse("windows_tzid.ics").ical
    assert "W. Europe Standard Time" in windows and "Pacific Standard Time" not in windows
    assert "X-WR-TIMEZONE:Asia/Tokyo" in _parse("floating_x_wr_timezone.ics").ical


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in CORPUS.glob("*.ics") if not p.name.startswith("malformed_")),
)
def test_normalised_ical_expands_like_the_original(name: str) -> None:
    parsed = _parse(name)
    window = (_utc(1989, 1, 1), _utc(2031, 1, 1))
    assert expand(parsed.ical, *window, default_tz=BERLIN) == expand(
        _data(name).decode(), *window, default_tz=BERLIN
    )
    assert parse_resource(parsed.ical, default_tz=BERLIN) == parsed  # normalising is stable


def test_parsed_resource_describes_the_event() -> None:
    weekly = _parse("weekly_across_dst.ics")
    assert (weekly.uid, weekly.summary, weekly.recurring, weekly.all_day) == (
        "weekly-dst@example.com", "Monday 1:1", True, False,
    )
    # First: 16 March 09:00 CET; last (COUNT=4): 6 April 10:00 CEST end.
    assert weekly.first_start == datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
    assert weekly.last_end == datetime(2026, 4, 6, 8, 0, tzinfo=UTC)
    assert _parse("weekly_exdate.ics").last_end is None  # no COUNT, no UNTIL
    # The series moved on 21 Jan: first 7 Jan 10:00 CET; never ends.
    future = _parse("this_and_future.ics")
    assert (future.first_start, future.last_end) == (datetime(2026, 1, 7, 9, 0, tzinfo=UTC), None)
    apple = _parse("apple_event.ics")
    assert (apple.recurring, apple.location) == (False, "Alexanderplatz\nAlexanderplatz 1, 10178 Berlin, Germany")
    assert (apple.first_start, apple.last_end) == (
        datetime(2026, 3, 12, 9, 30, tzinfo=UTC), datetime(2026, 3, 12, 10, 30, tzinfo=UTC),
    )
    multi = _parse("all_day_multi_day.ics")
    assert multi.all_day and (multi.first_start, multi.last_end) == (
        datetime(2026, 3, 26, 23, 0, tzinfo=UTC), datetime(2026, 3, 30, 22, 0, tzinfo=UTC),
    )
    # The last (third) stand-up is 4 March 09:30-09:45 CET.
    assert _parse("cancelled_occurrence.ics").last_end == datetime(2026, 3, 4, 8, 45, tzinfo=UTC)
    # RDATE 8 May 09:00-10:00 CEST is the last.
    assert _parse("rdate.ics").last_end == datetime(2026, 5, 8, 8, 0, tzinfo=UTC)
