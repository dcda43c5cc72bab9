"""Appointments and blocked slots made in the CRM: their values and the rule that
no two of them take the same time.

The records live in the ``UserSchedule`` aggregate as plain dicts (so snapshots
of large schedules serialise as they are); this module gives them names.
An appointment is written to iCloud under a UID and a resource name derived
from its id, so a retried write finds what an earlier attempt left, and the
sync recognises its own events when they come back.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from calendar_domain import values
from calendar_domain.errors import DomainError, InvalidValue, raise_all

BOOKING_NAMESPACE = uuid.UUID("5b1e8a4c-3d2f-4e6a-9c7b-8f0a1d2e3c4b")
UID_PREFIX = "crm-appointment-"
UID_SUFFIX = "@calendar-integration"
MAX_TITLE = 512
MAX_TEXT = 8192
MAX_CANCEL_REASON = 1024
MAX_ATTENDEES = 100
# A booking longer than this is surely a mistake in the request.
MAX_DURATION_SECONDS = 14 * 86400
# The longest window a list of appointments or blocked slots may cover.
MAX_LIST_DAYS = 366


class BookingConflict(DomainError):
    """The time is taken: by an appointment, a blocked slot, or (without override)
    the user's unavailable time. Metadata names what took it."""

    reason = "BOOKING_CONFLICT"


class BookingCapReached(BookingConflict):
    """A booking cap of the user's rules (per day, week or month) would be
    exceeded; metadata names the cap, what is booked and the limit."""

    reason = "BOOKING_CAP_REACHED"


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""


@dataclass(frozen=True)
class AppointmentDetails:
    title: str
    description: str = ""
    location: str = ""
    attendees: tuple[Attendee, ...] = field(default_factory=tuple)


def appointment_uid(appointment_id: str) -> str:
    """The iCalendar UID of an appointment's event: derived, never stored apart."""
    return f"{UID_PREFIX}{appointment_id}{UID_SUFFIX}"


def appointment_id_of_uid(uid: str) -> str | None:
    """The appointment id in one of our UIDs, or None for anybody else's."""
    if uid.startswith(UID_PREFIX) and uid.endswith(UID_SUFFIX):
        return uid[len(UID_PREFIX) : -len(UID_SUFFIX)] or None
    return None


def resource_name(appointment_id: str) -> str:
    """The file name of an appointment's event in the calendar collection."""
    return f"{appointment_id}.ics"


def appointment_id_of_href(href: str) -> str | None:
    name = href.rstrip("/").rsplit("/", 1)[-1]
    return name[: -len(".ics")] if name.endswith(".ics") else None


def derived_id(schedule_id: uuid.UUID, kind: str, request_id: str) -> str:
    """The id of a thing made by an idempotent request: the same request makes the
    same id, so a retry finds what the first attempt made."""
    return str(uuid.uuid5(BOOKING_NAMESPACE, f"{schedule_id}\x1f{kind}\x1f{request_id}"))


def checked_span(start: datetime | None, end: datetime | None, prefix: str = "") -> tuple[datetime, datetime]:
    if start is None:
        raise InvalidValue(f"{prefix}start_time", f"{prefix}start_time is required")
    if end is None:
        raise InvalidValue(f"{prefix}end_time", f"{prefix}end_time is required")
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidValue(f"{prefix}start_time", "times must carry a UTC offset")
    values.calendar_time(f"{prefix}start_time", start)
    values.calendar_time(f"{prefix}end_time", end)
    if end <= start:
        raise InvalidValue(f"{prefix}end_time", f"{prefix}end_time must be after {prefix}start_time")
    if (end - start).total_seconds() > MAX_DURATION_SECONDS:
        raise InvalidValue(f"{prefix}end_time", "an appointment or blocked slot may last at most 14 days")
    return start.astimezone(UTC).replace(microsecond=0), end.astimezone(UTC).replace(microsecond=0)


def checked_window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """A window to list appointments and blocked slots in: up to MAX_LIST_DAYS long
    (a rule of its own: an appointment lasts at most 14 days, a window is longer)."""
    problems = []
    for field, moment in (("start_time", start), ("end_time", end)):
        if moment is None:
            problems.append(InvalidValue(field, f"{field} is required"))
        else:
            try:
                values.calendar_time(field, moment)
            except InvalidValue as error:
                problems.append(error)
    raise_all(problems)
    assert start is not None and end is not None
    if end <= start:
        raise InvalidValue("end_time", "end_time must be after start_time")
    if end - start > timedelta(days=MAX_LIST_DAYS):
        raise InvalidValue("end_time", f"a window may span at most {MAX_LIST_DAYS} days")
    return start.astimezone(UTC), end.astimezone(UTC)


def checked_details(details: AppointmentDetails) -> AppointmentDetails:
    """The details of an appointment; every problem at once."""
    problems = []
    if not details.title.strip():
        problems.append(InvalidValue("title", "title is required"))
    if len(details.title) > MAX_TITLE:
        problems.append(InvalidValue("title", f"title may have at most {MAX_TITLE} characters"))
    for name in ("description", "location"):
        if len(getattr(details, name)) > MAX_TEXT:
            problems.append(InvalidValue(name, f"{name} may have at most {MAX_TEXT} characters"))
    if len(details.attendees) > MAX_ATTENDEES:
        problems.append(InvalidValue("attendees", f"at most {MAX_ATTENDEES} attendees"))
    for index, attendee in enumerate(details.attendees[:MAX_ATTENDEES]):
        email = attendee.email.strip()
        if "@" not in email or any(c.isspace() or c in "<>\"," for c in email) or len(email) > 254:
            field = f"attendees[{index}].email"
            problems.append(InvalidValue(field, f"{field} is not an e-mail address"))
    raise_all(problems)
    return details


@dataclass(frozen=True)
class Conflict:
    kind: str  # "appointment" or "blocked_slot"
    id: str
    start: datetime
    end: datetime
    title: str = ""

    def error(self) -> BookingConflict:
        what = "appointment" if self.kind == "appointment" else "blocked slot"
        return BookingConflict(
            f"the time overlaps {what} {self.id} ({self.start.isoformat()} to {self.end.isoformat()})",
            conflict_kind=self.kind,
            conflict_id=self.id,
            conflict_start=self.start.isoformat(),
            conflict_end=self.end.isoformat(),
        )


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def first_conflict(
    start: datetime,
    end: datetime,
    appointments: dict[str, dict[str, Any]],
    blocks: dict[str, dict[str, Any]],
    ignore: str = "",
) -> Conflict | None:
    """The first appointment (not cancelled; or its event's times in iCloud while
    they are held, ``icloud_changes.py``) or CRM blocked slot that overlaps
    [start, end), ignoring the appointment ``ignore`` (the one being moved)."""
    for appointment_id, record in sorted(appointments.items()):
        if appointment_id == ignore:
            continue
        if record["status"] == "booked":
            other_start, other_end = record_span(record)
            if overlaps(start, end, other_start, other_end):
                return Conflict("appointment", appointment_id, other_start, other_end)
        # where the user moved it in iCloud, until the CRM's version is written back
        for held in record.get("held") or ():
            other_start, other_end = datetime.fromisoformat(held[0]), datetime.fromisoformat(held[1])
            if overlaps(start, end, other_start, other_end):
                return Conflict("appointment", appointment_id, other_start, other_end)
    for block_id, record in sorted(blocks.items()):
        other_start, other_end = record_span(record)
        if overlaps(start, end, other_start, other_end):
            return Conflict("blocked_slot", block_id, other_start, other_end, record.get("title", ""))
    return None


# A span in the index: start, end, kind ("appointment" or "blocked_slot"), id, and
# which of the record's spans (0: its own; 1, 2, ...: the times held for it in iCloud).
_Entry = tuple[datetime, datetime, str, str, int]


class Spans:
    """The spans that refuse a booking, as ``first_conflict`` reads them from the
    records (appointments still booked, the times held for appointments in iCloud,
    CRM blocked slots), ordered by start, with a bound on their length: what
    overlaps a time starts less than that bound before it, so a booking's check
    reads the spans near the time asked, not the schedule's past or far future.
    Never changed in place (``with_`` gives a new one), so a copy of a schedule
    shares it. ``first_overlap`` answers as ``first_conflict`` does."""

    __slots__ = ("_entries", "_longest", "_starts", "_where")

    def __init__(
        self, entries: list[_Entry], starts: list[datetime], where: dict[tuple[str, str], list[_Entry]], longest: timedelta
    ) -> None:
        """``entries`` sorted, ``starts`` theirs, ``where`` each record's; ``longest``
        at least the longest of their lengths (it never shrinks: a bound is all it
        must be)."""
        self._entries = entries
        self._starts = starts
        self._where = where
        self._longest = longest

    @classmethod
    def of(cls, appointments: dict[str, dict[str, Any]], blocks: dict[str, dict[str, Any]]) -> Spans:
        where = {("appointment", key): cls.entries_of("appointment", key, r) for key, r in appointments.items()}
        where.update({("blocked_slot", key): cls.entries_of("blocked_slot", key, r) for key, r in blocks.items()})
        entries = sorted(e for spans in where.values() for e in spans)
        longest = max((e[1] - e[0] for e in entries), default=timedelta(0))
        return cls(entries, [e[0] for e in entries], {k: v for k, v in where.items() if v}, longest)

    @staticmethod
    def entries_of(kind: str, key: str, record: dict[str, Any] | None) -> list[_Entry]:
        """The spans by which a record (None: one that is gone) refuses bookings."""
        if record is None:
            return []
        if kind == "blocked_slot":
            return [(*record_span(record), kind, key, 0)]
        entries = [(*record_span(record), kind, key, 0)] if record["status"] == "booked" else []
        for which, held in enumerate(record.get("held") or (), start=1):
            entries.append((datetime.fromisoformat(held[0]), datetime.fromisoformat(held[1]), kind, key, which))
        return entries

    def with_(self, kind: str, key: str, entries: list[_Entry]) -> Spans:
        """This one with the spans of (kind, key) replaced by ``entries`` (copies of
        the lists, edited where they change: no entry is built again)."""
        old = self._where.get((kind, key), [])
        if not old and not entries:
            return self
        kept, starts, where = self._entries[:], self._starts[:], dict(self._where)
        for entry in old:
            index = bisect.bisect_left(kept, entry)
            del kept[index], starts[index]
        for entry in entries:
            index = bisect.bisect_left(kept, entry)
            kept.insert(index, entry)
            starts.insert(index, entry[0])
        if entries:
            where[(kind, key)] = entries
        else:
            del where[(kind, key)]
        return Spans(kept, starts, where, max([self._longest, *(e[1] - e[0] for e in entries)]))

    def first_overlap(
        self, start: datetime, end: datetime, blocks: dict[str, dict[str, Any]], ignore: str = ""
    ) -> Conflict | None:
        found: dict[str, _Entry] = {}
        first = bisect.bisect_right(self._starts, start - self._longest)  # any earlier one ended by start
        for entry in self._entries[first : bisect.bisect_left(self._starts, end)]:  # ... and these start before end
            other_start, other_end, kind, key, which = entry
            if start < other_end and not (kind == "appointment" and key == ignore):
                if kind not in found or (key, which) < (found[kind][3], found[kind][4]):
                    found[kind] = entry
        for kind in ("appointment", "blocked_slot"):
            if kind in found:
                other_start, other_end, _, key, _ = found[kind]
                title = blocks[key].get("title", "") if kind == "blocked_slot" else ""
                return Conflict(kind, key, other_start, other_end, title)
        return None


def record_span(record: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(record["start"]), datetime.fromisoformat(record["end"])


def attendees_payload(attendees: tuple[Attendee, ...]) -> list[dict[str, str]]:
    return [{"email": a.email.strip(), "name": a.name} for a in attendees]
