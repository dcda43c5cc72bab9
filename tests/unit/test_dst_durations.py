"""Exact durations across daylight-saving changes (RFC 5545 3.3.6 and 3.8.5.3).

A DURATION's hours, minutes and seconds are real time, its days and weeks local
days; every instance of a series with DTEND lasts the master's exact length. Every
expected instant is worked out by hand from the zones' rules for 2026:
- Europe/Berlin: CET (UTC+1) to CEST (UTC+2) on 29 March at 02:00; back on 25
  October at 03:00 CEST.
- America/New_York: EST (UTC-5) to EDT (UTC-4) on 8 March at 02:00; back on
  1 November at 02:00 EDT.
- Australia/Sydney: AEDT (UTC+11) to AEST (UTC+10) on 5 April at 03:00; back to AEDT
  on 4 October at 02:00 AEST.
Each resource is expanded on its own, through the normalised copy, and described
by parse_resource (whose single events take the direct path): all must agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.icloud.ical import expand, parse_resource, parse_resource_general

WINDOW = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def _z(text: str) -> datetime:
    """A UTC instant from its ISO form, 'YYYY-MM-DDTHH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _ics(*lines: str, overrides: tuple[tuple[str, ...], ...] = ()) -> str:
    events = [("BEGIN:VEVENT", "UID:dst", "DTSTAMP:20260101T000000Z", *lines, "END:VEVENT")]
    events += [("BEGIN:VEVENT", "UID:dst", "DTSTAMP:20260101T000000Z", *o, "END:VEVENT") for o in overrides]
    body = "\r\n".join(line for event in events for line in event)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}\r\nEND:VCALENDAR\r\n"


def _spans(
    ics: str, start: datetime = WINDOW[0], end: datetime = WINDOW[1], zone: str = "UTC"
) -> list[tuple[datetime, datetime]]:
    """(start, end) of each occurrence; ``zone``: the user's, for dates and floating times."""
    found = [(o.start, o.end) for o in expand(ics, start, end, default_tz=zone)]
    for parsed in (parse_resource(ics, default_tz=zone, span=WINDOW), parse_resource_general(ics, default_tz=zone, span=WINDOW)):
        assert [(o.start, o.end) for o in expand(parsed.ical, start, end, default_tz=zone)] == found
        if start == WINDOW[0]:
            assert [(o.start, o.end) for o in parsed.occurrences] == found
            assert (parsed.first_start, parsed.last_end) == (found[0][0], max(e for _, e in found))
    return found


SINGLE_DURATIONS = [
    # zone, local start, DURATION, UTC start, UTC end
    ("Europe/Berlin", "20260329T010000", "PT3H", "2026-03-29T00:00", "2026-03-29T03:00"),  # spring forward
    ("Europe/Berlin", "20261025T010000", "PT3H", "2026-10-24T23:00", "2026-10-25T02:00"),  # fall back
    ("America/New_York", "20260308T003000", "PT3H", "2026-03-08T05:30", "2026-03-08T08:30"),
    ("America/New_York", "20261101T003000", "PT3H", "2026-11-01T04:30", "2026-11-01T07:30"),
    ("Australia/Sydney", "20260405T010000", "PT3H", "2026-04-04T14:00", "2026-04-04T17:00"),  # fall back
    ("Australia/Sydney", "20261004T010000", "PT3H", "2026-10-03T15:00", "2026-10-03T18:00"),  # spring forward
    ("Europe/Berlin", "20260329T013000", "PT45M", "2026-03-29T00:30", "2026-03-29T01:15"),  # ends in the gap
    # days are local days: 23 and 25 real hours
    ("Europe/Berlin", "20260328T120000", "P1D", "2026-03-28T11:00", "2026-03-29T10:00"),
    ("Europe/Berlin", "20261024T120000", "P1D", "2026-10-24T10:00", "2026-10-25T11:00"),
    ("America/New_York", "20260307T090000", "P1W", "2026-03-07T14:00", "2026-03-14T13:00"),
    # a local day, then real hours
    ("Europe/Berlin", "20260328T120000", "P1DT1H", "2026-03-28T11:00", "2026-03-29T11:00"),
    ("Australia/Sydney", "20260404T230000", "P1DT3H", "2026-04-04T12:00", "2026-04-05T16:00"),
]


@pytest.mark.parametrize(("zone", "local", "duration", "start", "end"), SINGLE_DURATIONS)
def test_a_single_event_with_a_duration_ends_at_the_exact_instant(
    zone: str, local: str, duration: str, start: str, end: str
) -> None:
    ics = _ics(f"DTSTART;TZID={zone}:{local}", f"DURATION:{duration}")
    assert _spans(ics) == [(_z(start), _z(end))]


@pytest.mark.parametrize(
    ("dtstart", "dtend", "start", "end"),
    [
        # DTEND in another zone than DTSTART: each is an instant of its own
        ("DTSTART;TZID=Europe/Berlin:20260329T010000", "DTEND:20260329T030000Z", "2026-03-29T00:00", "2026-03-29T03:00"),
        ("DTSTART;TZID=America/New_York:20261101T000000", "DTEND;TZID=Europe/Berlin:20261101T070000",
         "2026-11-01T04:00", "2026-11-01T06:00"),
        # DTEND in the same zone across the change: 01:00 CET to 04:00 CEST is two hours
        ("DTSTART;TZID=Europe/Berlin:20260329T010000", "DTEND;TZID=Europe/Berlin:20260329T040000",
         "2026-03-29T00:00", "2026-03-29T02:00"),
        # 00:00 EDT to 03:00 EST is four hours
        ("DTSTART;TZID=America/New_York:20261101T000000", "DTEND;TZID=America/New_York:20261101T030000",
         "2026-11-01T04:00", "2026-11-01T08:00"),
    ],
)
def test_a_single_event_with_dtend_ends_at_its_dtend(dtstart: str, dtend: str, start: str, end: str) -> None:
    assert _spans(_ics(dtstart, dtend)) == [(_z(start), _z(end))]


def test_every_occurrence_of_a_series_with_a_duration_lasts_the_real_hours() -> None:
    ics = _ics("DTSTART;TZID=Europe/Berlin:20260322T010000", "DURATION:PT3H", "RRULE:FREQ=WEEKLY;COUNT=3")
    assert _spans(ics) == [
        (_z("2026-03-22T00:00"), _z("2026-03-22T03:00")),
        (_z("2026-03-29T00:00"), _z("2026-03-29T03:00")),  # the wall clock says 01:00-05:00
        (_z("2026-04-04T23:00"), _z("2026-04-05T02:00")),
    ]
    fall_back = _ics("DTSTART;TZID=America/New_York:20261031T003000", "DURATION:PT3H", "RRULE:FREQ=DAILY;COUNT=2")
    assert _spans(fall_back) == [
        (_z("2026-10-31T04:30"), _z("2026-10-31T07:30")),
        (_z("2026-11-01T04:30"), _z("2026-11-01T07:30")),  # the wall clock says 00:30-02:30
    ]


def test_a_daily_series_of_one_day_each_lasts_23_and_25_hours_on_the_change_days() -> None:
    ics = _ics("DTSTART;TZID=Australia/Sydney:20261003T120000", "DURATION:P1D", "RRULE:FREQ=DAILY;COUNT=2")
    assert _spans(ics) == [
        (_z("2026-10-03T02:00"), _z("2026-10-04T01:00")),  # 23 hours: 4 October skips 02:00-03:00
        (_z("2026-10-04T01:00"), _z("2026-10-05T01:00")),
    ]


def test_every_occurrence_of_a_series_with_dtend_lasts_the_masters_exact_length() -> None:
    # RFC 5545 3.8.5.3: DTEND gives every instance the same exact duration (3 hours)
    same_zone = _ics(
        "DTSTART;TZID=Europe/Berlin:20261018T010000", "DTEND;TZID=Europe/Berlin:20261018T040000",
        "RRULE:FREQ=WEEKLY;COUNT=3",
    )
    assert _spans(same_zone) == [
        (_z("2026-10-17T23:00"), _z("2026-10-18T02:00")),
        (_z("2026-10-24T23:00"), _z("2026-10-25T02:00")),  # the wall clock says 01:00-03:00 CET
        (_z("2026-11-01T00:00"), _z("2026-11-01T03:00")),
    ]
    other_zone = _ics(
        "DTSTART;TZID=America/New_York:20260307T003000", "DTEND:20260307T083000Z", "RRULE:FREQ=DAILY;COUNT=2",
    )
    assert _spans(other_zone) == [
        (_z("2026-03-07T05:30"), _z("2026-03-07T08:30")),
        (_z("2026-03-08T05:30"), _z("2026-03-08T08:30")),
    ]


def test_a_moved_occurrence_with_a_duration_of_its_own_lasts_the_real_hours() -> None:
    ics = _ics(
        "DTSTART;TZID=Europe/Berlin:20260322T090000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=2",
        overrides=((
            "RECURRENCE-ID;TZID=Europe/Berlin:20260329T090000",
            "DTSTART;TZID=Europe/Berlin:20260329T013000", "DURATION:PT2H",
        ),),
    )
    assert _spans(ics) == [
        (_z("2026-03-22T08:00"), _z("2026-03-22T09:00")),
        (_z("2026-03-29T00:30"), _z("2026-03-29T02:30")),
    ]


def test_an_occurrence_whose_real_end_is_past_its_wall_clock_end_is_found_from_there() -> None:
    # 01:00 CET + PT3H: the wall clock would end it at 02:00Z; it lasts until 03:00Z
    ics = _ics("DTSTART;TZID=Europe/Berlin:20260322T010000", "DURATION:PT3H", "RRULE:FREQ=WEEKLY;COUNT=2")
    assert _spans(ics, _z("2026-03-29T02:30"), _z("2026-03-29T04:00")) == [
        (_z("2026-03-29T00:00"), _z("2026-03-29T03:00")),
    ]


def test_an_rdate_period_keeps_its_own_end_and_its_own_exact_length() -> None:
    ics = _ics(
        "DTSTART;TZID=Europe/Berlin:20260322T090000", "DURATION:PT1H",
        "RDATE;VALUE=PERIOD;TZID=Europe/Berlin:20260329T010000/PT3H,20260405T100000/20260405T120000",
    )
    assert _spans(ics) == [
        (_z("2026-03-22T08:00"), _z("2026-03-22T09:00")),
        (_z("2026-03-29T00:00"), _z("2026-03-29T03:00")),
        (_z("2026-04-05T08:00"), _z("2026-04-05T10:00")),
    ]


@pytest.mark.parametrize(
    ("lines", "zone", "spans"),
    [
        # an all-day event is the user's local day: 23 hours in spring, 25 in autumn
        (("DTSTART;VALUE=DATE:20260329",), "Europe/Berlin", [("2026-03-28T23:00", "2026-03-29T22:00")]),
        (("DTSTART;VALUE=DATE:20261025", "DURATION:P1D"), "Europe/Berlin", [("2026-10-24T22:00", "2026-10-25T23:00")]),
        (("DTSTART;VALUE=DATE:20261101", "DTEND;VALUE=DATE:20261102"), "America/New_York",
         [("2026-11-01T04:00", "2026-11-02T05:00")]),
        # weekly all-day in Sydney: the second one is the 25-hour day of 5 April
        (("DTSTART;VALUE=DATE:20260329", "DTEND;VALUE=DATE:20260330", "RRULE:FREQ=WEEKLY;COUNT=2"), "Australia/Sydney",
         [("2026-03-28T13:00", "2026-03-29T13:00"), ("2026-04-04T13:00", "2026-04-05T14:00")]),
    ],
)
def test_all_day_events_span_the_users_local_days(lines: tuple[str, ...], zone: str, spans: list[tuple[str, str]]) -> None:
    assert _spans(_ics(*lines), zone=zone) == [(_z(start), _z(end)) for start, end in spans]
