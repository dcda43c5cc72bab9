"""Conflicts: the user's own calendar putting busy time on a booked appointment.

DOMAIN.md, "When the two sides disagree": when a sync imports a busy event (or
occurrence) that overlaps an appointment already booked, or the user moves an
appointment in iCloud onto another one, the service says so and changes nothing
by itself; the conflict clears when the overlap ends. Booking over busy time is
refused, so only changes that come from the calendar after a booking make one.

Pure functions over the ``UserSchedule``'s plain records (see ``bookings.py``):
the aggregate calls them and records what they find as events. An appointment
holds at most one open conflict per source (an imported resource, or another
appointment): the earliest busy occurrence of the source that overlaps it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from calendar_domain.bookings import appointment_uid, record_span
from calendar_domain.busy import AllDayPolicy, busy_rule
from calendar_domain.occurrences import ALL_DAY, CANCELLED, TRANSPARENT

IMPORTED_EVENT = "imported_event"
APPOINTMENT = "appointment"
# Open conflicts kept per appointment by default: beyond this many sources on one
# appointment the CRM already knows the time is lost; more would only grow the schedule.
MAX_OPEN_CONFLICTS = 50


@dataclass(frozen=True)
class ConflictSource:
    """What overlaps an appointment, with its provenance."""

    kind: str  # IMPORTED_EVENT or APPOINTMENT
    connection_id: str = ""
    calendar_id: str = ""
    href: str = ""
    uid: str = ""
    etag: str = ""
    other_appointment_id: str = ""  # kind APPOINTMENT: the appointment it overlaps

    @property
    def key(self) -> str:
        return source_key(self.kind, self.calendar_id, self.href, self.other_appointment_id)


@dataclass(frozen=True)
class Overlap:
    """One source's earliest busy occurrence over an appointment, and the shared time."""

    source: ConflictSource
    occurrence_start: datetime
    occurrence_end: datetime
    start: datetime
    end: datetime


@dataclass(frozen=True)
class BusyOccurrence:
    """A busy occurrence of an imported resource, as the availability model holds it."""

    source: ConflictSource
    start: datetime
    end: datetime


def earliest_overlaps(record: dict[str, Any], occurrences: Iterable[BusyOccurrence]) -> list[Overlap]:
    """Per source, the earliest of ``occurrences`` that overlaps the appointment."""
    if record["status"] != "booked":
        return []
    start, end = (_epoch(t) for t in record_span(record))
    found: dict[str, Overlap] = {}
    for item in sorted(occurrences, key=lambda o: o.start):
        o_start, o_end = _epoch(item.start), _epoch(item.end)
        if o_start < end and start < o_end and item.source.key not in found:
            found[item.source.key] = _overlap(item.source, o_start, o_end, start, end)
    return [found[key] for key in sorted(found)]


def other_than(appointment_id: str, source: ConflictSource) -> bool:
    """Whether ``source`` is something other than the appointment's own event: a
    copy of it the user keeps in another calendar (or moved there) carries its UID
    and its times, and is no double booking of it."""
    return source.kind != IMPORTED_EVENT or source.uid != appointment_uid(appointment_id)


def source_key(kind: str, calendar_id: str, href: str, other_appointment_id: str) -> str:
    if kind == APPOINTMENT:
        return f"{APPOINTMENT}\x1f{other_appointment_id}"
    return f"{calendar_id}\x1f{href}"


def blocks(flags: int, policy: AllDayPolicy) -> bool:
    """Whether an imported occurrence with these flags (``occurrences.encode``) is busy."""
    busy, _ = busy_rule(
        transparent=bool(flags & TRANSPARENT), cancelled=bool(flags & CANCELLED), all_day=bool(flags & ALL_DAY),
        policy=policy,
    )
    return busy


class BookedIndex:
    """The booked appointments of a schedule by start, to find the ones a span
    overlaps without looking at each (a first sync imports thousands of events)."""

    def __init__(self, appointments: dict[str, dict[str, Any]]) -> None:
        spans = sorted(
            (int(s.timestamp()), int(e.timestamp()), appointment_id)
            for appointment_id, record in appointments.items()
            if record["status"] == "booked"
            for s, e in (record_span(record),)
        )
        self._starts = [s for s, _, _ in spans]
        self._spans = spans
        # a booking lasts at most MAX_DURATION_SECONDS, but one that followed its
        # event in iCloud lasts what the user made of it
        self._longest = max((e - s for s, e, _ in spans), default=0)

    def __bool__(self) -> bool:
        return bool(self._spans)

    def overlapping(self, start: int, end: int) -> list[tuple[int, int, str]]:
        """(start, end, id) of each booked appointment overlapping [start, end)."""
        found = []
        # none starting earlier than the longest lasts before ``start`` can reach it
        low = bisect.bisect_left(self._starts, start - self._longest)
        high = bisect.bisect_left(self._starts, end)
        for item in self._spans[low:high]:
            if item[1] > start:
                found.append(item)
        return found


def imported_overlaps(
    index: BookedIndex, source: ConflictSource, occurrences: Iterable[list[Any]], policy: AllDayPolicy
) -> dict[str, Overlap]:
    """appointment id -> the earliest busy occurrence of an imported resource that
    overlaps the appointment (``occurrences`` as an import event carries them)."""
    found: dict[str, Overlap] = {}
    for start, end, flags, *_ in occurrences:
        if not blocks(flags, policy):
            continue
        for a_start, a_end, appointment_id in index.overlapping(start, end):
            if not other_than(appointment_id, source):
                continue
            earlier = found.get(appointment_id)
            if earlier is None or _epoch(earlier.occurrence_start) > start:
                found[appointment_id] = _overlap(source, start, end, a_start, a_end)
    return found


def appointment_overlaps(appointments: dict[str, dict[str, Any]], appointment_id: str) -> dict[str, Overlap]:
    """other appointment id -> its overlap with ``appointment_id`` (both booked)."""
    record = appointments[appointment_id]
    if record["status"] != "booked":
        return {}
    start, end = (int(t.timestamp()) for t in record_span(record))
    found = {}
    for other_id, other in sorted(appointments.items()):
        if other_id == appointment_id or other["status"] != "booked":
            continue
        o_start, o_end = (int(t.timestamp()) for t in record_span(other))
        if o_start < end and start < o_end:
            source = ConflictSource(APPOINTMENT, other_appointment_id=other_id)
            found[other_id] = _overlap(source, o_start, o_end, start, end)
    return found


def ended(appointments: dict[str, dict[str, Any]], appointment_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(appointment id, open conflict) of each conflict that ends now that
    ``appointment_id`` moved or was cancelled: its own that no longer overlap it,
    and, for another appointment it no longer overlaps, that one's over it."""
    record = appointments[appointment_id]
    found = []
    for _, conflict in sorted((record.get("conflicts") or {}).items()):
        if conflict["kind"] != APPOINTMENT:
            if not still_overlaps(record, conflict):
                found.append((appointment_id, conflict))
            continue
        other_id = conflict["other_appointment_id"]
        other = appointments.get(other_id)
        if other is not None and other["status"] == "booked" and still_overlaps(
            record, {"occurrence_start": other["start"], "occurrence_end": other["end"]}
        ):
            continue
        found.append((appointment_id, conflict))
        mirrored = ((other or {}).get("conflicts") or {}).get(source_key(APPOINTMENT, "", "", appointment_id))
        if mirrored is not None:
            found.append((other_id, mirrored))
    return found


def still_overlaps(record: dict[str, Any], conflict: dict[str, Any]) -> bool:
    """Whether an open conflict's occurrence still overlaps the appointment as it
    is now (after the appointment moved; the source itself did not change)."""
    if record["status"] != "booked":
        return False
    start, end = record_span(record)
    return datetime.fromisoformat(conflict["occurrence_start"]) < end and start < datetime.fromisoformat(
        conflict["occurrence_end"]
    )


def same_overlap(conflict: dict[str, Any] | None, found: Overlap) -> bool:
    return conflict is not None and conflict["occurrence_start"] == found.occurrence_start.isoformat() and (
        conflict["overlap_start"], conflict["overlap_end"]
    ) == (found.start.isoformat(), found.end.isoformat())


def _overlap(source: ConflictSource, start: int, end: int, a_start: int, a_end: int) -> Overlap:
    return Overlap(
        source, _time(start), _time(end), _time(max(start, a_start)), _time(min(end, a_end))
    )


def _time(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())
