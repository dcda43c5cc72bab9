"""Occurrences carried by import events, so that read models need not parse.

The iCloud adapter expands each resource when it is fetched, over a range around
the fetch time (``materialised_range``), and the import event carries the result
in a compact form: ``[start, end, flags, recurrence_id, summary, location]`` with
times in seconds since the epoch (UTC) and summary/location empty when they are
the series' own. Rebuilding a read model from the log is then arithmetic. Times
outside the range (a series that runs for ever, or a question about long ago)
are expanded from the event's iCalendar text when asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from calendar_domain.busy import Occurrence

MATERIALISED_BEHIND = timedelta(days=31)
MATERIALISED_AHEAD = timedelta(days=400)

ALL_DAY, TRANSPARENT, CANCELLED = 1, 2, 4


def materialised_range(fetched_at: datetime) -> tuple[datetime, datetime]:
    return fetched_at - MATERIALISED_BEHIND, fetched_at + MATERIALISED_AHEAD


def encode(occurrences: Iterable[Occurrence], summary: str, location: str) -> list[list[Any]]:
    return [
        [
            int(o.start.timestamp()),
            int(o.end.timestamp()),
            (ALL_DAY if o.all_day else 0) | (TRANSPARENT if o.transparent else 0) | (CANCELLED if o.cancelled else 0),
            o.recurrence_id,
            "" if o.summary == summary else o.summary,
            "" if o.location == location else o.location,
        ]
        for o in occurrences
    ]


def decode(rows: Iterable[list[Any]], uid: str, summary: str, location: str) -> list[Occurrence]:
    return [
        Occurrence(
            uid=uid,
            start=datetime.fromtimestamp(start, UTC),
            end=datetime.fromtimestamp(end, UTC),
            all_day=bool(flags & ALL_DAY),
            transparent=bool(flags & TRANSPARENT),
            cancelled=bool(flags & CANCELLED),
            recurrence_id=rid,
            summary=own_summary or summary,
            location=own_location or location,
        )
        for start, end, flags, rid, own_summary, own_location in rows
    ]
