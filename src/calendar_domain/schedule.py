"""The UserSchedule aggregate: what blocks one user's time in one sub-account.

It holds the blocked slots imported from the user's blocking calendars (one per
iCloud resource: a single event, or a recurring series with its overrides) and
the sync checkpoint of each calendar. A checkpoint is recorded in the same
transaction as the slot events it accounts for, so a crash can never move a
sync token past changes that were not recorded.

The aggregate keeps only what its rules need (href, UID, etag per slot); the
event payloads carry the series itself (normalised iCalendar text) for the
availability read model to expand.
"""

from __future__ import annotations

import copy
import uuid
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, cast

from eventsourcing.domain import Aggregate, event

from calendar_domain import conflicts, icloud_changes
from calendar_domain.bookings import (
    AppointmentDetails,
    Conflict,
    Spans,
    appointment_id_of_href,
    appointment_id_of_uid,
    appointment_uid,
    attendees_payload,
    record_span,
)
from calendar_domain.conflicts import BookedIndex, BusyOccurrence, ConflictSource, Overlap
from calendar_domain.errors import AlreadyExists, DomainError, NotFound
from calendar_domain.icloud_changes import SyncRules
from calendar_domain.idempotency import RemembersRequests
from calendar_domain.imported import (  # what a sync hands a schedule; imported from here too
    CalendarChanges,
    ImportedSeries,
    KnownResource,
    SkippedResource,
    series_from_payload,
    series_payload,
    upcast_series_v1_v2,
)

SCHEDULE_NAMESPACE = uuid.UUID("9a7c2e4f-1b3d-4c5e-8f6a-0b1c2d3e4f5a")


class AppointmentCancelledError(DomainError):
    """The appointment was cancelled; it cannot be changed any more."""

    reason = "APPOINTMENT_CANCELLED"


class UserSchedule(Aggregate, RemembersRequests):
    # Schedules recorded before appointments existed restore from snapshots
    # without these; every change assigns a new value, never mutates these.
    # (not annotated: annotated class attributes would become dataclass fields)
    appointments = cast("dict[str, dict[str, Any]]", MappingProxyType({}))
    crm_blocks = cast("dict[str, dict[str, Any]]", MappingProxyType({}))
    request_ids = cast("list[str]", ())
    # When BookRoundRobin last gave this user an appointment (ISO 8601; "" never).
    last_assigned_at = ""

    # What this instance keeps for its own work, not state of the schedule: the
    # calendars whose entries it may change in place (``_entries_to_change``), and
    # the index of the spans its appointments and CRM blocks take (``_spans``).
    # Slots: not in snapshots, and not copied with the state.
    __slots__ = ("_own_calendars", "_span_index")

    class Started(Aggregate.Created):
        sub_account_id: str
        user_id: str

    class BlockedSlotImported(Aggregate.Event):
        """Version 2: the series carries its occurrences (``occurrences.py``)."""

        class_version = 2
        connection_id: str
        calendar_id: str
        series: dict[str, Any]
        fetched_at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["series"] = upcast_series_v1_v2(state["series"])

    class BlockedSlotUpdated(Aggregate.Event):
        class_version = 2
        connection_id: str
        calendar_id: str
        series: dict[str, Any]
        fetched_at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["series"] = upcast_series_v1_v2(state["series"])

    class BlockedSlotRemoved(Aggregate.Event):
        connection_id: str
        calendar_id: str
        href: str
        uid: str
        reason: str

    class ResourceSkipped(Aggregate.Event):
        connection_id: str
        calendar_id: str
        href: str
        etag: str
        reason: str

    class CalendarSynced(Aggregate.Event):
        connection_id: str
        calendar_id: str
        sync_token: str
        fetched_at: datetime
        imported: int
        updated: int
        removed: int
        skipped: int

    class CalendarReleased(Aggregate.Event):
        connection_id: str
        calendar_id: str
        reason: str

    # -- appointments and blocked slots made in the CRM -------------------------------

    class AppointmentBooked(Aggregate.Event):
        appointment_id: str
        start: datetime
        end: datetime
        title: str
        description: str
        location: str
        attendees: list[dict[str, str]]
        # The primary calendar when booked ({} when none): the event is written there.
        calendar: dict[str, str]
        overridden: list[str]  # unavailable-time reasons the caller chose to override
        request_id: str

    class AppointmentRescheduled(Aggregate.Event):
        """Version 2: ``cause`` says who moved it ("crm", or "icloud": the user
        moved its event there and the policy follows iCloud)."""

        class_version = 2
        appointment_id: str
        start: datetime
        end: datetime
        revision: int
        overridden: list[str]
        request_id: str
        cause: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["cause"] = icloud_changes.CRM

    class AppointmentCancelled(Aggregate.Event):
        """Version 2: ``cause`` as for AppointmentRescheduled ("icloud": its event
        was deleted there)."""

        class_version = 2
        appointment_id: str
        revision: int
        reason: str
        request_id: str
        cause: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["cause"] = icloud_changes.CRM

    class BlockedSlotCreated(Aggregate.Event):
        block_id: str
        start: datetime
        end: datetime
        title: str
        request_id: str

    class BlockedSlotDeleted(Aggregate.Event):
        block_id: str
        request_id: str

    class AppointmentPushed(Aggregate.Event):
        """The calendar holds (or, after a cancel, no longer holds) ``revision``."""

        appointment_id: str
        revision: int
        action: str  # created, updated, deleted, found (a retry found its own write)
        connection_id: str
        calendar_id: str
        href: str
        etag: str

    class AppointmentPushFailed(Aggregate.Event):
        appointment_id: str
        revision: int
        error: str
        attempts: int
        permanent: bool
        retry_at: datetime | None

    class AppointmentChangedInICloud(Aggregate.Event):
        """The appointment's event came back changed by someone else (``moved``:
        to another time, or made a series). What follows a move is the next event:
        AppointmentRescheduled (cause "icloud") or AppointmentRestoreRequested."""

        appointment_id: str
        calendar_id: str
        href: str
        etag: str
        start: datetime
        end: datetime
        moved: bool

    class AppointmentDeletedInICloud(Aggregate.Event):
        appointment_id: str
        calendar_id: str
        href: str

    class AppointmentRestoreRequested(Aggregate.Event):
        """The CRM's version (``revision``) is to be written back to iCloud over the
        user's move or deletion; until it is, ``held`` (the times the calendar
        shows, [start, end] ISO pairs) block as well."""

        appointment_id: str
        revision: int
        calendar_id: str
        href: str
        held: list[list[str]]

    class AppointmentConflictDetected(Aggregate.Event):
        """Busy time from the user's calendar (an imported event's occurrence, or
        another appointment moved there in iCloud) overlaps a booked appointment."""

        appointment_id: str
        kind: str  # "imported_event" or "appointment"
        connection_id: str
        calendar_id: str
        href: str
        uid: str
        etag: str
        other_appointment_id: str
        occurrence_start: datetime
        occurrence_end: datetime
        overlap_start: datetime
        overlap_end: datetime

    class AppointmentConflictCleared(Aggregate.Event):
        appointment_id: str
        kind: str
        calendar_id: str
        href: str
        other_appointment_id: str
        reason: str

    class RoundRobinAssigned(Aggregate.Event):
        """A team booking gave this user the appointment booked just before it:
        every candidate (free, or busy and why) and why this one won."""
        appointment_id: str
        user_id: str
        why: str
        members: list[dict[str, Any]]
        assigned_time: datetime
        request_id: str

    @staticmethod
    def create_id(sub_account_id: str, user_id: str) -> uuid.UUID:
        return uuid.uuid5(SCHEDULE_NAMESPACE, f"{sub_account_id}\x1f{user_id}")

    def __deepcopy__(self, memo: dict[int, Any]) -> UserSchedule:
        """The repository hands out a copy of the cached schedule for every command
        and read, so a copy must cost nothing like the schedule's size (a user
        with 10,000 imported events and 2,000 past appointments: 45 ms a copy,
        most of a booking). The state is shared, not copied: appointments, CRM
        blocks, checkpoints and request ids are never changed in place (every
        change assigns a new value), and each calendar's resource entries are
        copied by whichever side changes them first (both give up changing them
        in place here). Anything else is copied as plain data."""
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        self._own_calendars: set[str] = set()
        for name, value in self.__dict__.items():
            clone.__dict__[name] = value if name in _SHARED_STATE else _copied(value, memo)
        clone._own_calendars = set()
        clone._span_index = self._spans()  # built once for the cached schedule, then shared
        return clone

    @event(Started)
    def __init__(self, sub_account_id: str, user_id: str) -> None:
        self.sub_account_id = sub_account_id
        self.user_id = user_id
        # calendar_id -> href -> [uid, etag, skipped reason]: plain lists, so that
        # snapshots of large schedules serialise without custom transcodings
        self.resources: dict[str, dict[str, list[str]]] = {}
        # calendar_id -> sync token of the last recorded sync ("" for etag diffs)
        self.checkpoints: dict[str, str] = {}
        # calendar_id -> the connection it was synced through
        self.calendar_connections: dict[str, str] = {}

    # -- queries -------------------------------------------------------------------

    def checkpoint(self, calendar_id: str) -> str | None:
        """The calendar's sync token; None when it was never synced (full listing needed)."""
        return self.checkpoints.get(calendar_id)

    def known(self, calendar_id: str) -> dict[str, KnownResource]:
        return {href: KnownResource(*entry) for href, entry in self.resources.get(calendar_id, {}).items()}

    def slot_count(self, calendar_id: str | None = None) -> int:
        """Blocked slots (resources imported at least once), of one calendar or all."""
        return sum(1 for *_, known in self.entries(calendar_id) if known.uid)

    def entries(self, calendar_id: str | None = None) -> list[tuple[str, str, str, KnownResource]]:
        """(calendar_id, connection_id, href, what is known) of every resource, in order."""
        return [
            (cal, self.calendar_connections.get(cal, ""), href, known)
            for cal in sorted(self.resources)
            if calendar_id is None or cal == calendar_id
            for href, known in sorted(self.known(cal).items())
            if not self._own_appointment(known.uid, cal)  # an appointment's event is not a slot
        ]

    # -- commands ------------------------------------------------------------------

    def apply(
        self, connection_id: str, changes: CalendarChanges, rules: SyncRules = SyncRules(), *, checkpoint: bool = True
    ) -> bool:
        """Records what changed, fetched through ``connection_id``; returns False
        when nothing did (no event at all). ``rules``: what appointments changed
        in iCloud do, and which imported occurrences are busy (for conflicts).
        ``checkpoint`` False: a part of a sync recorded in parts, whose sync token
        is recorded with its last part (no CalendarSynced here)."""
        known = _KnownView(self, changes.calendar_id)
        counts = {"imported": 0, "updated": 0, "removed": 0, "skipped": 0}
        echoes = 0
        fresh = [
            series for series in changes.changed
            if not ((before := known.get(series.href)) is not None and before.etag == series.etag
                    and not before.skipped_reason)
        ]
        # Appointments first: an imported event of the same sync then meets them
        # where the calendar now has them.
        for series in fresh:
            if self._own_appointment(series.uid, changes.calendar_id):
                echoes += self._echo(connection_id, changes.calendar_id, series, rules)
        # what conflicts need, made only when some appointment can have one
        index = BookedIndex(self.appointments) if self.appointments and fresh else None
        opened = self._open_by_source() if self.appointments else {}
        for series in fresh:
            if self._own_appointment(series.uid, changes.calendar_id):
                continue
            before = known.get(series.href)
            payload = series_payload(series)
            if before is None or not before.uid:  # new, or only ever skipped
                self._imported(connection_id, changes.calendar_id, payload, changes.fetched_at)
                counts["imported"] += 1
            else:
                self._updated(connection_id, changes.calendar_id, payload, changes.fetched_at)
                counts["updated"] += 1
            if index is not None:
                self._check_imported(index, opened, connection_id, changes.calendar_id, series, rules)
        for skipped in changes.skipped:
            before = known.get(skipped.href)
            if before is not None and before.etag == skipped.etag and before.skipped_reason:
                continue
            self._skipped(connection_id, changes.calendar_id, skipped.href, skipped.etag, skipped.reason)
            counts["skipped"] += 1
        for href in changes.deleted:
            before = known.get(href)
            if before is None:
                continue
            appointment_id = self._own_appointment(before.uid, changes.calendar_id)
            if appointment_id:
                if self.appointments[appointment_id]["status"] == "booked":
                    self._deleted(appointment_id, changes.calendar_id, href, rules)
                    echoes += 1
                continue  # a cancelled one: our own delete coming back
            self._removed(connection_id, changes.calendar_id, href, before.uid, "deleted in iCloud")
            self._clear_source(opened, changes.calendar_id, href, "the event was deleted in iCloud")
            counts["removed"] += 1
        if not checkpoint:
            return bool(any(counts.values()) or echoes)
        if not any(counts.values()) and not echoes and self.checkpoints.get(changes.calendar_id) == changes.sync_token:
            return False
        self._synced(
            connection_id, changes.calendar_id, changes.sync_token, changes.fetched_at, **counts
        )
        return True

    def synced_calendars(self) -> dict[str, str]:
        """calendar_id -> connection_id of every calendar this schedule holds."""
        return dict(self.calendar_connections)

    def held_calendars(self) -> list[str]:
        """Every calendar this schedule holds anything of: the synced ones, and one
        whose first sync recorded parts but not yet its last (the process stopped
        in between, or the sync is still under way)."""
        return sorted({*self.calendar_connections, *self.resources})

    def release(self, calendar_id: str, reason: str) -> bool:
        """The calendar no longer blocks this user: its slots go, as recorded events.
        A calendar whose first sync was recorded only in part goes too; it was never
        synced through a connection, so its release names none ("")."""
        if calendar_id not in self.calendar_connections and calendar_id not in self.resources:
            return False
        connection_id = self.calendar_connections.get(calendar_id, "")
        opened = self._open_by_source() if self.appointments else {}
        for href, known in sorted(self.known(calendar_id).items()):
            if known.uid and not self._own_appointment(known.uid, calendar_id):
                self._removed(connection_id, calendar_id, href, known.uid, reason)
                self._clear_source(opened, calendar_id, href, "the calendar no longer blocks this user")
        for appointment_id, record in sorted(self.appointments.items()):
            # times held for a restore are this calendar's: they stop blocking with it
            where = (record.get("pushed") or {}).get("calendar_id") or (record["calendar"] or {}).get("calendar_id")
            if record.get("held") and where == calendar_id:
                href = (record.get("icloud") or {}).get("href", "")
                self._restore_requested(appointment_id, record["revision"], calendar_id, href, [])
        self._released(connection_id, calendar_id, reason)
        return True

    def _own_appointment(self, uid: str, calendar_id: str) -> str | None:
        """The id of this schedule's appointment whose own event, in ``calendar_id``,
        has this UID. Not one whose event is gone from iCloud for good (cancelled,
        the deletion recorded), nor in another calendar than the one it was written
        to: an event with its UID there is one the user made (a deleted event
        brought back, a copy or a move to another calendar), and blocks as theirs do."""
        appointment_id = appointment_id_of_uid(uid)
        record = self.appointments.get(appointment_id or "")
        if record is None:
            return None
        written = record.get("pushed") or {}
        if record["status"] == "cancelled" and written.get("deleted") and written.get("revision") == record["revision"]:
            return None
        if written.get("calendar_id", calendar_id) != calendar_id:
            return None
        return appointment_id

    def _echo(self, connection_id: str, calendar_id: str, series: ImportedSeries, rules: SyncRules) -> int:
        """An appointment's own event, back from iCloud: never a blocked slot. It
        was moved when its times are neither the booked ones nor the ones last
        written (a push not yet recorded, or one not yet made); then it follows
        iCloud or is restored (``icloud_changes.py``)."""
        appointment_id = self._own_appointment(series.uid, calendar_id)
        assert appointment_id is not None
        record = self.appointments[appointment_id]
        span = (series.first_start, series.last_end or series.first_start)
        written = record.get("pushed") or {}
        known_spans = {record_span(record)}
        if written.get("start"):
            known_spans.add((datetime.fromisoformat(written["start"]), datetime.fromisoformat(written["end"])))
        # what one appointment cannot be: a series, or time the calendar shows free
        unfollowable = series.recurring or not icloud_changes.shown_busy(series.occurrences, rules)
        moved = record["status"] == "booked" and (unfollowable or span not in known_spans)
        self._changed_in_icloud(
            appointment_id, calendar_id, series.href, series.etag, span[0], span[1], moved
        )
        if not moved:
            if record.get("held"):  # back where the CRM has it: what was held is free on the calendar
                self._restore_requested(appointment_id, record["revision"], calendar_id, series.href, [])
            return 1
        if icloud_changes.follows(record, rules, unfollowable):
            self._rescheduled(appointment_id, span[0], span[1], record["revision"] + 1, [], "", icloud_changes.ICLOUD)
            self._recheck(appointment_id, "the appointment moved")
            self._check_appointments(appointment_id, rules.max_open_conflicts)
        else:
            held = icloud_changes.held_spans(span, series.occurrences, rules)
            self._restore_requested(appointment_id, record["revision"], calendar_id, series.href, held)
        return 1

    def _deleted(self, appointment_id: str, calendar_id: str, href: str, rules: SyncRules) -> None:
        """The appointment's event was deleted in iCloud: cancelled, or restored."""
        record = self.appointments[appointment_id]
        follow = icloud_changes.follows(record, rules)
        self._deleted_in_icloud(appointment_id, calendar_id, href)
        if follow:
            self._cancelled(appointment_id, record["revision"] + 1, "deleted in iCloud", "", icloud_changes.ICLOUD)
            self._recheck(appointment_id, "the appointment was cancelled")
        else:
            self._restore_requested(appointment_id, record["revision"], calendar_id, href, [])

    # -- conflicts (``conflicts.py``) ----------------------------------------------------

    def note_busy(self, appointment_id: str, occurrences: list[BusyOccurrence], limit: int) -> None:
        """Records conflicts with busy occurrences found elsewhere (after the
        appointment moved in iCloud: imported events of calendars not in this sync);
        at most ``limit`` open on the appointment."""
        others = [o for o in occurrences if conflicts.other_than(appointment_id, o.source)]
        for overlap in conflicts.earliest_overlaps(self.appointments[appointment_id], others):
            self._detect(appointment_id, overlap, limit)

    def _open_by_source(self) -> dict[str, list[str]]:
        """Source key -> the appointments with an open conflict from it."""
        opened: dict[str, list[str]] = {}
        for appointment_id, record in sorted(self.appointments.items()):
            for key in record.get("conflicts") or ():
                opened.setdefault(key, []).append(appointment_id)
        return opened

    def _check_imported(
        self,
        index: BookedIndex,
        opened: dict[str, list[str]],
        connection_id: str,
        calendar_id: str,
        series: ImportedSeries,
        rules: SyncRules,
    ) -> None:
        """Detects and clears the conflicts of one imported resource, as it is now."""
        if series.occurrences is None:
            return  # carried no occurrences: nothing to compare (events recorded before they were)
        source = ConflictSource(
            conflicts.IMPORTED_EVENT, connection_id, calendar_id, series.href, series.uid, series.etag
        )
        found = conflicts.imported_overlaps(index, source, series.occurrences, rules.all_day_policy) if index else {}
        for appointment_id in sorted(found):
            self._detect(appointment_id, found[appointment_id], rules.max_open_conflicts)
        for appointment_id in opened.get(source.key, ()):
            if appointment_id not in found:
                conflict = self.appointments[appointment_id]["conflicts"][source.key]
                self._clear(appointment_id, conflict, "the event no longer overlaps the appointment")

    def _check_appointments(self, appointment_id: str, limit: int) -> None:
        """Detects the appointments a move in iCloud put this one on (on both)."""
        for other_id, overlap in conflicts.appointment_overlaps(self.appointments, appointment_id).items():
            self._detect(appointment_id, overlap, limit)
            mirrored = Overlap(
                ConflictSource(conflicts.APPOINTMENT, other_appointment_id=appointment_id),
                *record_span(self.appointments[appointment_id]), overlap.start, overlap.end,
            )
            self._detect(other_id, mirrored, limit)

    def _detect(self, appointment_id: str, overlap: Overlap, limit: int) -> None:
        open_conflicts = self.appointments[appointment_id].get("conflicts") or {}
        key = overlap.source.key
        if conflicts.same_overlap(open_conflicts.get(key), overlap):
            return
        if key not in open_conflicts and len(open_conflicts) >= limit:
            return
        source = overlap.source
        self._conflict_detected(
            appointment_id, source.kind, source.connection_id, source.calendar_id, source.href, source.uid,
            source.etag, source.other_appointment_id, overlap.occurrence_start, overlap.occurrence_end,
            overlap.start, overlap.end,
        )

    def _recheck(self, appointment_id: str, reason: str) -> None:
        """After the appointment moved or was cancelled: clears the conflicts that
        no longer overlap it (its own, and other appointments' over it)."""
        for holder, conflict in conflicts.ended(self.appointments, appointment_id):
            self._clear(holder, conflict, reason)

    def _clear_source(self, opened: dict[str, list[str]], calendar_id: str, href: str, reason: str) -> None:
        """An imported resource is gone: its conflicts end."""
        key = conflicts.source_key(conflicts.IMPORTED_EVENT, calendar_id, href, "")
        for appointment_id in opened.get(key, ()):
            conflict = (self.appointments[appointment_id].get("conflicts") or {}).get(key)
            if conflict is not None:
                self._clear(appointment_id, conflict, reason)

    def _clear(self, appointment_id: str, conflict: dict[str, Any], reason: str) -> None:
        self._conflict_cleared(
            appointment_id, conflict["kind"], conflict["calendar_id"], conflict["href"],
            conflict["other_appointment_id"], reason,
        )

    # -- appointments and blocked slots: queries -------------------------------------

    def appointment(self, appointment_id: str) -> dict[str, Any]:
        found = self.appointments.get(appointment_id)
        if found is None:
            raise NotFound(f"appointment {appointment_id} not found", appointment_id=appointment_id)
        return found

    def conflict(self, start: datetime, end: datetime, ignore: str = "") -> Conflict | None:
        """The first appointment (not cancelled) or CRM blocked slot that overlaps
        [start, end) (as ``bookings.first_conflict``, through the span index)."""
        return self._spans().first_overlap(start, end, self.crm_blocks, ignore)

    def _spans(self) -> Spans:
        index: Spans | None = getattr(self, "_span_index", None)
        if index is None:
            index = self._span_index = Spans.of(self.appointments, self.crm_blocks)
        return index

    def _span_changed(self, kind: str, key: str, record: dict[str, Any] | None) -> None:
        """Keeps the span index (when there is one) in step with a record that was
        set (booked, moved, cancelled, times held for it) or removed (None)."""
        index: Spans | None = getattr(self, "_span_index", None)
        if index is not None:
            self._span_index = index.with_(kind, key, Spans.entries_of(kind, key, record))

    def appointment_of_href(self, href: str) -> str | None:
        appointment_id = appointment_id_of_href(href)
        return appointment_id if appointment_id in self.appointments else None

    # -- appointments and blocked slots: commands ------------------------------------

    def book(
        self,
        appointment_id: str,
        start: datetime,
        end: datetime,
        details: AppointmentDetails,
        calendar: dict[str, str],
        overridden: list[str],
        request_id: str = "",
    ) -> None:
        """Books [start, end) unless an appointment or a CRM blocked slot is there
        (BookingConflict). Booking an id again with the same time is a no-op."""
        existing = self.appointments.get(appointment_id)
        if existing is not None:
            if existing["status"] == "booked" and record_span(existing) == (start, end):
                return
            raise AlreadyExists(f"appointment {appointment_id} already exists", appointment_id=appointment_id)
        found = self.conflict(start, end)
        if found is not None:
            raise found.error()
        self._booked(
            appointment_id, start, end, details.title, details.description, details.location,
            attendees_payload(details.attendees), calendar, overridden, request_id,
        )

    def reschedule(
        self, appointment_id: str, start: datetime, end: datetime, overridden: list[str], request_id: str = ""
    ) -> bool:
        record = self._changeable(appointment_id)
        if record_span(record) == (start, end):
            return False
        found = self.conflict(start, end, ignore=appointment_id)
        if found is not None:
            raise found.error()
        self._rescheduled(appointment_id, start, end, record["revision"] + 1, overridden, request_id, icloud_changes.CRM)
        self._recheck(appointment_id, "the appointment moved")
        return True

    def cancel(self, appointment_id: str, reason: str, request_id: str = "") -> bool:
        record = self.appointment(appointment_id)
        if record["status"] == "cancelled":
            return False
        self._cancelled(appointment_id, record["revision"] + 1, reason, request_id, icloud_changes.CRM)
        self._recheck(appointment_id, "the appointment was cancelled")
        return True

    def create_block(self, block_id: str, start: datetime, end: datetime, title: str, request_id: str = "") -> None:
        """A blocked slot made in the CRM: it blocks time here, never in iCloud. It
        may overlap appointments already booked (blocking later bookings only)."""
        existing = self.crm_blocks.get(block_id)
        if existing is not None:
            if record_span(existing) == (start, end):
                return
            raise AlreadyExists(f"blocked slot {block_id} already exists", block_id=block_id)
        self._block_created(block_id, start, end, title, request_id)

    def delete_block(self, block_id: str, request_id: str = "") -> bool:
        if block_id not in self.crm_blocks:
            raise NotFound(f"blocked slot {block_id} not found", block_id=block_id)
        self._block_deleted(block_id, request_id)
        return True

    def pushed(
        self, appointment_id: str, revision: int, action: str, connection_id: str, calendar_id: str, href: str, etag: str
    ) -> None:
        self._pushed(appointment_id, revision, action, connection_id, calendar_id, href, etag)

    def push_failed(
        self, appointment_id: str, revision: int, error: str, attempts: int, permanent: bool, retry_at: datetime | None
    ) -> None:
        self._push_failed(appointment_id, revision, error, attempts, permanent, retry_at)

    def _changeable(self, appointment_id: str) -> dict[str, Any]:
        record = self.appointment(appointment_id)
        if record["status"] == "cancelled":
            raise AppointmentCancelledError(
                f"appointment {appointment_id} was cancelled", appointment_id=appointment_id
            )
        return record

    def _set_appointment(self, appointment_id: str, **changes: Any) -> None:
        before = self.appointments[appointment_id]
        record = {**before, **changes}
        self.appointments = {**self.appointments, appointment_id: record}
        if any(record.get(name) != before.get(name) for name in ("status", "start", "end", "held")):
            self._span_changed("appointment", appointment_id, record)

    # -- events ----------------------------------------------------------------------

    @event(AppointmentBooked)
    def _booked(
        self,
        appointment_id: str,
        start: datetime,
        end: datetime,
        title: str,
        description: str,
        location: str,
        attendees: list[dict[str, str]],
        calendar: dict[str, str],
        overridden: list[str],
        request_id: str,
    ) -> None:
        self.appointments = {
            **self.appointments,
            appointment_id: {
                "start": start.isoformat(), "end": end.isoformat(), "title": title,
                "description": description, "location": location, "attendees": attendees,
                "calendar": dict(calendar), "status": "booked", "revision": 1,
                "pushed": None, "failure": None, "icloud": None, "overridden": list(overridden),
            },
        }
        self._span_changed("appointment", appointment_id, self.appointments[appointment_id])
        self._remember(request_id)

    def assigned(
        self, appointment_id: str, why: str, members: list[dict[str, Any]], at: datetime, request_id: str
    ) -> None:
        self._assigned(appointment_id, self.user_id, why, members, at, request_id)

    @event(RoundRobinAssigned)
    def _assigned(
        self,
        appointment_id: str,
        user_id: str,
        why: str,
        members: list[dict[str, Any]],
        assigned_time: datetime,
        request_id: str,
    ) -> None:
        self.last_assigned_at = assigned_time.isoformat()

    @event(AppointmentRescheduled)
    def _rescheduled(
        self,
        appointment_id: str,
        start: datetime,
        end: datetime,
        revision: int,
        overridden: list[str],
        request_id: str,
        cause: str,
    ) -> None:
        changes: dict[str, Any] = {}
        if cause == icloud_changes.ICLOUD:  # the calendar already holds it: nothing to write
            record = self.appointments[appointment_id]
            pushed = {**(record.get("pushed") or {}), "revision": revision, "start": start.isoformat(),
                      "end": end.isoformat()}
            changes = {"pushed": pushed, "held": None,
                       "icloud": {**(record.get("icloud") or {}), "outcome": icloud_changes.FOLLOWED}}
        self._set_appointment(
            appointment_id, start=start.isoformat(), end=end.isoformat(), revision=revision, failure=None,
            overridden=list(overridden), **changes,
        )
        self._remember(request_id)

    @event(AppointmentCancelled)
    def _cancelled(self, appointment_id: str, revision: int, reason: str, request_id: str, cause: str) -> None:
        changes: dict[str, Any] = {}
        if cause == icloud_changes.ICLOUD:  # gone from the calendar already
            record = self.appointments[appointment_id]
            changes = {"pushed": {"revision": revision, "deleted": True}, "held": None,
                       "icloud": {**(record.get("icloud") or {}), "outcome": icloud_changes.CANCELLED}}
        self._set_appointment(appointment_id, status="cancelled", revision=revision, failure=None, **changes)
        self._remember(request_id)

    @event(BlockedSlotCreated)
    def _block_created(self, block_id: str, start: datetime, end: datetime, title: str, request_id: str) -> None:
        self.crm_blocks = {
            **self.crm_blocks, block_id: {"start": start.isoformat(), "end": end.isoformat(), "title": title}
        }
        self._span_changed("blocked_slot", block_id, self.crm_blocks[block_id])
        self._remember(request_id)

    @event(BlockedSlotDeleted)
    def _block_deleted(self, block_id: str, request_id: str) -> None:
        self.crm_blocks = {k: v for k, v in self.crm_blocks.items() if k != block_id}
        self._span_changed("blocked_slot", block_id, None)
        self._remember(request_id)

    @event(AppointmentPushed)
    def _pushed(
        self, appointment_id: str, revision: int, action: str, connection_id: str, calendar_id: str, href: str, etag: str
    ) -> None:
        record = self.appointments[appointment_id]
        icloud = None  # a write of the CRM's version ends the user's change...
        if icloud_changes.restoring(record) and revision == record["revision"]:
            icloud = {**record["icloud"], "outcome": icloud_changes.RESTORED}  # ...saying it was restored
        if action == "deleted":
            self._set_appointment(
                appointment_id, pushed={"revision": revision, "deleted": True}, failure=None, held=None, icloud=icloud
            )
            self._forget(calendar_id, href)
            return
        self._set_appointment(
            appointment_id,
            pushed={
                "revision": revision, "connection_id": connection_id, "calendar_id": calendar_id,
                "href": href, "etag": etag,
                # the times written, when they are the current ones
                "start": record["start"] if revision == record["revision"] else "",
                "end": record["end"] if revision == record["revision"] else "",
            },
            failure=None,
            icloud=icloud,
            held=None,
        )
        self._know(calendar_id, href, KnownResource(appointment_uid(appointment_id), etag))

    @event(AppointmentPushFailed)
    def _push_failed(
        self, appointment_id: str, revision: int, error: str, attempts: int, permanent: bool, retry_at: datetime | None
    ) -> None:
        self._set_appointment(
            appointment_id,
            failure={
                "revision": revision, "error": error, "attempts": attempts, "permanent": permanent,
                "retry_at": retry_at.isoformat() if retry_at else "",
            },
        )

    @event(AppointmentChangedInICloud)
    def _changed_in_icloud(
        self, appointment_id: str, calendar_id: str, href: str, etag: str, start: datetime, end: datetime, moved: bool
    ) -> None:
        record = self.appointments[appointment_id]
        pushed = dict(record.get("pushed") or {})
        if pushed.get("href") == href:
            pushed["etag"] = etag  # the next update must match what iCloud now holds
        changes: dict[str, Any] = {"pushed": pushed or None}
        if moved:
            changes["icloud"] = {"state": "moved", "start": start.isoformat(), "end": end.isoformat(), "href": href}
        self._set_appointment(appointment_id, **changes)
        self._know(calendar_id, href, KnownResource(appointment_uid(appointment_id), etag))

    @event(AppointmentDeletedInICloud)
    def _deleted_in_icloud(self, appointment_id: str, calendar_id: str, href: str) -> None:
        self._set_appointment(appointment_id, pushed=None, icloud={"state": "deleted", "href": href})
        self._forget(calendar_id, href)

    @event(AppointmentRestoreRequested)
    def _restore_requested(
        self, appointment_id: str, revision: int, calendar_id: str, href: str, held: list[list[str]]
    ) -> None:
        record = self.appointments[appointment_id]
        self._set_appointment(
            appointment_id, held=[list(span) for span in held],
            icloud={**(record.get("icloud") or {}), "outcome": icloud_changes.RESTORING},
        )

    @event(AppointmentConflictDetected)
    def _conflict_detected(
        self,
        appointment_id: str,
        kind: str,
        connection_id: str,
        calendar_id: str,
        href: str,
        uid: str,
        etag: str,
        other_appointment_id: str,
        occurrence_start: datetime,
        occurrence_end: datetime,
        overlap_start: datetime,
        overlap_end: datetime,
    ) -> None:
        record = self.appointments[appointment_id]
        key = conflicts.source_key(kind, calendar_id, href, other_appointment_id)
        conflict = {
            "kind": kind, "connection_id": connection_id, "calendar_id": calendar_id, "href": href, "uid": uid,
            "etag": etag, "other_appointment_id": other_appointment_id,
            "occurrence_start": occurrence_start.isoformat(), "occurrence_end": occurrence_end.isoformat(),
            "overlap_start": overlap_start.isoformat(), "overlap_end": overlap_end.isoformat(),
        }
        self._set_appointment(appointment_id, conflicts={**(record.get("conflicts") or {}), key: conflict})

    @event(AppointmentConflictCleared)
    def _conflict_cleared(
        self, appointment_id: str, kind: str, calendar_id: str, href: str, other_appointment_id: str, reason: str
    ) -> None:
        key = conflicts.source_key(kind, calendar_id, href, other_appointment_id)
        remaining = {k: v for k, v in (self.appointments[appointment_id].get("conflicts") or {}).items() if k != key}
        self._set_appointment(appointment_id, conflicts=remaining)

    def _forget(self, calendar_id: str, href: str) -> None:
        if href in self.resources.get(calendar_id, {}):
            self._entries_to_change(calendar_id).pop(href)


    @event(BlockedSlotImported)
    def _imported(self, connection_id: str, calendar_id: str, series: dict[str, Any], fetched_at: datetime) -> None:
        self._know(calendar_id, series["href"], KnownResource(series["uid"], series["etag"]))

    @event(BlockedSlotUpdated)
    def _updated(self, connection_id: str, calendar_id: str, series: dict[str, Any], fetched_at: datetime) -> None:
        self._know(calendar_id, series["href"], KnownResource(series["uid"], series["etag"]))

    @event(ResourceSkipped)
    def _skipped(self, connection_id: str, calendar_id: str, href: str, etag: str, reason: str) -> None:
        before = _KnownView(self, calendar_id).get(href)
        # A slot that stops parsing keeps blocking as it last did (fail closed);
        # the skip is remembered against the new etag so it is retried on change.
        self._know(calendar_id, href, KnownResource(before.uid if before else "", etag, reason))

    @event(BlockedSlotRemoved)
    def _removed(self, connection_id: str, calendar_id: str, href: str, uid: str, reason: str) -> None:
        self._entries_to_change(calendar_id).pop(href, None)

    @event(CalendarSynced)
    def _synced(
        self,
        connection_id: str,
        calendar_id: str,
        sync_token: str,
        fetched_at: datetime,
        imported: int,
        updated: int,
        removed: int,
        skipped: int,
    ) -> None:
        self.checkpoints = {**self.checkpoints, calendar_id: sync_token}
        self.calendar_connections = {**self.calendar_connections, calendar_id: connection_id}
        self._entries_to_change(calendar_id)  # a calendar synced empty is known, with no entries

    @event(CalendarReleased)
    def _released(self, connection_id: str, calendar_id: str, reason: str) -> None:
        self.resources = {k: v for k, v in self.resources.items() if k != calendar_id}
        getattr(self, "_own_calendars", set()).discard(calendar_id)  # gone: taken afresh if synced again
        self.checkpoints = {k: v for k, v in self.checkpoints.items() if k != calendar_id}
        self.calendar_connections = {k: v for k, v in self.calendar_connections.items() if k != calendar_id}

    def _know(self, calendar_id: str, href: str, known: KnownResource) -> None:
        self._entries_to_change(calendar_id)[href] = [known.uid, known.etag, known.skipped_reason]

    def _entries_to_change(self, calendar_id: str) -> dict[str, list[str]]:
        """The calendar's entries (made if missing), this instance's own to change in
        place: the first change after a copy copies them (and the calendars'
        mapping) once; the changes after that are made in place, so a first sync of
        thousands of resources is not copied once per resource."""
        own: set[str] | None = getattr(self, "_own_calendars", None)
        if own is None:
            own = self._own_calendars = set()
        if calendar_id not in own:
            self.resources = {**self.resources, calendar_id: dict(self.resources.get(calendar_id, {}))}
            own.add(calendar_id)
        return self.resources[calendar_id]


# Never changed in place (see UserSchedule.__deepcopy__): shared by a copy.
_SHARED_STATE = frozenset(
    {"resources", "appointments", "crm_blocks", "request_ids", "checkpoints", "calendar_connections"}
)


class _KnownView:
    """Reads one calendar's entries as KnownResource values, live."""

    def __init__(self, schedule: UserSchedule, calendar_id: str) -> None:
        self._schedule = schedule
        self._calendar_id = calendar_id

    def get(self, href: str) -> KnownResource | None:
        entry = self._schedule.resources.get(self._calendar_id, {}).get(href)
        return KnownResource(*entry) if entry is not None else None


_OPTIONAL_TIMES = ("last_end", "expanded_from", "expanded_until")
_IMMUTABLE = (str, int, float, bool, type(None), datetime, date, uuid.UUID)


def _copied(value: Any, memo: dict[int, Any]) -> Any:
    """A deep copy of plain data (dicts, lists, immutable scalars), fast."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is dict:
        return {key: _copied(item, memo) for key, item in value.items()}
    if kind is list:
        return [_copied(item, memo) for item in value]
    return copy.deepcopy(value, memo)
