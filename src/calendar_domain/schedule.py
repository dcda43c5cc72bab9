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

import uuid
from datetime import datetime
from types import MappingProxyType
from typing import Any, cast

from eventsourcing.domain import Aggregate, event

from calendar_domain import conflicts, icloud_changes
from calendar_domain.bookings import appointment_uid
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
from calendar_domain.schedule_appointments import (  # imported from here too
    AppointmentCancelledError,
    BooksAppointments,
)
from calendar_domain.schedule_calendars import HoldsCalendars, _KnownView
from calendar_domain.schedule_conflicts import TracksConflicts
from calendar_domain.schedule_copies import CopiedCheaply
from calendar_domain.schedule_echoes import FollowsEchoes

SCHEDULE_NAMESPACE = uuid.UUID("9a7c2e4f-1b3d-4c5e-8f6a-0b1c2d3e4f5a")


class UserSchedule(
    Aggregate, RemembersRequests, HoldsCalendars, FollowsEchoes, TracksConflicts, BooksAppointments, CopiedCheaply
):
    # The commands, queries and helpers are in its parts (the bases after
    # RemembersRequests, one module each); the events and what applies them are here.

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

    # -- what the pusher reports (each records its event as it is) -------------------

    def pushed(
        self, appointment_id: str, revision: int, action: str, connection_id: str, calendar_id: str, href: str, etag: str
    ) -> None:
        self._pushed(appointment_id, revision, action, connection_id, calendar_id, href, etag)

    def push_failed(
        self, appointment_id: str, revision: int, error: str, attempts: int, permanent: bool, retry_at: datetime | None
    ) -> None:
        self._push_failed(appointment_id, revision, error, attempts, permanent, retry_at)

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
