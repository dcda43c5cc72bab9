"""Availability rules (DOMAIN.md, "Availability"): working hours, booking rules,
free slots and explanations. Pure functions over plain values.

Times inside are integer seconds since the epoch (UTC): the free-slot loop runs
for every query, and integer comparisons keep it cheap. Working hours are wall
times in the user's IANA zone, so a window of 09:00-17:00 stays 09:00-17:00 local
across a daylight-saving change.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import Enum
from typing import Any, NamedTuple

from calendar_domain.errors import InvalidValue, raise_all

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, order=True)
class Window:
    """Minutes after local midnight: [start, end), end at most 24:00."""

    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class WorkingHours:
    """Weekly windows per weekday (0 = Monday) and dated overrides; an override
    with no windows is a day off."""

    weekly: dict[int, tuple[Window, ...]]
    overrides: dict[date, tuple[Window, ...]] = field(default_factory=dict)

    def windows_on(self, day: date) -> tuple[Window, ...]:
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly.get(day.weekday(), ())

    def to_payload(self) -> dict[str, Any]:
        def windows(ws: tuple[Window, ...]) -> list[dict[str, int]]:
            return [{"start_minute": w.start_minute, "end_minute": w.end_minute} for w in ws]

        return {
            "weekly": [{"weekday": d, "windows": windows(ws)} for d, ws in sorted(self.weekly.items())],
            "overrides": [{"date": day.isoformat(), "windows": windows(ws)} for day, ws in sorted(self.overrides.items())],
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> WorkingHours:
        def windows(items: list[dict[str, int]]) -> tuple[Window, ...]:
            return tuple(Window(w["start_minute"], w["end_minute"]) for w in items)

        return cls(
            weekly={int(d["weekday"]): windows(d["windows"]) for d in payload["weekly"]},
            overrides={date.fromisoformat(o["date"]): windows(o["windows"]) for o in payload["overrides"]},
        )


# Until a user says otherwise: Monday to Friday, 09:00-17:00 in their zone.
DEFAULT_WORKING_HOURS = WorkingHours({day: (Window(9 * 60, 17 * 60),) for day in range(5)})


@dataclass(frozen=True)
class BookingRules:
    slot_minutes: int = 30
    step_minutes: int = 0  # 0: the slot length
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    minimum_notice_minutes: int = 0
    horizon_days: int = 60  # how far ahead a slot may start
    daily_cap: int = 0  # appointments per local day; 0: no cap
    # The caps below: 0 is no cap. Weeks are ISO 8601 (from Monday), months the
    # calendar's, both local to the user's zone.
    daily_cap_minutes: int = 0
    weekly_cap: int = 0
    weekly_cap_minutes: int = 0
    monthly_cap: int = 0
    monthly_cap_minutes: int = 0

    @property
    def capped(self) -> bool:
        return any(getattr(self, kind.value) for kind in CAP_KINDS)

    @property
    def step(self) -> int:
        return 60 * (self.step_minutes or self.slot_minutes)

    def to_payload(self) -> dict[str, int]:
        return dict(self.__dict__)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> BookingRules:
        return cls(**{k: int(v) for k, v in payload.items()})


DEFAULT_BOOKING_RULES = BookingRules()


_WHOLE_DAY = Window(0, 1440)


def checked_working_hours(
    weekly: Mapping[int, Sequence[Window]], overrides: Mapping[date, Sequence[Window]]
) -> WorkingHours:
    """Working hours with every window checked; overlapping windows are refused."""
    def check(field_name: str, windows: Sequence[Window]) -> tuple[Window, ...]:
        ordered = tuple(sorted(windows))
        for i, window in enumerate(ordered):
            if not 0 <= window.start_minute < window.end_minute <= MINUTES_PER_DAY:
                raise InvalidValue(
                    field_name, "a window must start before it ends, within 00:00-24:00 (minutes 0-1440)"
                )
            if i and ordered[i - 1].end_minute > window.start_minute:
                raise InvalidValue(field_name, "windows of one day must not overlap")
        return ordered

    checked_weekly = {day: check(f"weekly.{WEEKDAYS[day]}", ws) for day, ws in weekly.items() if ws}
    checked_overrides = {day: check(f"overrides.{day.isoformat()}", ws) for day, ws in overrides.items()}
    if len(checked_overrides) > 1000:
        raise InvalidValue("overrides", "at most 1000 date overrides")
    return WorkingHours(checked_weekly, checked_overrides)


_RULE_LIMITS = {
    "slot_minutes": (5, MINUTES_PER_DAY),
    "step_minutes": (0, MINUTES_PER_DAY),
    "buffer_before_minutes": (0, MINUTES_PER_DAY),
    "buffer_after_minutes": (0, MINUTES_PER_DAY),
    "minimum_notice_minutes": (0, 365 * MINUTES_PER_DAY),
    "horizon_days": (1, 730),
    "daily_cap": (0, 1000),
    "daily_cap_minutes": (0, MINUTES_PER_DAY),
    "weekly_cap": (0, 7 * 1000),
    "weekly_cap_minutes": (0, 7 * MINUTES_PER_DAY),
    "monthly_cap": (0, 31 * 1000),
    "monthly_cap_minutes": (0, 31 * MINUTES_PER_DAY),
}


def checked_booking_rules(**values: int) -> BookingRules:
    problems = []
    for name, value in values.items():
        low, high = _RULE_LIMITS[name]
        if not low <= value <= high:
            problems.append(InvalidValue(name, f"{name} must be between {low} and {high}"))
        elif name == "step_minutes" and 0 < value < 5:
            problems.append(InvalidValue(name, "step_minutes must be 0 (the slot length) or at least 5"))
    raise_all(problems)
    return BookingRules(**values)


class SourceKind(str, Enum):
    IMPORTED = "imported"  # an event of a blocking iCloud calendar
    APPOINTMENT = "appointment"  # booked through this service
    CRM_BLOCK = "crm_block"  # a blocked slot made in the CRM


class Busy(NamedTuple):
    """Something that takes time, with where it came from (for explanations)."""

    start: int
    end: int
    kind: SourceKind
    blocks: bool
    rule: str  # BusyRule value for imported events; the kind otherwise
    source: Any = None  # provenance, opaque here


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def local_days(start: int, end: int, zone: tzinfo) -> list[date]:
    """Every local date that [start, end) touches, plus the day before (a window
    running to 24:00 on the eve can still reach in)."""
    first = from_epoch(start).astimezone(zone).date() - timedelta(days=1)
    last = from_epoch(max(start, end - 1)).astimezone(zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def local_day_span(start: int, end: int, zone: tzinfo) -> tuple[int, int]:
    """From the start of the local day [start, end) begins on to the end of the
    day it ends on."""
    first = from_epoch(start).astimezone(zone).date()
    last = from_epoch(max(start, end - 1)).astimezone(zone).date()
    return window_bounds(first, _WHOLE_DAY, zone)[0], window_bounds(last, _WHOLE_DAY, zone)[1]


@functools.lru_cache(maxsize=8192)
def window_bounds(day: date, window: Window, zone: tzinfo) -> tuple[int, int]:
    midnight = datetime.combine(day, time(), tzinfo=zone)
    begin = midnight + timedelta(minutes=window.start_minute)
    finish = midnight + timedelta(minutes=window.end_minute)
    # Wall-clock arithmetic above, then to UTC: 09:00 stays 09:00 on a DST day.
    return epoch(_normal(begin, zone)), epoch(_normal(finish, zone))


def _normal(moment: datetime, zone: tzinfo) -> datetime:
    """A wall time that lands in a DST gap moves forward by the gap (02:30 -> 03:30)."""
    return moment.astimezone(UTC).astimezone(zone)


@dataclass(frozen=True)
class SlotQuery:
    start: int
    end: int
    now: int
    zone: tzinfo
    hours: WorkingHours
    rules: BookingRules
    # Appointments per local day (of their start), for the caps.
    booked_per_day: dict[date, int] = field(default_factory=dict)
    # Minutes booked per local day (of the appointment's start), for the caps.
    booked_minutes_per_day: dict[date, int] = field(default_factory=dict)


def blocking_spans(busy: Iterable[Busy], before: int, after: int) -> list[tuple[int, int]]:
    """Busy intervals widened by the buffers (a slot needs ``before`` seconds free
    ahead of it and ``after`` behind it), merged and sorted."""
    spans = sorted((b.start - after, b.end + before) for b in busy if b.blocks and b.end > b.start)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def bookable_span(query: SlotQuery) -> tuple[int, int]:
    """[earliest, latest) start of a slot: the query's window cut by the minimum
    notice and the horizon (empty when earliest >= latest)."""
    rules = query.rules
    earliest = max(query.start, query.now + rules.minimum_notice_minutes * 60)
    latest = min(query.end, horizon_end(query.now, rules.horizon_days, query.zone))
    return earliest, latest


def horizon_end(now: int, days: int, zone: tzinfo) -> int:
    """``days`` local days after ``now`` (RFC 5545 3.3.6's nominal days: the same wall
    time, 23 or 25 real hours for a day with a daylight-saving change). The notice is
    in minutes, which are real time."""
    return epoch(_normal(from_epoch(now).astimezone(zone) + timedelta(days=days), zone))


def free_slots(
    query: SlotQuery,
    busy: Iterable[Busy],
    *,
    slot_seconds: int = 0,
    step_seconds: int = 0,
    spans: list[tuple[int, int]] | None = None,
    origin: int | None = None,
) -> list[tuple[int, int]]:
    """Free slots of one user starting in [query.start, query.end).

    A slot lies inside one working window, starts at the window's start plus a
    whole number of steps, leaves the buffers free around it, starts no sooner
    than the minimum notice and no later than the horizon, and falls on a day
    whose cap is not reached. ``slot_seconds``/``step_seconds`` override the
    user's own, and ``origin`` puts the slots on one grid whatever the working
    windows (``origin`` plus whole steps): a team query puts everyone on one
    grid, so that users whose windows start at different times can meet.
    ``spans``: the ``blocking_spans`` of ``busy`` with the rules' buffers, if
    already known.
    """
    earliest, latest = bookable_span(query)
    if earliest >= latest:
        return []
    return grid_slots(
        query, busy, earliest, latest, slot_seconds=slot_seconds, step_seconds=step_seconds, spans=spans, origin=origin
    )


def grid_slots(
    query: SlotQuery,
    busy: Iterable[Busy],
    earliest: int,
    latest: int,
    *,
    slot_seconds: int = 0,
    step_seconds: int = 0,
    spans: list[tuple[int, int]] | None = None,
    origin: int | None = None,
) -> list[tuple[int, int]]:
    """The free slots starting in [earliest, latest), ignoring notice and horizon.

    They are exactly the grid points (a working window's start plus whole steps,
    or ``origin`` plus whole steps) in that span whose slot fits the window and
    meets no blocking span, so the slots of a narrower span are these, filtered
    by start.
    """
    rules = query.rules
    length = slot_seconds or rules.slot_minutes * 60
    step = step_seconds or (rules.step if not slot_seconds else length)
    if spans is None:
        spans = blocking_spans(busy, rules.buffer_before_minutes * 60, rules.buffer_after_minutes * 60)
    span_ends = [end for _, end in spans]
    capped = rules.capped
    slots: list[tuple[int, int]] = []
    for day in local_days(earliest, latest, query.zone):
        if capped and caps_exceeded(query, day, -(-length // 60)):
            continue
        for window in query.hours.windows_on(day):
            begin, finish = window_bounds(day, window, query.zone)
            if finish <= earliest or begin >= latest:
                continue
            grid = begin if origin is None else origin
            # the first grid point at or after the window's start and the earliest start
            t = grid + -(-(max(begin, earliest) - grid) // step) * step
            i = bisect_left(span_ends, t + 1)
            while t + length <= finish and t < latest:
                # the first span ending after t; it blocks when it starts before t + length
                while i < len(spans) and spans[i][1] <= t:
                    i += 1
                if i < len(spans) and spans[i][0] < t + length:
                    # jump past the span, on the grid (every point skipped meets it too)
                    t = grid + -(-(spans[i][1] - grid) // step) * step
                    continue
                slots.append((t, t + length))
                t += step
    slots.sort()
    return slots


class ReasonKind(str, Enum):
    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    DAY_OFF = "day_off"  # a date override with no windows
    MINIMUM_NOTICE = "minimum_notice"
    BEYOND_HORIZON = "beyond_horizon"
    DAILY_CAP = "daily_cap"
    DAILY_CAP_MINUTES = "daily_cap_minutes"
    WEEKLY_CAP = "weekly_cap"
    WEEKLY_CAP_MINUTES = "weekly_cap_minutes"
    MONTHLY_CAP = "monthly_cap"
    MONTHLY_CAP_MINUTES = "monthly_cap_minutes"
    BUSY = "busy"  # something overlaps the time itself
    BUFFER = "buffer"  # something is too close before or after


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    detail: str
    busy: Busy | None = None
    # for a cap: what is booked in its period (appointments or minutes) and its limit
    booked: int = 0
    limit: int = 0


# Each cap: its period and whether it counts minutes (else appointments).
_CAPS: dict[ReasonKind, tuple[str, bool]] = {
    ReasonKind.DAILY_CAP: ("day", False),
    ReasonKind.DAILY_CAP_MINUTES: ("day", True),
    ReasonKind.WEEKLY_CAP: ("week", False),
    ReasonKind.WEEKLY_CAP_MINUTES: ("week", True),
    ReasonKind.MONTHLY_CAP: ("month", False),
    ReasonKind.MONTHLY_CAP_MINUTES: ("month", True),
}
CAP_KINDS = frozenset(_CAPS)


def local_period(day: date, period: str) -> tuple[date, date]:
    """[first, after) local dates of the day, ISO 8601 week (Monday first) or
    calendar month holding ``day``. Dates, not instants: a period crossing a
    daylight-saving change keeps its local bounds (a week of 167 or 169 hours)."""
    if period == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=7)
    if period == "month":
        first = day.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1)
    return day, day + timedelta(days=1)


def caps_span(start: int, end: int, zone: tzinfo, rules: BookingRules) -> tuple[int, int]:
    """From the start of the first period any cap of ``rules`` counts for [start,
    end) to the end of the last: the appointments that decide the caps."""
    widest = max(
        (_CAPS[kind][0] for kind in CAP_KINDS if getattr(rules, kind.value)),
        key=("day", "week", "month").index,
        default="day",
    )
    first = local_period(from_epoch(start).astimezone(zone).date(), widest)[0]
    after = local_period(from_epoch(max(start, end - 1)).astimezone(zone).date(), widest)[1]
    return window_bounds(first, _WHOLE_DAY, zone)[0], window_bounds(after, _WHOLE_DAY, zone)[0]


def caps_exceeded(query: SlotQuery, day: date, minutes: int) -> list[Reason]:
    """The caps an appointment of ``minutes`` starting on local ``day`` would
    exceed, given what is booked."""
    reasons = []
    for kind, (period, in_minutes) in _CAPS.items():
        limit = getattr(query.rules, kind.value)
        if not limit:
            continue
        first, after = local_period(day, period)
        counts = query.booked_minutes_per_day if in_minutes else query.booked_per_day
        booked = sum(n for d, n in counts.items() if first <= d < after)
        if booked + (minutes if in_minutes else 1) > limit:
            unit = "minutes" if in_minutes else "appointments"
            what = {"day": "on", "week": "in the week of", "month": "in the month of"}[period]
            detail = f"{kind.value}: {booked} {unit} booked {what} {first.isoformat()}, at most {limit}"
            reasons.append(Reason(kind, detail, booked=booked, limit=limit))
    return reasons


def explain(query: SlotQuery, busy: Sequence[Busy]) -> tuple[list[Reason], list[Busy]]:
    """Every reason [query.start, query.end) is unavailable (empty: it is free), and
    the events there that do not block (transparent, cancelled, all-day free)."""
    rules, zone = query.rules, query.zone
    start, end = query.start, max(query.end, query.start + 1)  # an instant: one second
    reasons: list[Reason] = []
    if start < query.now + rules.minimum_notice_minutes * 60:
        reasons.append(Reason(ReasonKind.MINIMUM_NOTICE, f"needs {rules.minimum_notice_minutes} minutes' notice"))
    if start >= horizon_end(query.now, rules.horizon_days, zone):
        reasons.append(Reason(ReasonKind.BEYOND_HORIZON, f"bookable at most {rules.horizon_days} days ahead"))
    day = from_epoch(start).astimezone(zone).date()
    windows = [window_bounds(d, w, zone) for d in local_days(start, end, zone) for w in query.hours.windows_on(d)]
    if not any(b <= start and end <= f for b, f in windows):
        if day in query.hours.overrides and not query.hours.overrides[day]:
            reasons.append(Reason(ReasonKind.DAY_OFF, f"{day.isoformat()} is a day off"))
        else:
            reasons.append(Reason(ReasonKind.OUTSIDE_WORKING_HOURS, _hours_text(query.hours.windows_on(day), day)))
    if rules.capped:
        reasons.extend(caps_exceeded(query, day, -(-(end - start) // 60)))
    before, after = rules.buffer_before_minutes * 60, rules.buffer_after_minutes * 60
    free_anyway: list[Busy] = []
    for item in sorted(busy, key=lambda b: (b.start, b.end)):
        overlaps = item.start < end and start < item.end if item.end > item.start else start <= item.start < end
        if not item.blocks:
            if overlaps:
                free_anyway.append(item)
            continue
        if overlaps:
            reasons.append(Reason(ReasonKind.BUSY, f"{item.kind.value}: {item.rule}", item))
        elif item.start < end + after and start - before < item.end:  # as blocking_spans widens
            reasons.append(Reason(ReasonKind.BUFFER, "too close to something busy (buffer)", item))
    return reasons, free_anyway


def _hours_text(windows: Sequence[Window], day: date) -> str:
    if not windows:
        return f"no working hours on {WEEKDAYS[day.weekday()]} {day.isoformat()}"
    spans = ", ".join(f"{w.start_minute // 60:02d}:{w.start_minute % 60:02d}-{w.end_minute // 60:02d}:{w.end_minute % 60:02d}" for w in windows)
    return f"working hours on {day.isoformat()} are {spans}"
