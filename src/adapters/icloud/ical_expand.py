"""Loading one CalDAV resource into a calendar ready for expansion, and expanding it.

Parsing is ``icalendar``'s, the recurrence arithmetic (RRULE, RDATE, EXDATE,
RECURRENCE-ID, RANGE=THISANDFUTURE) is ``recurring-ical-events``'. What this module
adds is making every time in the resource absolute, deterministically:

* Floating times (no TZID, no Z) get the calendar's zone: X-WR-TIMEZONE when it
  names a known zone, else the user's ``default_tz``.
* A TZID that the IANA database knows is that zone (as icalendar does). Any other
  TZID (Windows names like "W. Europe Standard Time", vendor names) uses the
  resource's own VTIMEZONE; only without one do we fall back to icalendar's Windows
  name / "/vendor/Olson" mapping, and an unresolvable TZID is an error. icalendar
  itself caches a VTIMEZONE process-wide under its TZID (first definition wins, and a
  Windows name already mapped to Olson ignores later VTIMEZONEs), so without this
  step one resource's result could depend on another resource parsed earlier.
* A floating or DATE RRULE UNTIL of a timed series is made UTC (what dateutil needs)
  in the series' zone - a DATE counting as that whole day; recurring-ical-events
  would read it as UTC, dropping the last instance west of Greenwich.

All-day dates stay dates; the query span is handed over in the calendar's zone, so
recurring-ical-events reads a date as local midnight there.

Ends are ours, not the library's: recurring-ical-events adds a length on the wall
clock (DTSTART + DURATION, each occurrence's start + DTEND - DTSTART), so PT3H across
a spring-forward change ends an hour early. RFC 5545 3.3.6 makes a DURATION's days
and weeks nominal (local days) and its hours, minutes and seconds exact (real time),
and 3.8.5.3 gives every instance of a series with DTEND the master's exact length
(DTEND - DTSTART in real time). Each VEVENT is marked on loading with the length
it gives its instances, and each occurrence's end is worked out from its start.
(icalendar reads PT24H as one day, so it counts as P1D: a nominal day.)
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar, Component, Timezone
from icalendar.prop import vBroken, vDDDLists, vDDDTypes
from icalendar.timezone.tzp import TZP

from calendar_domain.busy import Occurrence

_TIME_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")
_RULE_PROPERTIES = ("RRULE", "RDATE", "EXDATE", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")
# A TZP of our own: its cache never holds VTIMEZONEs from other resources (the parser
# only feeds the global ``icalendar.timezone.tzp``), so it answers "known without a
# VTIMEZONE" the same way every time.
_KNOWN_ZONES = TZP()
# Marks put on each timed VEVENT on loading (in memory only; the library copies them
# onto every occurrence it makes of that VEVENT): its DURATION, to be added nominally
# (RFC 5545 3.3.6), or its DTEND - DTSTART in real time, to be added exactly (3.8.5.3).
_NOMINAL_LENGTH = "X-CALSYNC-NOMINAL-LENGTH"
_EXACT_LENGTH = "X-CALSYNC-EXACT-LENGTH"
# The library keeps an occurrence only if its wall-clock end is after the query's
# start; a real end lies at most one daylight-saving shift later (two hours, double
# summer time), so the library is asked from this much earlier.
_WALL_CLOCK_SLACK = timedelta(hours=3)


class UnparsableResource(Exception):
    """The resource is not an event we can read; ``reason`` says why, for humans."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LoadedCalendar:
    """A parsed resource with absolute times, plus the zone all-day dates live in."""

    calendar: Calendar
    zone: tzinfo
    events: list[Component]


def _zone_or_none(name: str) -> tzinfo | None:
    try:
        return _iana_zone(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


@functools.lru_cache(maxsize=1024)
def _iana_zone(name: str) -> tzinfo:
    return zoneinfo.ZoneInfo(name)


def calendar_zone(calendar: Component, default_tz: str) -> tzinfo:
    """X-WR-TIMEZONE when it names a known zone, else the user's zone."""
    x_wr = calendar.get("X-WR-TIMEZONE")
    if x_wr is not None:
        zone = _zone_or_none(str(x_wr))
        if zone is not None:
            return zone
    zone = _zone_or_none(default_tz)
    if zone is None:
        raise ValueError(f"unknown default_tz {default_tz!r}")
    return zone


# A zone built from the resource's own VTIMEZONE for a TZID, or None if it has none.
VTimezoneZones = Callable[[str], "tzinfo | None"]


def _resolve_tzids(
    calendar: Calendar, events: list[Component], own_zone: VTimezoneZones | None = None
) -> dict[str, tzinfo]:
    if own_zone is None:
        own_zone = _zones_from_components(calendar)
    zones: dict[str, tzinfo] = {}
    for tzid in used_tzids(events):
        zone = _zone_or_none(tzid)
        if zone is None:
            zone = own_zone(tzid)
        if zone is None:
            zone = _KNOWN_ZONES.timezone(tzid)
        if zone is None:
            raise UnparsableResource(f"unknown time zone {tzid!r} and no VTIMEZONE for it")
        zones[tzid] = zone
    return zones


def _zones_from_components(calendar: Calendar) -> VTimezoneZones:
    vtimezones = {str(vtz.get("TZID")): vtz for vtz in calendar.timezones if "TZID" in vtz}

    def own_zone(tzid: str) -> tzinfo | None:
        if tzid not in vtimezones:
            return None
        return vtimezone_to_zone(vtimezones[tzid], tzid)

    return own_zone


def vtimezone_to_zone(vtimezone: Timezone, tzid: str) -> tzinfo:
    """A zone from this VTIMEZONE alone; UnparsableResource if it cannot be built."""
    try:
        # lookup_tzid=False: build it from this VTIMEZONE, never from the cache.
        return vtimezone.to_tz(lookup_tzid=False)
    except Exception as exc:  # noqa: BLE001 - any failure means "unreadable"
        raise UnparsableResource(f"VTIMEZONE {tzid!r} is unreadable") from exc


def used_tzids(events: list[Component]) -> set[str]:
    """The TZIDs the events' start/end/recurrence times name."""
    used: set[str] = set()
    for event in events:
        for prop in _time_props(event):
            tzid = prop.params.get("TZID")
            if tzid:
                used.add(str(tzid))
    return used


def reads_default_zone(calendar: Component, events: list[Component]) -> bool:
    """Whether the user's zone (``default_tz``) decides when some event of a parsed,
    not yet loaded resource takes place: a floating time or a date, in a calendar
    without a known X-WR-TIMEZONE. (An over-estimate: a floating EXDATE beside a
    zoned DTSTART counts too.)"""
    x_wr = calendar.get("X-WR-TIMEZONE")
    if x_wr is not None and _zone_or_none(str(x_wr)) is not None:
        return False
    for event in events:
        for prop in _time_props(event):
            if prop.params.get("TZID"):
                continue
            items = prop.dts if isinstance(prop, vDDDLists) else [prop]
            for item in items:
                parts = item.dt if isinstance(item.dt, tuple) else (item.dt,)
                if any(isinstance(p, date) and (not isinstance(p, datetime) or p.tzinfo is None) for p in parts):
                    return True
    return False


def _time_props(event: Component) -> list[Any]:
    found: list[Any] = []
    for name in _TIME_PROPERTIES:
        value = event.get(name)
        if value is None:
            continue
        found.extend(value if isinstance(value, list) else [value])
    return found


def _absolute(value: Any, zone: tzinfo, zoned: bool) -> Any:
    """A datetime with the zone its TZID (zoned) or floating-ness gives it."""
    if isinstance(value, tuple):  # RDATE;VALUE=PERIOD: (start, end or duration)
        return tuple(_absolute(part, zone, zoned) for part in value)
    if not isinstance(value, datetime):
        return value  # dates stay dates, durations stay durations
    if zoned:
        return value.replace(tzinfo=zone)  # keep the wall time that was written
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)  # floating
    return value  # UTC ("Z")


def _make_times_absolute(event: Component, zone: tzinfo, zones: dict[str, tzinfo]) -> None:
    # A floating EXDATE/RECURRENCE-ID/DTEND next to a zoned DTSTART is meant in the
    # DTSTART's zone (recurring-ical-events matches it by wall time, too).
    dtstart = event.get("DTSTART")
    floating_zone = zone
    if dtstart.params.get("TZID"):
        floating_zone = zones[str(dtstart.params.get("TZID"))]
    elif isinstance(dtstart.dt, datetime) and dtstart.dt.tzinfo is not None:
        floating_zone = dtstart.dt.tzinfo
    for prop in _time_props(event):
        tzid = prop.params.get("TZID")
        prop_zone = zones[str(tzid)] if tzid else floating_zone
        items = prop.dts if isinstance(prop, vDDDLists) else [prop]
        for item in items:
            item.dt = _absolute(item.dt, prop_zone, bool(tzid))
    start = dtstart.dt
    rules = event.get("RRULE")
    if not isinstance(start, datetime) or rules is None:
        return
    for rule in rules if isinstance(rules, list) else [rules]:
        untils = rule.get("UNTIL")
        if not untils:
            continue
        until = untils[0]
        if isinstance(until, datetime) and until.tzinfo is None:
            # floating UNTIL: in the series' zone (RFC 5545 wants UTC, dateutil too)
            rule["UNTIL"] = [until.replace(tzinfo=start.tzinfo).astimezone(UTC)]
        elif not isinstance(until, datetime):
            # a DATE UNTIL on a timed series: the whole day counts
            end_of_day = datetime.combine(until, time(23, 59, 59), tzinfo=start.tzinfo)
            rule["UNTIL"] = [end_of_day.astimezone(UTC)]


# A rule that repeats more often than this (an occurrence an hour) is no
# calendar of appointments, and a rule whose occurrences from DTSTART to two years
# from now would exceed the other bound makes every expansion walk them all (the
# recurrence library lists them from DTSTART on): either is skipped, with why,
# rather than let one event (from a hostile feed, say) hold a sync for minutes.
MAX_OCCURRENCES_PER_DAY = 24
MAX_OCCURRENCES_WALKED = 200_000
_PER_DAY = {
    "SECONDLY": 86_400.0, "MINUTELY": 1_440.0, "HOURLY": 24.0, "DAILY": 1.0,
    "WEEKLY": 1 / 7, "MONTHLY": 1 / 28, "YEARLY": 1 / 365,
}
# The parts of a rule that multiply its occurrences when its frequency is coarser.
_EXPANDING = (("BYSECOND", "MINUTELY"), ("BYMINUTE", "HOURLY"), ("BYHOUR", "DAILY"))
_FINER = ["SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]


def _check_recurrence(event: Component) -> None:
    rules = event.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        freq = str((rule.get("FREQ") or [""])[0]).upper()
        if freq not in _PER_DAY:
            continue  # the library says what is wrong with it
        interval = max(1, int((rule.get("INTERVAL") or [1])[0] or 1))
        per_day = _PER_DAY[freq] / interval
        for part, coarsest_finer in _EXPANDING:
            if _FINER.index(freq) >= _FINER.index(coarsest_finer) and rule.get(part):
                per_day *= len(rule[part])
        if freq == "WEEKLY" and rule.get("BYDAY"):
            per_day *= len(rule["BYDAY"])
        if per_day > MAX_OCCURRENCES_PER_DAY:
            raise UnparsableResource(
                f"its RRULE repeats about {per_day:,.0f} times a day; rules repeating more than "
                f"{MAX_OCCURRENCES_PER_DAY} times a day are not read"
            )
        count = int((rule.get("COUNT") or [0])[0] or 0)
        first: Any = getattr(event["DTSTART"], "dt", None)  # a DATE or DATE-TIME (checked above)
        first_day: date = first.date() if isinstance(first, datetime) else first
        horizon = datetime.now(UTC).date() + timedelta(days=731)
        walked = per_day * max(0, (horizon - first_day).days)
        if (min(count, walked) if count else walked) > MAX_OCCURRENCES_WALKED:
            raise UnparsableResource(
                f"its RRULE has about {walked:,.0f} occurrences from its DTSTART to two years from now; "
                f"at most {MAX_OCCURRENCES_WALKED:,} are read"
            )


def _check_event(event: Component) -> None:
    broken = {name: problem for name, problem in event.errors if name in _RULE_PROPERTIES}
    for name in _RULE_PROPERTIES:
        if isinstance(event.get(name), vBroken):
            broken.setdefault(name, "")
    if broken:
        name = sorted(broken)[0]
        raise UnparsableResource(f"unreadable {name}" + (f": {_shortened(broken[name])}" if broken[name] else ""))
    if "DTSTART" not in event:
        lines = sorted({line for problem in event.errors if (line := _unparsed_line(problem[1]))})
        raise UnparsableResource(
            "a VEVENT has no DTSTART" + (f" (a {', '.join(lines)} line could not be parsed)" if lines else "")
        )
    for name in ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID"):
        if isinstance(event.get(name), list):  # RFC 5545: MUST NOT occur more than once
            raise UnparsableResource(f"several {name} in a VEVENT")
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        # RFC 5545 3.8.2.4, 3.8.2.2, 3.8.4.4: a DATE-TIME or a DATE (a PERIOD is for RDATE)
        if name in event and not isinstance(getattr(event[name], "dt", None), date):
            raise UnparsableResource(f"{name} must be a DATE-TIME or a DATE, not a PERIOD or any other value")
    _check_recurrence(event)


# What a parser's message may say of a resource: never the text it quotes (a title,
# a description), at most this long.
MAX_OBJECTION = 160


def parser_objection(error: Exception | str) -> str:
    """What the parser objected to, without the content it quoted."""
    message = str(error)
    line = _unparsed_line(message)
    if line:
        return f"a {line} line could not be parsed"
    return message.split(": b'", 1)[0].split(": '", 1)[0][:MAX_OBJECTION]


def _unparsed_line(message: str) -> str:
    """The property name of a content line the parser could not split, or ""."""
    head, _, rest = message.partition(": '")
    if not head.startswith("Content line could not be parsed"):
        return ""
    name = rest.split(";", 1)[0].split(":", 1)[0].split("'", 1)[0]
    return name.upper() if name and len(name) <= 40 and all(c.isalnum() or c == "-" for c in name) else "content"


def _shortened(problem: str) -> str:
    """The parser's message on a time or rule property (its values are times and
    rules, not private text), cut to a readable length."""
    return problem if len(problem) <= MAX_OBJECTION else f"{problem[:MAX_OBJECTION]}..."


def parse_checked(data: str | bytes) -> tuple[Calendar, list[Component]]:
    """Parse one resource and check its shape; the calendar and its VEVENTs."""
    try:
        calendar = Calendar.from_ical(data)
    except Exception as exc:  # noqa: BLE001 - icalendar raises ValueError and kin
        raise UnparsableResource(f"not iCalendar data: {parser_objection(exc)}") from exc
    return calendar, check_parsed(calendar)


def check_parsed(calendar: Component) -> list[Component]:
    """Check a parsed resource's shape; its VEVENTs."""
    if getattr(calendar, "name", "") != "VCALENDAR":
        raise UnparsableResource("not a VCALENDAR")
    events = calendar.walk("VEVENT")
    if not events:
        raise UnparsableResource("no VEVENT in the resource")
    uids = {str(event.get("UID", "")) for event in events}
    if "" in uids:
        raise UnparsableResource("a VEVENT has no UID")
    if len(uids) > 1:
        raise UnparsableResource("several UIDs in one resource (RFC 4791 4.1)")
    for event in events:
        _check_event(event)
    return events


def load_calendar(data: str | bytes, *, default_tz: str) -> LoadedCalendar:
    """Parse and check one resource; every time in the result is absolute."""
    calendar, events = parse_checked(data)
    return load_parsed(calendar, events, default_tz=default_tz)


def load_parsed(
    calendar: Calendar,
    events: list[Component],
    *,
    default_tz: str,
    own_zone: VTimezoneZones | None = None,
) -> LoadedCalendar:
    """Make every time of a parsed and checked resource absolute (in place).

    ``own_zone`` builds a zone from the resource's VTIMEZONE for a TZID; by default
    from the VTIMEZONE components in ``calendar``.
    """
    zone = calendar_zone(calendar, default_tz)
    zones = _resolve_tzids(calendar, events, own_zone)
    for event in events:
        _make_times_absolute(event, zone, zones)
    if "X-WR-TIMEZONE" in calendar and _zone_or_none(str(calendar.get("X-WR-TIMEZONE"))):
        # X-WR-TIMEZONE semantics: UTC times are meant in that zone (floating ones
        # already are); this also moves a UTC series' recurrences to local wall time.
        calendar = x_wr_timezone.to_standard(calendar, timezone=zone)
        events = calendar.walk("VEVENT")
    # An unknown X-WR-TIMEZONE is ignored (default_tz applies); we query with
    # CalendarQuery, not recurring_ical_events.of(), which would fail on it.
    for event in events:
        _mark_length(event)
    return LoadedCalendar(calendar=calendar, zone=zone, events=events)


def add_duration(start: datetime, length: timedelta) -> datetime:
    """``start + length`` by RFC 5545 3.3.6, in UTC: the whole days (weeks are 7 days)
    on the wall clock of ``start``'s zone, the rest in real time. A local time that a
    change skips is read with the offset before the gap (RFC 5545 3.3.5), as zoneinfo
    reads it (fold=0)."""
    sign = -1 if length < timedelta(0) else 1
    size = abs(length)
    days = timedelta(days=size.days)
    local = start + sign * days  # aware arithmetic: the wall clock, same zone
    return local.astimezone(UTC) + sign * (size - days)


def _mark_length(event: Component) -> None:
    """Put the length a timed VEVENT gives its instances on it (see the module doc)."""
    dtstart = event.get("DTSTART").dt
    if not isinstance(dtstart, datetime):
        return  # all-day: dates only, which the library adds as dates
    duration, dtend = event.get("DURATION"), event.get("DTEND")
    if duration is not None and isinstance(duration.dt, timedelta):
        event[_NOMINAL_LENGTH] = vDDDTypes(duration.dt)
    elif dtend is not None and isinstance(dtend.dt, datetime):
        event[_EXACT_LENGTH] = vDDDTypes(to_utc(dtend.dt, UTC) - to_utc(dtstart, UTC))  # both aware by now


def _rdate_periods(events: list[Component], zone: tzinfo) -> dict[datetime, date | datetime | timedelta]:
    """RDATE;VALUE=PERIOD instances by their UTC start: each with its own end or length."""
    periods: dict[datetime, date | datetime | timedelta] = {}
    for event in events:
        for prop in _time_props(event):
            for item in prop.dts if isinstance(prop, vDDDLists) else []:
                if isinstance(item.dt, tuple):
                    periods[to_utc(item.dt[0], zone)] = item.dt[1]
    return periods


def _exact_end(
    component: Component,
    start: date | datetime,
    library_end: date | datetime,
    zone: tzinfo,
    periods: dict[datetime, date | datetime | timedelta],
) -> datetime:
    """An occurrence's end in UTC, its length added as RFC 5545 3.3.6 and 3.8.5.3 say."""
    if not isinstance(start, datetime):
        return to_utc(library_end, zone)
    begin = to_utc(start, zone)
    length: Any = periods.get(begin)
    if isinstance(length, date):  # a period with an explicit end
        return to_utc(length, zone)
    if isinstance(length, timedelta):
        return add_duration(start, length)
    nominal: Any = component.get(_NOMINAL_LENGTH)
    if nominal is not None:
        return add_duration(start, nominal.dt)
    exact: Any = component.get(_EXACT_LENGTH)
    if exact is not None:
        return begin + exact.dt
    return to_utc(library_end, zone)


def to_utc(value: date | datetime, zone: tzinfo) -> datetime:
    """A start/end in UTC; a date is local midnight in ``zone``."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    return datetime.combine(value, time(), tzinfo=zone).astimezone(UTC)


def _difference(start: date | datetime, recurrence_id: date | datetime) -> timedelta:
    """start - recurrence_id, mixing dates and datetimes the way the library does."""
    if isinstance(start, datetime) and not isinstance(recurrence_id, datetime):
        recurrence_id = datetime.combine(recurrence_id, time(), tzinfo=start.tzinfo)
    elif isinstance(recurrence_id, datetime) and not isinstance(start, datetime):
        start = datetime.combine(start, time(), tzinfo=recurrence_id.tzinfo)
    return start - recurrence_id  # type: ignore[operator]


def _recurrence_id_text(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat()  # an all-day series: the date itself, zone-independent


class _RecurrenceIds:
    """The RECURRENCE-ID of every occurrence, also under RANGE=THISANDFUTURE.

    recurring-ical-events copies a THISANDFUTURE override onto every later
    occurrence, its RECURRENCE-ID included, so those would all share one id. Such
    an occurrence's original start is its start minus the override's move.
    """

    def __init__(self, loaded: LoadedCalendar) -> None:
        self._zone = loaded.zone
        self._moves: dict[datetime, tuple[date | datetime, timedelta]] = {}
        for event in loaded.events:
            rid = event.get("RECURRENCE-ID")
            if rid is not None and rid.params.get("RANGE") == "THISANDFUTURE":
                start = event.get("DTSTART").dt
                self._moves[to_utc(rid.dt, self._zone)] = (start, _difference(start, rid.dt))

    def of(self, component: Component) -> str:
        rid = component.get("RECURRENCE-ID")
        start = component.get("DTSTART").dt
        move = self._moves.get(to_utc(rid.dt, self._zone))
        if move is None or to_utc(start, self._zone) == to_utc(move[0], self._zone):
            return _recurrence_id_text(rid.dt)
        return _recurrence_id_text(start - move[1])


def is_recurring(events: list[Component]) -> bool:
    """A series: an RRULE or RDATE, or any override (RECURRENCE-ID)."""
    return any(("RRULE" in e or "RDATE" in e or "RECURRENCE-ID" in e) for e in events)


def occurrences_between(
    loaded: LoadedCalendar,
    start: datetime,
    end: datetime,
    query: recurring_ical_events.CalendarQuery | None = None,
) -> list[Occurrence]:
    """The occurrences of a loaded calendar overlapping [start, end), sorted.

    ``query``: a ``CalendarQuery`` of ``loaded.calendar`` to reuse.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if query is None:
        query = recurring_ical_events.CalendarQuery(loaded.calendar)
    # In the calendar's zone, so that a DATE means local midnight there.
    components = query.between((start - _WALL_CLOCK_SLACK).astimezone(loaded.zone), end.astimezone(loaded.zone))
    recurring = is_recurring(loaded.events)
    rids = _RecurrenceIds(loaded)
    periods = _rdate_periods(loaded.events, loaded.zone) if recurring else {}
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    result: list[Occurrence] = []
    for component in components:
        begin = component.get("DTSTART").dt
        # DTEND is always set by the library: on the wall clock (see the module doc),
        # or RFC 5545 3.6.1's defaults when DTEND and DURATION are both missing - one
        # day for a DATE, and zero time for a DATE-TIME (such an event blocks
        # nothing, but we still report it).
        finish = _exact_end(component, begin, component.get("DTEND").dt, loaded.zone, periods)
        occurrence = Occurrence(
            uid=str(component.get("UID")),
            start=to_utc(begin, loaded.zone),
            end=finish,
            all_day=not isinstance(begin, datetime),
            transparent=str(component.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT",
            cancelled=str(component.get("STATUS", "")).upper() == "CANCELLED",
            recurrence_id=rids.of(component) if recurring else "",
            summary=str(component.get("SUMMARY", "")),
            location=str(component.get("LOCATION", "")),
        )
        if _overlaps(occurrence, start_utc, end_utc):
            result.append(occurrence)
    result.sort(key=lambda o: (o.start, o.end, o.recurrence_id))
    return result


def _overlaps(occurrence: Occurrence, start: datetime, end: datetime) -> bool:
    if occurrence.start == occurrence.end:  # zero length: an instant in [start, end)
        return start <= occurrence.start < end
    return occurrence.start < end and start < occurrence.end


def expand(ical: str, start: datetime, end: datetime, *, default_tz: str) -> list[Occurrence]:
    """Every occurrence of the resource overlapping [start, end), sorted by start.

    Cancelled overrides are included (cancelled=True). Raises UnparsableResource for
    a resource that parse_resource would reject.
    """
    return occurrences_between(load_calendar(ical, default_tz=default_tz), start, end)
