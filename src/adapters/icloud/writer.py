"""Writes appointments to a CalDAV calendar, the way iCloud wants them.

- Create with ``If-None-Match: *`` (iCloud's ``If-Match: *`` behaves inverted):
  a retried create never makes a second copy; a 412 means an earlier attempt
  already wrote it, and it is found by its resource name or, failing that, by UID.
- Update with ``If-Match: "<etag>"``; a 412 means someone changed it since.
- Every event has DTSTART and DTEND (iCloud refuses a PUT without an end).
- Attendees carry ``SCHEDULE-AGENT=CLIENT``, so the server sends no invitations; an
  event with attendees names the account's owner as ORGANIZER (RFC 5545 3.8.4.3),
  with ``SCHEDULE-AGENT=CLIENT`` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import urljoin

import icalendar
from caldav.collection import Calendar
from caldav.lib import error

from adapters.icloud.dav import CalDAVAccount, canonical_path, check_status, origin, translated_errors
from calendar_domain.bookings import appointment_uid, record_span
from calendar_domain.errors import ProviderProtocolError, ProviderUnavailable

REVISION_PROPERTY = "X-CALENDAR-INTEGRATION-REVISION"
PRODID = "-//calendar-integration//appointments//EN"


class AlreadyThere(Exception):
    """A create found a resource at the name (an earlier attempt wrote it)."""


class ChangedSince(Exception):
    """An update's ETag no longer matches: someone changed the event since."""


class Gone(Exception):
    """The resource is not there (any more)."""


class Refused(ProviderProtocolError):
    """The server refused the write for good (a 4xx other than a precondition)."""

    reason = "WRITE_REFUSED"


@dataclass(frozen=True)
class Stored:
    """An event as the calendar holds it."""

    href: str  # canonical path
    etag: str
    revision: int  # ours, from the event; 0 when it has none


def render(appointment_id: str, record: dict[str, Any], stamp: datetime | None = None, organizer: str = "") -> str:
    """The iCalendar text of an appointment's current revision. ``organizer``: the
    address of the calendar's owner (the connected Apple ID)."""
    start, end = record_span(record)
    event = icalendar.Event()
    event.add("uid", appointment_uid(appointment_id))
    event.add("dtstamp", (stamp or datetime.now(UTC)).replace(microsecond=0))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", record["title"])
    if record["description"]:
        event.add("description", record["description"])
    if record["location"]:
        event.add("location", record["location"])
    event.add("sequence", record["revision"] - 1)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add(REVISION_PROPERTY, str(record["revision"]))
    if record["attendees"] and organizer:
        # RFC 5545 3.8.4.3: a component with attendees must name its organizer. The
        # calendar's owner organizes; SCHEDULE-AGENT=CLIENT (RFC 6638 7.1) keeps the
        # server from sending invitations or replies for it, as on each attendee.
        owner = icalendar.vCalAddress(f"mailto:{organizer}")
        owner.params["SCHEDULE-AGENT"] = "CLIENT"
        event.add("organizer", owner, encode=False)
    for attendee in record["attendees"]:
        address = icalendar.vCalAddress(f"mailto:{attendee['email']}")
        address.params["SCHEDULE-AGENT"] = "CLIENT"
        address.params["ROLE"] = "REQ-PARTICIPANT"
        if attendee["name"]:
            address.params["CN"] = attendee["name"]
        event.add("attendee", address, encode=False)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")


def revision_of(body: str) -> int:
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except ValueError:
        return 0
    for event in calendar.walk("VEVENT"):
        value = event.get(REVISION_PROPERTY)
        if value is not None and str(value).isdigit():
            return int(str(value))
    return 0


class CalendarWriter:
    def __init__(self, account: CalDAVAccount) -> None:
        self._account = account
        self._client = account.client

    def url(self, href: str) -> str:
        return self._account.url_of(href)

    def create(self, href: str, body: str) -> str:
        """Creates the event at ``href``; its ETag ("" if the server gave none).
        AlreadyThere when something is at ``href`` already."""
        status, headers = self._put(href, body, {"If-None-Match": "*"})
        if status == 412:
            raise AlreadyThere(href)
        return _etag(headers)

    def update(self, href: str, body: str, etag: str) -> str:
        status, headers = self._put(href, body, {"If-Match": _quoted(etag)} if etag else {})
        if status == 412:
            raise ChangedSince(href)
        if status == 404:
            raise Gone(href)
        return _etag(headers)

    def delete(self, href: str) -> None:
        """Deletes the event; one already gone is fine."""
        url = self.url(href)
        with translated_errors(url):
            response = self._client.delete(url)
        if response.status not in (200, 202, 204, 404, 410):
            _refuse(response.status, url, "DELETE")

    def get(self, href: str) -> Stored | None:
        url = self.url(href)
        with translated_errors(url):
            response = self._client.request(url, "GET")
        if response.status in (404, 410):
            return None
        check_status(response.status, url, "GET")
        body = response.raw if isinstance(response.raw, str) else bytes(response.raw).decode("utf-8", "replace")
        return Stored(canonical_path(href), _etag(response.headers), revision_of(body))

    def find_uid(self, calendar_href: str, uid: str) -> Stored | None:
        """The event with this UID anywhere in the calendar (a calendar-query)."""
        url = self.url(calendar_href)
        calendar = Calendar(client=self._client, url=url)
        try:
            with translated_errors(url):
                found = calendar.object_by_uid(uid)
        except error.NotFoundError:
            return None
        href = canonical_path(str(getattr(found, "url", "")))
        return self.get(href)

    def fill_etag(self, href: str, etag: str) -> str:
        """The ETag of what was just written, asking for it when the PUT did not say."""
        if etag:
            return etag
        stored = self.get(href)
        return stored.etag if stored else ""

    def _put(self, href: str, body: str, conditions: dict[str, str]) -> tuple[int, Any]:
        url = self.url(href)
        headers = {"Content-Type": "text/calendar; charset=utf-8", **conditions}
        with translated_errors(url):
            response = self._client.put(url, body, headers)
        if response.status not in (200, 201, 204, 404, 412):
            _refuse(response.status, url, "PUT")
        return response.status, response.headers


def _refuse(status: int, url: str, method: str) -> NoReturn:
    if status >= 500:
        raise ProviderUnavailable(f"the calendar server at {origin(url)} answered HTTP {status}")
    raise Refused(f"the calendar server at {origin(url)} refused {method} with HTTP {status}")


def _etag(headers: Any) -> str:
    # As the sync sees it in DAV:getetag (quotes kept), so the echo of a write
    # is recognised as unchanged.
    value = (headers or {}).get("ETag") or (headers or {}).get("etag") or ""
    return str(value).strip()


def _quoted(etag: str) -> str:
    return etag if etag.startswith(('"', 'W/"')) else f'"{etag}"'


def resource_href(calendar_href: str, name: str) -> str:
    return canonical_path(urljoin(calendar_href if calendar_href.endswith("/") else calendar_href + "/", name))
