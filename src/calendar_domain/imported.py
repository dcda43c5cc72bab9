"""What a sync of one calendar hands the schedules it feeds: each resource parsed
(``ImportedSeries``), skipped (``SkippedResource``) or deleted, in a
``CalendarChanges``; and how a series travels in an import event's payload."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ImportedSeries:
    """One CalDAV resource, parsed: a single event or a series with overrides."""

    href: str
    etag: str
    uid: str
    summary: str
    location: str
    recurring: bool
    all_day: bool
    first_start: datetime
    last_end: datetime | None  # None: the series never ends
    ical: str  # normalised VCALENDAR: the VEVENTs of this UID and their VTIMEZONEs
    time_zone: str = ""  # the user's zone the times were read in (floating times, dates)
    zone_dependent: bool = True  # another user zone would move some occurrence
    # Occurrences (see ``occurrences.encode``) overlapping [expanded_from,
    # expanded_until); both None: every occurrence. occurrences None: none carried
    # (events recorded before they were), expand ``ical`` instead.
    expanded_from: datetime | None = None
    expanded_until: datetime | None = None
    occurrences: list[list[Any]] | None = None


@dataclass(frozen=True)
class SkippedResource:
    href: str
    etag: str
    reason: str


@dataclass(frozen=True)
class CalendarChanges:
    """What one sync of one calendar found, ready to apply to schedules.

    ``changed`` and ``skipped`` are resources whose etag differs from the last
    sync (or every resource, on a full listing); ``deleted`` are hrefs gone from
    the server. ``sync_token`` is the server's new token ("" when the server has
    no sync-collection and etags are compared instead).
    """

    calendar_id: str
    changed: list[ImportedSeries]
    skipped: list[SkippedResource]
    deleted: list[str]
    sync_token: str
    fetched_at: datetime


@dataclass(frozen=True)
class KnownResource:
    uid: str
    etag: str
    skipped_reason: str = ""


_OPTIONAL_TIMES = ("last_end", "expanded_from", "expanded_until")
_SERIES_FIELDS = tuple(f.name for f in fields(ImportedSeries))


def series_payload(series: ImportedSeries) -> dict[str, Any]:
    # Field by field, not ``asdict``: that deep-copies every occurrence, and a first
    # sync of thousands of resources spent most of its recording time there. The
    # occurrences are shared with the (frozen) series; nothing changes either.
    payload = {name: getattr(series, name) for name in _SERIES_FIELDS}
    payload["first_start"] = series.first_start.isoformat()
    for name in _OPTIONAL_TIMES:
        value = getattr(series, name)
        payload[name] = value.isoformat() if value else ""
    return payload


def series_from_payload(payload: dict[str, Any]) -> ImportedSeries:
    times = {name: datetime.fromisoformat(payload[name]) if payload[name] else None for name in _OPTIONAL_TIMES}
    return ImportedSeries(**{**payload, "first_start": datetime.fromisoformat(payload["first_start"]), **times})


def upcast_series_v1_v2(series: dict[str, Any]) -> dict[str, Any]:
    """A version-1 series carried no occurrences and did not say which zone its
    floating times were read in: readers expand its iCalendar text instead."""
    return {
        **series,
        "time_zone": "",
        "zone_dependent": True,
        "expanded_from": "",
        "expanded_until": "",
        "occurrences": None,
    }
