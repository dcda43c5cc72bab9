"""Translating one CalDAV resource (a VCALENDAR text) into what the domain needs.

``parse_resource`` checks a resource, describes it (``ParsedResource``) and keeps a
normalised, privacy-reduced copy of it; ``expand`` turns that copy (or any resource)
into ``Occurrence`` values for a time span. Expansion lives in ``ical_expand``.

A first sync reads thousands of resources, so ``parse_resource`` costs about what
``Calendar.from_ical`` does: a resource of the usual shape is split by its text
(``scan_resource``), icalendar parses only the properties that matter here (plus
anything that could make the resource unreadable) and each distinct VTIMEZONE text
once, the normalised copy is cut from the text instead of re-serialised and parsed
again, and a plain single event's span comes straight from DTSTART/DTEND/DURATION.
Any other resource takes ``parse_resource_general``, the reference the tests hold
the fast path to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import recurring_ical_events
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from icalendar import Calendar, Component

from calendar_domain.busy import Occurrence

from adapters.icloud.ical_expand import (
    LoadedCalendar,
    UnparsableResource,
    add_duration,
    check_parsed,
    expand,
    is_recurring,
    load_calendar,
    load_parsed,
    occurrences_between,
    parse_checked,
    parser_objection,
    reads_default_zone,
    to_utc,
    used_tzids,
)
from adapters.icloud.ical_layout import ComponentLines, ResourceLayout, VTimezoneEntry, scan_resource, vtimezone_entry

__all__ = ["ParsedResource", "UnparsableResource", "expand", "parse_resource"]

# Removed from the stored copy: who takes part (personal data of third parties) and
# reminders; neither changes when an event takes place.
_PRIVATE_PROPERTIES = ("ATTENDEE", "ORGANIZER")
_CALENDAR_PROPERTIES = ("VERSION", "PRODID", "CALSCALE", "X-WR-TIMEZONE")
_PRODID = "-//calendar-integration//normalised iCloud event//EN"


@dataclass(frozen=True)
class ParsedResource:
    """One event resource: its identity, a summary and a normalised copy to expand."""

    uid: str
    summary: str
    location: str
    recurring: bool
    all_day: bool
    first_start: datetime  # UTC: start of the first occurrence
    last_end: datetime | None  # UTC: end of the last occurrence; None: never ends
    ical: str  # normalised VCALENDAR; expand(ical, ...) == expand(original, ...)
    # Floating times or dates read in ``default_tz``: another zone would move them.
    zone_dependent: bool = False
    # The occurrences in the span asked for (every one when ``complete``).
    occurrences: tuple[Occurrence, ...] = ()
    complete: bool = False


# A span to expand occurrences over: [start, end), aware datetimes.
Span = tuple[datetime, datetime]


def parse_resource(data: str | bytes, *, default_tz: str, span: Span | None = None) -> ParsedResource:
    """Check and describe one CalDAV resource; raise UnparsableResource if unusable.

    With ``span``, also expand the occurrences overlapping it (all of them when
    the series lies inside it, or is a single event)."""
    layout = scan_resource(data)
    if layout is None:  # an unusual shape: the general path
        return parse_resource_general(data, default_tz=default_tz, span=span)
    return parse_layout(layout, default_tz=default_tz, span=span)


def parse_resource_general(data: str | bytes, *, default_tz: str, span: Span | None = None) -> ParsedResource:
    """parse_resource for any resource: normalised by icalendar, then reloaded."""
    calendar, events = parse_checked(data)
    zone_dependent = reads_default_zone(calendar, events)
    ical = _normalise(calendar, events)
    loaded = load_calendar(ical, default_tz=default_tz)
    first_start, last_end = _span(loaded, direct=False)
    return _describe(loaded, first_start, last_end, ical, zone_dependent, span)


# What the events of a usual resource are read from (see ResourceLayout.parse_text):
# the description, everything that says when an event or its instances take place,
# whether it blocks (TRANSP, STATUS),
# and SEQUENCE (an override older than its master is ignored).
_READ_PROPERTIES = frozenset(
    ("UID", "SUMMARY", "LOCATION", "SEQUENCE", "DTSTART", "DTEND", "DURATION", "TRANSP", "STATUS")
    + ("RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID")
)


def _vtimezone_objection(component: ComponentLines) -> str:
    """What the parser objects to in a VTIMEZONE the fast path cannot read (as the
    general path, parsing the whole resource, says it)."""
    try:
        Calendar.from_ical("\r\n".join(component.lines))
    except Exception as exc:  # noqa: BLE001 - icalendar raises ValueError and kin
        return parser_objection(exc)
    return "an unreadable VTIMEZONE"


def parse_layout(
    layout: ResourceLayout, *, default_tz: str, direct: bool = True, span: Span | None = None
) -> ParsedResource:
    """parse_resource for a resource of the usual shape, parsed once and partly.

    direct=False: compute first_start/last_end by expansion even for a single event.
    """
    vtimezones: list[tuple[ComponentLines, VTimezoneEntry]] = []
    for component in layout.components:
        if component.name == "VTIMEZONE":
            entry = vtimezone_entry("\r\n".join(component.lines))
            if entry is None:
                raise UnparsableResource(f"not iCalendar data: {_vtimezone_objection(component)}")
            vtimezones.append((component, entry))
    try:
        calendar = Calendar.from_ical(layout.parse_text(_READ_PROPERTIES))
    except Exception as exc:  # noqa: BLE001 - icalendar raises ValueError and kin
        raise UnparsableResource(f"not iCalendar data: {parser_objection(exc)}") from exc
    events = check_parsed(calendar)
    zone_dependent = reads_default_zone(calendar, events)
    own = {entry.tzid: entry for _, entry in vtimezones if entry.tzid is not None}
    used = used_tzids(events)

    def own_zone(tzid: str) -> tzinfo | None:
        return own[tzid].zone() if tzid in own else None

    loaded = load_parsed(calendar, events, default_tz=default_tz, own_zone=own_zone)
    first_start, last_end = _span(loaded, direct=direct)
    kept = [component for component, entry in vtimezones if entry.tzid in used]
    return _describe(loaded, first_start, last_end, _normalised_text(layout, kept), zone_dependent, span)


def _describe(
    loaded: LoadedCalendar,
    first_start: datetime,
    last_end: datetime | None,
    ical: str,
    zone_dependent: bool,
    span: Span | None,
) -> ParsedResource:
    master = _master(loaded.events)
    recurring = is_recurring(loaded.events)
    summary, location = str(master.get("SUMMARY", "")), str(master.get("LOCATION", ""))
    all_day = not isinstance(master.get("DTSTART").dt, datetime)
    occurrences: tuple[Occurrence, ...] = ()
    complete = False
    if span is not None and not recurring and last_end is not None:
        occurrences = (
            Occurrence(
                uid=str(master.get("UID")),
                start=first_start,
                end=last_end,
                all_day=all_day,
                transparent=str(master.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT",
                cancelled=str(master.get("STATUS", "")).upper() == "CANCELLED",
                recurrence_id="",
                summary=summary,
                location=location,
            ),
        )
        complete = True
    elif span is not None:
        complete = last_end is not None and span[0] <= first_start and last_end <= span[1]
        begin, finish = span
        if complete and last_end is not None:
            begin, finish = first_start, last_end + timedelta(seconds=1)
        try:
            occurrences = tuple(occurrences_between(loaded, begin, finish))
        except Exception as exc:  # noqa: BLE001 - the libraries raise many kinds
            raise UnparsableResource(f"cannot expand the event: {exc}") from exc
    return ParsedResource(
        uid=str(master.get("UID")),
        summary=summary,
        location=location,
        recurring=recurring,
        all_day=all_day,
        first_start=first_start,
        last_end=last_end,
        ical=ical,
        zone_dependent=zone_dependent,
        occurrences=occurrences,
        complete=complete,
    )


def _span(loaded: LoadedCalendar, *, direct: bool) -> tuple[datetime, datetime | None]:
    """(first_start, last_end) of a loaded resource."""
    span = _single_span(loaded) if direct else None
    if span is not None:
        return span
    try:
        query = recurring_ical_events.CalendarQuery(loaded.calendar)
        first_start = _first_start(loaded, query)
        return first_start, _last_end(loaded, first_start, query)
    except UnparsableResource:
        raise
    except Exception as exc:  # noqa: BLE001 - the libraries raise many kinds
        raise UnparsableResource(f"cannot expand the event: {exc}") from exc


def _single_span(loaded: LoadedCalendar) -> tuple[datetime, datetime] | None:
    """A plain single event's start and end, as expanding it would give them.

    None unless the resource is one VEVENT without recurrence (nor EXDATE), in a
    Gregorian calendar without X-WR-TIMEZONE, whose end is a DTEND of the same
    kind and zone as its DTSTART and not before it, a non-negative DURATION (whole
    days for a date), or missing. Expansion gives the occurrence DTSTART to the
    DTEND written, or to DTSTART + DURATION by RFC 5545 3.3.6 (``add_duration``).
    """
    calendar, events = loaded.calendar, loaded.events
    if len(events) != 1 or "X-WR-TIMEZONE" in calendar:
        return None
    if calendar.get("CALSCALE", "GREGORIAN") != "GREGORIAN":
        return None
    event = events[0]
    if any(name in event for name in ("RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID")):
        return None
    dtstart, dtend, duration = event.get("DTSTART"), event.get("DTEND"), event.get("DURATION")
    if isinstance(dtstart, list) or isinstance(dtend, list) or isinstance(duration, list):
        return None
    start = dtstart.dt
    timed = isinstance(start, datetime)
    if dtend is not None:
        if duration is not None:
            return None
        end = dtend.dt
        if timed != isinstance(end, datetime) or not isinstance(end, date):
            return None
        if isinstance(start, datetime) and isinstance(end, datetime) and end.tzinfo is not start.tzinfo:
            return None
        if end < start:
            return None
    elif duration is not None:
        length = duration.dt
        if not isinstance(length, timedelta) or length < timedelta(0):
            return None
        if not timed and (length.seconds or length.microseconds):
            return None
        end = start + length
    else:
        end = start if timed else start + timedelta(days=1)
    if not (1900 <= start.year and end.year <= 9000):  # far from datetime's limits
        return None
    if duration is not None and isinstance(start, datetime):
        # RFC 5545 3.3.6: the hours are real time, the days local days
        return to_utc(start, loaded.zone), add_duration(start, duration.dt)
    return to_utc(start, loaded.zone), to_utc(end, loaded.zone)


def _master(events: list[Component]) -> Component:
    """The series' master (no RECURRENCE-ID), or the first override if there is none."""
    masters = [event for event in events if "RECURRENCE-ID" not in event]
    return masters[0] if masters else events[0]


def _normalise(calendar: Calendar, events: list[Component]) -> str:
    """The VEVENTs (master and overrides) and the VTIMEZONEs they use, nothing else."""
    result = Calendar()
    for name in _CALENDAR_PROPERTIES:
        if name in calendar:
            result[name] = calendar[name]
    result.setdefault("VERSION", "2.0")
    result.setdefault("PRODID", _PRODID)
    kept: list[Component] = []
    for event in events:
        copy = event.copy()  # properties only: VALARMs (subcomponents) stay behind
        for name in _PRIVATE_PROPERTIES:
            copy.pop(name, None)
        kept.append(copy)
    holder = Calendar()
    holder.subcomponents = kept
    used = holder.get_used_tzids()
    for vtimezone in calendar.walk("VTIMEZONE"):
        if str(vtimezone.get("TZID", "")) in used:
            result.add_component(vtimezone)
    for component in kept:
        result.add_component(component)
    return result.to_ical().decode("utf-8")


def _normalised_text(layout: ResourceLayout, vtimezones: list[ComponentLines]) -> str:
    """_normalise by text: the same content, each kept line as it was written.

    The calendar properties kept (VERSION and PRODID added if missing), the given
    VTIMEZONEs and the VEVENTs without ATTENDEE, ORGANIZER and VALARMs.
    """
    defaults = {"VERSION": ["VERSION:2.0"], "PRODID": [f"PRODID:{_PRODID}"]}
    lines = ["BEGIN:VCALENDAR"]
    for wanted in _CALENDAR_PROPERTIES:
        found = [line for name, line in layout.properties if name == wanted]
        lines.extend(found or defaults.get(wanted, []))
    for component in vtimezones:
        lines.extend(component.lines)
    for component in layout.components:
        if component.name == "VEVENT":
            lines.append(component.lines[0])
            lines.extend(line for name, line in component.properties if name not in _PRIVATE_PROPERTIES)
            lines.append(component.lines[-1])
    lines.append("END:VCALENDAR")
    return "".join(
        (line if len(line) <= 75 and line.isascii() else _fold(line)) + "\r\n" for line in lines
    )


def _fold(line: str) -> str:
    """A content line folded to at most 75 octets a line (RFC 5545 3.1)."""
    parts: list[str] = []
    current: list[str] = []
    size, limit = 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, 74  # a continuation starts with a space
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _time_values(event: Component) -> list[date | datetime]:
    """Every literal start/end/recurrence time an event mentions."""
    values: list[date | datetime] = []
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID", "RDATE"):
        prop = event.get(name)
        for item in prop if isinstance(prop, list) else [prop] if prop is not None else []:
            for dt in [d.dt for d in item.dts] if hasattr(item, "dts") else [item.dt]:
                parts = dt if isinstance(dt, tuple) else (dt,)  # RDATE periods
                values.extend(p for p in parts if isinstance(p, date))
    return values


def _first_start(loaded: LoadedCalendar, query: recurring_ical_events.CalendarQuery) -> datetime:
    lower = min(to_utc(v, loaded.zone) for e in loaded.events for v in _time_values(e))
    # after() widens its window step by step, so a first instance removed by EXDATE
    # costs a few more steps, not a scan.
    for component in query.after(lower.astimezone(loaded.zone)):
        return to_utc(component.get("DTSTART").dt, loaded.zone)
    return lower  # every instance excluded: an empty range at the first DTSTART


def _last_end(
    loaded: LoadedCalendar, first_start: datetime, query: recurring_ical_events.CalendarQuery
) -> datetime | None:
    """The end of the last occurrence, found by expanding only the series' tail."""
    zone = loaded.zone
    latest = [to_utc(v, zone) for e in loaded.events for v in _time_values(e)]
    for master in (e for e in loaded.events if "RECURRENCE-ID" not in e):
        rules = master.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
            if rule.get("UNTIL"):
                latest.append(to_utc(rule["UNTIL"][0], zone) + timedelta(days=1))
            elif rule.get("COUNT"):
                latest.append(_last_counted(master, rule.to_ical().decode(), loaded))
            else:
                return None  # RFC 5545: no UNTIL, no COUNT - the series never ends
    # Every occurrence starts before `limit`: its original start is at most `tail`,
    # and it moves by at most `slack`. So the occurrence that ends last overlaps
    # [tail - slack, limit) if anything does; otherwise look at the whole range.
    slack = _slack(loaded)
    tail = max(latest)
    limit = tail + slack
    for window_start in (tail - slack, first_start):
        found = occurrences_between(loaded, window_start, limit, query)
        if found:
            return max(occurrence.end for occurrence in found)
    return first_start


def _last_counted(master: Component, rule: str, loaded: LoadedCalendar) -> datetime:
    """The last instance of an RRULE with COUNT (RFC 5545: EXDATE does not count)."""
    start = master.get("DTSTART").dt
    if not isinstance(start, datetime):
        start = datetime(start.year, start.month, start.day)  # noqa: DTZ001 - a DATE
    instances = list(rrulestr(rule, dtstart=start))
    return to_utc(instances[-1] if instances else start, loaded.zone) + timedelta(days=1)


def _slack(loaded: LoadedCalendar) -> timedelta:
    """Longest duration plus largest move of an override, plus two days' margin."""
    longest = moved = timedelta(0)
    for event in loaded.events:
        start = to_utc(event.get("DTSTART").dt, loaded.zone)
        if "DTEND" in event:
            longest = max(longest, abs(to_utc(event.get("DTEND").dt, loaded.zone) - start))
        elif "DURATION" in event:
            longest = max(longest, abs(event.get("DURATION").dt))
        if "RECURRENCE-ID" in event:
            moved = max(moved, abs(start - to_utc(event.get("RECURRENCE-ID").dt, loaded.zone)))
    return longest + moved + timedelta(days=2)
