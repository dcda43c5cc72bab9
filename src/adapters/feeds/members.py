"""An iCalendar feed cut into members, as a CalDAV calendar would hold them.

A feed is one VCALENDAR with every event in it; a CalDAV calendar holds one
resource per UID (the master and its overrides). Cutting the feed the same way
lets a feed take the CalDAV path from there on: each member is parsed by the one
parser, expanded by the same rules, diffed by etag against what the schedule
knows, and a member missing from the feed is a deleted event. A member's etag
is the digest of its text, so an event that did not change keeps its etag
whatever else changed in the feed, and nothing is recorded for it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from icalendar import Calendar
from icalendar.cal import Component

from calendar_domain.errors import ProviderProtocolError

_PRODID = b"PRODID:-//calendar-integration//feed member//EN"
_CALENDAR_PROPERTIES = ("CALSCALE", "X-WR-TIMEZONE")


class NotAFeed(ProviderProtocolError):
    """The body is not an iCalendar feed (HTML, garbage, no VCALENDAR)."""


@dataclass(frozen=True)
class FeedMembers:
    name: str  # X-WR-CALNAME, or ""
    members: dict[str, tuple[str, str]]  # href -> (etag, text)


def feed_members(body: bytes, calendar_href: str, host: str) -> FeedMembers:
    """Every event of the feed as a member of the calendar at ``calendar_href``.
    Raises ``NotAFeed`` (naming the host only) when the body is not iCalendar."""
    if not body.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"BEGIN:VCALENDAR"):
        raise NotAFeed(f"the feed at {host} did not answer with iCalendar data (no BEGIN:VCALENDAR)")
    try:
        calendar = Calendar.from_ical(body)
    except Exception as bad:  # icalendar raises ValueError and others on broken input
        raise NotAFeed(f"the feed at {host} is not valid iCalendar ({type(bad).__name__})") from None
    if not isinstance(calendar, Calendar) or calendar.name != "VCALENDAR":
        raise NotAFeed(f"the feed at {host} is not valid iCalendar (no VCALENDAR)")
    zones: dict[str, bytes] = {}
    events: dict[str, list[bytes]] = defaultdict(list)
    used: dict[str, set[str]] = defaultdict(set)
    masters: set[str] = set()
    for component in calendar.subcomponents:
        if component.name == "VTIMEZONE":
            zones[str(component.get("TZID", ""))] = component.to_ical()
        elif component.name == "VEVENT":
            text = component.to_ical()
            uid = _uid(component, text)
            if "RECURRENCE-ID" not in component:
                if uid in masters:  # a second event under one UID: a member of its own, so both block
                    uid = f"{uid}\x00{hashlib.sha256(_unstamped(text)).hexdigest()[:32]}"
                masters.add(uid)
            events[uid].append(text)
            used[uid] |= _tzids(component)
    # what the parser reads of the calendar around the events: floating times are in X-WR-TIMEZONE
    header = b"\r\n".join([b"BEGIN:VCALENDAR", b"VERSION:2.0", _PRODID]) + b"\r\n"
    for name in _CALENDAR_PROPERTIES:
        value = calendar.get(name)
        if isinstance(value, list):  # given twice: the first
            value = value[0]
        if value is not None:
            header += calendar.content_line(name, value).encode() + b"\r\n"
    members: dict[str, tuple[str, str]] = {}
    for uid, texts in events.items():
        body_of_events = b"".join(texts)
        # by the TZID parameters' values: written out, a TZID with a comma or colon is quoted
        needed = [z for tzid, z in sorted(zones.items()) if tzid and tzid in used[uid]]
        text = header + b"".join(needed) + body_of_events + b"END:VCALENDAR\r\n"
        digest = hashlib.sha256(_unstamped(text)).hexdigest()
        href = f"{calendar_href}{hashlib.sha256(uid.encode()).hexdigest()[:32]}.ics"
        members[href] = (f'"{digest[:40]}"', text.decode("utf-8", errors="replace"))
    name = calendar.get("X-WR-CALNAME")
    return FeedMembers(name=str(name).strip()[:200] if name else "", members=members)


def _tzids(event: Component) -> set[str]:
    """The TZIDs the event's properties name."""
    holder = Calendar()
    holder.add_component(event)
    return {str(tzid) for tzid in holder.get_used_tzids()}


def _uid(component: Component, text: bytes) -> str:
    """The event's UID; one without (a careless feed) is named by its content, so
    it keeps its name while it does not change."""
    uid = str(component.get("UID", "")).strip()
    return uid or "no-uid-" + hashlib.sha256(_unstamped(text)).hexdigest()[:32]


def _unstamped(text: bytes) -> bytes:
    """The text without its DTSTAMP lines: many feed servers stamp every event with
    the time of the request, which says nothing of the event."""
    return b"".join(line for line in text.splitlines(keepends=True) if not line.upper().startswith((b"DTSTAMP:", b"DTSTAMP;")))
