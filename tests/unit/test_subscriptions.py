"""Subscribed calendars in the domain and the feed's cut into members: connections
recorded before feeds read as iCloud ones, and a feed becomes one member per
UID whose etag moves only when that event's text does."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from eventsourcing.application import Application

from adapters.feeds.members import NotAFeed, feed_members
from calendar_domain.connection import CalendarKind, ConnectedCalendar, Connection, ConnectionKind


def _connection(**extra: str) -> Connection:
    return Connection(
        sub_account_id="loc-1", user_id="u1", apple_id="" if extra else "jane@example.com",
        account_id=uuid.uuid4(), credential_ref="ref", request_id="", **extra,
    )


def test_connections_recorded_before_feeds_read_as_icloud_connections() -> None:
    """Version 1 of Connection.Connected had neither ``kind`` nor ``source``."""
    app: Application[Any] = Application()
    [stored] = [app.mapper.to_stored_event(e) for e in _connection().collect_events()]
    state = app.mapper.transcoder.decode(stored.state)
    assert (state.pop("kind"), state.pop("source"), state.pop("class_version")) == ("icloud", "", 2)
    first_shape = replace(stored, state=app.mapper.transcoder.encode(state))
    event = app.mapper.to_domain_event(first_shape)
    assert (event.kind, event.source) == ("icloud", "")  # type: ignore[attr-defined]
    rebuilt = event.mutate(None)  # type: ignore[attr-defined]
    assert rebuilt.kind is ConnectionKind.ICLOUD and not rebuilt.is_feed


def test_a_feed_connection_says_so_and_calendars_recorded_before_kinds_are_event_calendars() -> None:
    feed = _connection(kind="feed", source="feeds.example")
    assert feed.is_feed and feed.source == "feeds.example"
    old = ConnectedCalendar.from_payload(
        {"calendar_id": "c", "href": "/h/", "display_name": "Home", "color": "", "writable": True}
    )
    assert old.kind == CalendarKind.EVENTS.value and not old.is_subscription and old.source == ""


FEED = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Feeds//EN\r
X-WR-CALNAME:Holidays\r
BEGIN:VTIMEZONE\r
TZID:Europe/Berlin\r
BEGIN:STANDARD\r
DTSTART:19701025T030000\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
END:STANDARD\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:weekly\r
DTSTAMP:20260101T000000Z\r
DTSTART;TZID=Europe/Berlin:20261207T090000\r
DTEND;TZID=Europe/Berlin:20261207T100000\r
RRULE:FREQ=WEEKLY\r
SUMMARY:Weekly\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly\r
RECURRENCE-ID;TZID=Europe/Berlin:20261214T090000\r
DTSTAMP:20260101T000000Z\r
DTSTART;TZID=Europe/Berlin:20261214T110000\r
DTEND;TZID=Europe/Berlin:20261214T120000\r
SUMMARY:Weekly (moved)\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:holiday\r
DTSTAMP:20260101T000000Z\r
DTSTART;VALUE=DATE:20261225\r
SUMMARY:Christmas\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTAMP:20260101T000000Z\r
DTSTART:20261231T100000Z\r
SUMMARY:No UID\r
END:VEVENT\r
BEGIN:VTODO\r
UID:todo\r
SUMMARY:Not an event\r
END:VTODO\r
END:VCALENDAR\r
"""


def test_a_feed_is_cut_into_one_member_per_uid_with_its_overrides_and_the_zones_it_uses() -> None:
    feed = feed_members(FEED, "/feeds/x/", "feeds.example")
    assert feed.name == "Holidays"
    texts = sorted(text for _, text in feed.members.values())
    assert len(texts) == 3  # weekly (master and override), the holiday, the event without a UID; no VTODO
    [weekly] = [t for t in texts if "UID:weekly" in t]
    assert weekly.count("BEGIN:VEVENT") == 2 and "BEGIN:VTIMEZONE" in weekly
    [holiday] = [t for t in texts if "Christmas" in t]
    assert "VTIMEZONE" not in holiday  # it names no zone
    assert all(href.startswith("/feeds/x/") and href.endswith(".ics") for href in feed.members)
    # the same feed again: the same members and etags (nothing would be recorded)
    assert feed_members(FEED, "/feeds/x/", "feeds.example").members == feed.members


def test_an_event_that_changes_moves_only_its_own_etag() -> None:
    before = feed_members(FEED, "/f/", "h").members
    after = feed_members(FEED.replace(b"SUMMARY:Christmas", b"SUMMARY:Christmas Day"), "/f/", "h").members
    assert set(before) == set(after)
    moved = {href for href in before if before[href][0] != after[href][0]}
    assert len(moved) == 1 and "Christmas Day" in after[moved.pop()][1]


@pytest.mark.parametrize("body", [
    b"<html><body>Sign in</body></html>", b"", b"\x00\x01\x02garbage", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n",
])
def test_what_is_not_icalendar_is_refused_naming_the_host_only(body: bytes) -> None:
    with pytest.raises(NotAFeed) as refused:
        feed_members(body, "/f/", "feeds.example:8443")
    assert "feeds.example:8443" in refused.value.message
