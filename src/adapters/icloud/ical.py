"""Translating one CalDAV resource (a VCALENDAR text) into what the domain needs.

``parse_resource`` checks a resource, describes it (``ParsedResource``) and keeps a
normalised, privacy-reduced copy of it; ``expand`` turns that copy (or any resource)
into ``Occurrence`` values for a time span. Expansion lives in ``ical_expand``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import recurring_ical_events
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from icalendar import Calendar, Component

from adapters.icloud.ical_expand import (
    LoadedCalendar,
    UnparsableResource,
    expand,
    is_recurring,
    load_calendar,
    occurrences_between,
    parse_checked,
    to_utc,
)

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


def parse_resource(data: str | bytes, *, default_tz: str) -> ParsedResource:
    """Check and describe one CalDAV resource; raise UnparsableResource if unusable."""
    calendar, events = parse_checked(data)
    ical = _normalise(calendar, events)
    loaded = load_calendar(ical, default_tz=default_tz)
    master = _master(loaded.events)
    try:
        first_start = _first_start(loaded)
        last_end = _last_end(loaded, first_start)
    except UnparsableResource:
        raise
    except Exception as exc:  # noqa: BLE001 - the libraries raise many kinds
        raise UnparsableResource(f"cannot expand the event: {exc}") from exc
    return ParsedResource(
        uid=str(master.get("UID")),
        summary=str(master.get("SUMMARY", "")),
        location=str(master.get("LOCATION", "")),
        recurring=is_recurring(loaded.events),
        all_day=not isinstance(master.get("DTSTART").dt, datetime),
        first_start=first_start,
        last_end=last_end,
        ical=ical,
    )


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


def _first_start(loaded: LoadedCalendar) -> datetime:
    lower = min(to_utc(v, loaded.zone) for e in loaded.events for v in _time_values(e))
    # after() widens its window step by step, so a first instance removed by EXDATE
    # costs a few more steps, not a scan.
    query = recurring_ical_events.CalendarQuery(loaded.calendar)
    for component in query.after(lower.astimezone(loaded.zone)):
        return to_utc(component.get("DTSTART").dt, loaded.zone)
    return lower  # every instance excluded: an empty range at the first DTSTART


def _last_end(loaded: LoadedCalendar, first_start: datetime) -> datetime | None:
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
        found = occurrences_between(loaded, window_start, limit)
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
