"""The iCalendar text an appointment is written as."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar

from adapters.icloud.writer import render, resource_href, revision_of
from calendar_domain.bookings import appointment_uid

RECORD = {
    "start": datetime(2030, 3, 4, 10, tzinfo=UTC).isoformat(),
    "end": datetime(2030, 3, 4, 11, tzinfo=UTC).isoformat(),
    "title": "Visit; with, commas",
    "description": "Line one\nLine two",
    "location": "",
    "attendees": [{"email": "a@example.com", "name": "A"}, {"email": "b@example.com", "name": ""}],
    "revision": 3,
}


def test_every_write_has_an_end_its_uid_its_revision_and_no_invitations() -> None:
    text = render("appt-1", RECORD, organizer="owner@example.com")
    [event] = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert str(event["UID"]) == appointment_uid("appt-1")
    assert event.decoded("DTSTART") == datetime(2030, 3, 4, 10, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2030, 3, 4, 11, tzinfo=UTC)  # iCloud refuses a PUT without it
    assert str(event["SUMMARY"]) == RECORD["title"] and str(event["DESCRIPTION"]) == RECORD["description"]
    assert "LOCATION" not in event and int(event["SEQUENCE"]) == 2
    attendees = event["ATTENDEE"]
    assert [str(a) for a in attendees] == ["mailto:a@example.com", "mailto:b@example.com"]
    assert all(a.params["SCHEDULE-AGENT"] == "CLIENT" for a in attendees)
    organizer = event["ORGANIZER"]  # RFC 5545 3.8.4.3: required beside attendees
    assert str(organizer) == "mailto:owner@example.com" and organizer.params["SCHEDULE-AGENT"] == "CLIENT"
    assert revision_of(text) == 3
    assert revision_of("not iCalendar") == 0


def test_the_resource_name_sits_in_the_calendar_collection() -> None:
    assert resource_href("/u/home/", "x.ics") == "/u/home/x.ics"
    assert resource_href("/u/home", "x.ics") == "/u/home/x.ics"
    assert resource_href("/u/my%20cal/", "x.ics") == "/u/my%20cal/x.ics"


def test_an_event_without_attendees_names_no_organizer() -> None:
    [event] = icalendar.Calendar.from_ical(
        render("appt-2", {**RECORD, "attendees": []}, organizer="owner@example.com")
    ).walk("VEVENT")
    assert "ORGANIZER" not in event and "ATTENDEE" not in event
