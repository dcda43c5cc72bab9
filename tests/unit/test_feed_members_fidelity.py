"""A feed's members read as the feed does: the time zones its events name (also
under a TZID the serialiser quotes), the feed's own X-WR-TIMEZONE for floating
times, and an etag that does not move when only the feed's DTSTAMP does."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.feeds.members import feed_members
from adapters.icloud.resources import imported_series
from calendar_domain.schedule import ImportedSeries

FETCHED = datetime(2029, 12, 1, tzinfo=UTC)


def _only(body: bytes, zone: str = "America/New_York") -> ImportedSeries:
    [(href, (etag, text))] = feed_members(body, "/feeds/x/", "feeds.example").members.items()
    series = imported_series(href, etag, text, zone, FETCHED)
    assert isinstance(series, ImportedSeries), series
    return series


# Exchange names zones like this: the comma and colon make the serialiser quote the TZID.
EXCHANGE_ZONE = "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"
QUOTED = f"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r
BEGIN:VTIMEZONE\r
TZID:{EXCHANGE_ZONE}\r
BEGIN:STANDARD\r
DTSTART:16011028T030000\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:16010325T020000\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
END:DAYLIGHT\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:board\r
DTSTAMP:20291101T000000Z\r
DTSTART;TZID="{EXCHANGE_ZONE}":20300115T100000\r
DTEND;TZID="{EXCHANGE_ZONE}":20300115T110000\r
SUMMARY:Board\r
END:VEVENT\r
END:VCALENDAR\r
""".encode()


def test_an_event_in_a_zone_whose_tzid_is_quoted_keeps_its_vtimezone() -> None:
    series = _only(QUOTED)
    assert series.first_start == datetime(2030, 1, 15, 9, 0, tzinfo=UTC)  # 10:00 at +01:00


FLOATING = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Feeds//EN\r
X-WR-TIMEZONE:Europe/Berlin\r
BEGIN:VEVENT\r
UID:standup\r
DTSTAMP:20291101T000000Z\r
DTSTART:20300115T100000\r
DTEND:20300115T110000\r
SUMMARY:Stand-up\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_floating_times_are_read_in_the_feeds_x_wr_timezone_not_the_users_zone() -> None:
    series = _only(FLOATING, zone="America/New_York")
    assert series.first_start == datetime(2030, 1, 15, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


def test_an_event_keeps_its_etag_when_the_feed_only_stamps_a_new_dtstamp() -> None:
    """Many feed servers write DTSTAMP as the time of the request: every poll would
    otherwise record every event of the feed as updated (and an event without a
    UID as deleted and imported again)."""
    no_uid = FLOATING.replace(b"UID:standup\r\n", b"")
    for body in (FLOATING, no_uid):
        before = feed_members(body, "/f/", "h").members
        after = feed_members(body.replace(b"DTSTAMP:20291101T000000Z", b"DTSTAMP:20291101T000500Z"), "/f/", "h").members
        assert {h: etag for h, (etag, _) in before.items()} == {h: etag for h, (etag, _) in after.items()}


def test_two_events_with_one_uid_both_block() -> None:
    """A careless feed gives two different events one UID (a CalDAV server would not
    keep them in one resource): each must block, not only the first."""
    def event(day: int) -> bytes:
        return (
            f"BEGIN:VEVENT\r\nUID:booking\r\nDTSTAMP:20291101T000000Z\r\nDTSTART:203001{day:02d}T100000Z\r\n"
            f"DTEND:203001{day:02d}T110000Z\r\nSUMMARY:Booked\r\nEND:VEVENT\r\n"
        ).encode()

    body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + event(1) + event(2) + b"END:VCALENDAR\r\n"
    members = feed_members(body, "/f/", "h").members
    starts = set()
    for href, (etag, text) in members.items():
        series = imported_series(href, etag, text, "UTC", FETCHED)
        assert isinstance(series, ImportedSeries)
        starts |= {occurrence[0] for occurrence in series.occurrences}
    assert starts == {int(datetime(2030, 1, day, 10, tzinfo=UTC).timestamp()) for day in (1, 2)}
