"""Application service for appointments and blocked slots made in the CRM.

No double booking: the ``UserSchedule`` aggregate refuses a time taken by an
appointment or a CRM blocked slot, and optimistic concurrency makes that hold
under races (of concurrent bookings for one time, one is saved; the others
reload, see it, and are refused). Imported iCloud events and the user's rules
live in the availability read model, which is asked once it has read the last
events of the aggregates that concern the user (``concerning``; another
tenant's events recorded meanwhile are not waited for): a busy imported event always refuses a booking; working hours, days
off and booking rules (notice, horizon, daily cap, buffers) refuse it unless
the caller overrides them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from calendar_domain import values
from calendar_domain.application import CalendarIntegration
from calendar_domain.availability import CAP_KINDS, Busy, Reason, ReasonKind, SourceKind
from calendar_domain.bookings import (
    MAX_CANCEL_REASON,
    MAX_TITLE,
    AppointmentDetails,
    BookingCapReached,
    BookingConflict,
    attendees_payload,
    checked_details,
    checked_span,
    checked_window,
    derived_id,
    record_span,
)
from calendar_domain.configuration_service import configuration_of
from calendar_domain.errors import InvalidValue
from calendar_domain.idempotency import refuse_reuse, request_fingerprint
from calendar_domain.retry import retrying
from calendar_domain.schedule import UserSchedule
from calendar_domain.schedule_service import concerning, recorded_and_told
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)

# Many writers may race for one user's schedule (bookings, the pusher's records):
# more attempts than elsewhere, spread by a little jitter.
BOOKING_RETRIES = 12
BOOKING_JITTER = 0.02


class Obstacles(Protocol):
    def __call__(
        self, sub_account_id: str, user_id: str, start: datetime, end: datetime, moving: str
    ) -> list[Reason]: ...


@dataclass(frozen=True)
class Appointment:
    appointment_id: str
    record: dict[str, Any]


@dataclass(frozen=True)
class ScheduleOutcome:
    schedule: UserSchedule
    item_id: str
    position: int


class AppointmentService:
    def __init__(
        self,
        app: CalendarIntegration,
        obstacles: Obstacles,
        settle: Callable[[Sequence[uuid.UUID]], None],
        observe: Callable[[str], None] = lambda _event: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``obstacles``: why a time cannot be booked, from the availability read
        model; ``settle``: waits (bounded) until that model has read the last
        event of each aggregate given (``concerning``); ``observe``: told of
        conflicts a reschedule or cancel cleared (metrics)."""
        self._app = app
        self._obstacles = obstacles
        self._settle = settle
        self._observe = observe
        self._clock = clock

    # -- queries ------------------------------------------------------------------------

    def schedule(self, sub_account_id: str, user_id: str) -> UserSchedule:
        sub_account_id = values.opaque_id("sub_account_id", sub_account_id)
        user_id = values.opaque_id("user_id", user_id)
        found = self._app.find(UserSchedule.create_id(sub_account_id, user_id), UserSchedule)
        return found if found is not None else UserSchedule(sub_account_id, user_id)

    def in_window(
        self, sub_account_id: str, user_id: str, start: datetime | None, end: datetime | None
    ) -> tuple[UserSchedule, list[str], list[str]]:
        """The schedule, and the ids of its appointments (cancelled ones too) and
        CRM blocked slots that overlap the window, in start order."""
        begin, finish = checked_window(start, end)
        schedule = self.schedule(sub_account_id, user_id)

        def inside(records: dict[str, dict[str, Any]]) -> list[str]:
            spans = {k: record_span(r) for k, r in records.items()}
            return sorted((k for k, (s, e) in spans.items() if s < finish and begin < e), key=lambda k: (spans[k], k))

        return schedule, inside(schedule.appointments), inside(schedule.crm_blocks)

    # -- appointments -------------------------------------------------------------------

    def book(
        self,
        sub_account_id: str,
        user_id: str,
        start: datetime | None,
        end: datetime | None,
        details: AppointmentDetails,
        *,
        override: bool = False,
        request_id: str = "",
    ) -> ScheduleOutcome:
        span = checked_span(start, end)
        details = checked_details(details)
        request_id = values.request_id("request_id", request_id)
        schedule_id = _schedule_id(sub_account_id, user_id)
        appointment_id = derived_id(schedule_id, "appointment", request_id) if request_id else str(uuid.uuid4())

        asked = request_fingerprint(
            "book", *span, details.title, details.description, details.location, attendees_payload(details.attendees)
        )

        def attempt() -> ScheduleOutcome:
            schedule = self.schedule(sub_account_id, user_id)
            if schedule.has_seen(request_id) or appointment_id in schedule.appointments:
                return self._first_answer(schedule, request_id, asked, appointment_id)
            self._refuse_past(span[0])
            found = schedule.conflict(*span)
            if found is not None:
                raise found.error()
            overridden = self._check_unavailable(sub_account_id, user_id, *span, "", override)
            configuration = configuration_of(self._app, schedule.sub_account_id, schedule.user_id)
            primary = configuration.primary if configuration is not None else None
            calendar = {"connection_id": primary.connection_id, "calendar_id": primary.calendar_id} if primary else {}
            schedule.book(appointment_id, *span, details, calendar, overridden, request_id)
            return ScheduleOutcome(schedule, appointment_id, self._app.record(schedule))

        self._settle(concerning(sub_account_id, user_id))  # before the turn: not spent holding it
        return _conflicts_logged("book", appointment_id, lambda: self._in_turn(schedule_id, attempt))

    def reschedule(
        self,
        sub_account_id: str,
        user_id: str,
        appointment_id: str,
        start: datetime | None,
        end: datetime | None,
        *,
        override: bool = False,
        request_id: str = "",
    ) -> ScheduleOutcome:
        appointment_id = str(values.uuid_id("appointment_id", appointment_id))
        span = checked_span(start, end)
        request_id = values.request_id("request_id", request_id)
        schedule_id = _schedule_id(sub_account_id, user_id)

        asked = request_fingerprint("reschedule", appointment_id, *span)

        def attempt() -> ScheduleOutcome:
            schedule = self.schedule(sub_account_id, user_id)
            if schedule.has_seen(request_id):
                return self._first_answer(schedule, request_id, asked, appointment_id)
            record = schedule.appointment(appointment_id)
            overridden: list[str] = []
            if record["status"] == "booked" and record_span(record) != span:
                self._refuse_past(span[0])
                found = schedule.conflict(*span, ignore=appointment_id)
                if found is not None:
                    raise found.error()
                overridden = self._check_unavailable(sub_account_id, user_id, *span, appointment_id, override)
            if not schedule.reschedule(appointment_id, *span, overridden, request_id):
                return ScheduleOutcome(schedule, appointment_id, self._app.head_position())
            return ScheduleOutcome(schedule, appointment_id, recorded_and_told(self._app, [schedule], self._observe))

        self._settle(concerning(sub_account_id, user_id))
        return _conflicts_logged("reschedule", appointment_id, lambda: self._in_turn(schedule_id, attempt))

    def cancel(
        self, sub_account_id: str, user_id: str, appointment_id: str, reason: str = "", request_id: str = ""
    ) -> ScheduleOutcome:
        appointment_id = str(values.uuid_id("appointment_id", appointment_id))
        request_id = values.request_id("request_id", request_id)
        if len(reason) > MAX_CANCEL_REASON:
            raise InvalidValue("reason", f"reason may have at most {MAX_CANCEL_REASON} characters")
        schedule_id = _schedule_id(sub_account_id, user_id)

        reason = reason or "cancelled in the CRM"
        asked = request_fingerprint("cancel", appointment_id, reason)

        def attempt() -> ScheduleOutcome:
            schedule = self.schedule(sub_account_id, user_id)
            if schedule.has_seen(request_id):
                return self._first_answer(schedule, request_id, asked, appointment_id)
            if not schedule.cancel(appointment_id, reason, request_id):
                return ScheduleOutcome(schedule, appointment_id, self._app.head_position())
            return ScheduleOutcome(schedule, appointment_id, recorded_and_told(self._app, [schedule], self._observe))

        return self._in_turn(schedule_id, attempt)

    # -- blocked slots made in the CRM ------------------------------------------------------

    def create_block(
        self,
        sub_account_id: str,
        user_id: str,
        start: datetime | None,
        end: datetime | None,
        title: str = "",
        request_id: str = "",
    ) -> ScheduleOutcome:
        span = checked_span(start, end)
        request_id = values.request_id("request_id", request_id)
        if len(title) > MAX_TITLE:
            raise InvalidValue("title", f"title may have at most {MAX_TITLE} characters")
        schedule_id = _schedule_id(sub_account_id, user_id)
        block_id = derived_id(schedule_id, "blocked_slot", request_id) if request_id else str(uuid.uuid4())

        asked = request_fingerprint("create_block", *span, title)

        def attempt() -> ScheduleOutcome:
            schedule = self.schedule(sub_account_id, user_id)
            if schedule.has_seen(request_id):
                return self._first_answer(schedule, request_id, asked, block_id)
            schedule.create_block(block_id, *span, title, request_id)
            return ScheduleOutcome(schedule, block_id, self._app.record(schedule))

        return self._in_turn(schedule_id, attempt)

    def delete_block(self, sub_account_id: str, user_id: str, block_id: str, request_id: str = "") -> ScheduleOutcome:
        block_id = str(values.uuid_id("blocked_slot_id", block_id))
        request_id = values.request_id("request_id", request_id)
        schedule_id = _schedule_id(sub_account_id, user_id)

        asked = request_fingerprint("delete_block", block_id)

        def attempt() -> ScheduleOutcome:
            schedule = self.schedule(sub_account_id, user_id)
            if schedule.has_seen(request_id):
                return self._first_answer(schedule, request_id, asked, block_id)
            schedule.delete_block(block_id, request_id)
            return ScheduleOutcome(schedule, block_id, self._app.record(schedule))

        return self._in_turn(schedule_id, attempt)

    def _in_turn(self, schedule_id: uuid.UUID, attempt: Callable[[], ScheduleOutcome]) -> ScheduleOutcome:
        """Load, change and save in this schedule's turn (other commands on it in
        this process wait); a version conflict, from another process, is retried."""
        with self._app.serialised(schedule_id):
            return retrying(attempt, BOOKING_RETRIES, BOOKING_JITTER)

    # -- retries ----------------------------------------------------------------------------

    def _first_answer(self, schedule: UserSchedule, request_id: str, asked: str, item_id: str) -> ScheduleOutcome:
        """A retried request: the schedule as the first attempt left it (what that
        attempt answered, whatever changed since), once the retry is found to ask
        for the same. Read from the schedule's events, only when a retry comes."""
        if request_id:
            for event in self._app.events.get(schedule.id):
                fingerprint = _FINGERPRINTS.get(type(event))
                if fingerprint is not None and getattr(event, "request_id", "") == request_id:
                    refuse_reuse(request_id, fingerprint(event), asked, type(event).__name__)
                    first: UserSchedule = self._app.repository.get(schedule.id, version=event.originator_version)
                    happened(log, "request.retried", schedule=schedule.id, recorded=type(event).__name__)
                    return ScheduleOutcome(first, item_id, self._app.head_position())
        return ScheduleOutcome(schedule, item_id, self._app.head_position())

    # -- the user's unavailable time ----------------------------------------------------------

    def _refuse_past(self, start: datetime) -> None:
        """No appointment starts in the past, override or not: override is about the
        user's hours and rules, and a past time is no one's to give. (A retry of a
        booking made in time is answered before this.)"""
        if start.timestamp() < self._clock():
            raise InvalidValue("start_time", "start_time is in the past; an appointment must start from now on")

    def _check_unavailable(
        self, sub_account_id: str, user_id: str, start: datetime, end: datetime, moving: str, override: bool
    ) -> list[str]:
        """Refuses a time a busy imported event takes, and (unless ``override``)
        one the user's hours and rules make unavailable; returns what was overridden
        (the caller has waited for the availability model: ``settle``)."""
        overridable: list[Reason] = []
        for reason in self._obstacles(sub_account_id, user_id, start, end, moving):
            item = reason.busy
            if reason.kind is ReasonKind.BUSY and item is not None:
                if item.kind is SourceKind.IMPORTED:
                    raise _imported_conflict(item)
                continue  # appointments and CRM blocks: the aggregate decided
            overridable.append(reason)
        if overridable and not override:
            first = overridable[0]
            if first.kind in CAP_KINDS:
                raise BookingCapReached(
                    f"the time is unavailable: {first.detail} (set override to book anyway)",
                    conflict_kind=first.kind.value,
                    booked=str(first.booked),
                    limit=str(first.limit),
                    reasons=",".join(r.kind.value for r in overridable),
                )
            raise BookingConflict(
                f"the time is unavailable: {first.detail} (set override to book anyway)",
                conflict_kind=first.kind.value,
                reasons=",".join(r.kind.value for r in overridable),
            )
        return sorted({r.kind.value for r in overridable})


def _schedule_id(sub_account_id: str, user_id: str) -> uuid.UUID:
    return UserSchedule.create_id(values.opaque_id("sub_account_id", sub_account_id), values.opaque_id("user_id", user_id))


def _conflicts_logged(action: str, appointment_id: str, run: Callable[[], ScheduleOutcome]) -> ScheduleOutcome:
    try:
        return run()
    except BookingConflict as conflict:
        happened(
            log, "booking.conflict", action=action, appointment_id=appointment_id,
            kind=conflict.metadata.get("conflict_kind"), calendar_id=conflict.metadata.get("calendar_id"),
        )
        raise


def _imported_conflict(item: Busy) -> BookingConflict:
    row = item.source  # a BusyRow of the availability model
    start, end = (datetime.fromtimestamp(t, UTC) for t in (item.start, item.end))
    return BookingConflict(
        f"the time overlaps a busy event of an iCloud calendar ({start.isoformat()} to {end.isoformat()})",
        conflict_kind="imported_event",
        calendar_id=row.calendar_id,
        href=row.href,
        recurrence_id=row.recurrence_id,
        conflict_start=start.isoformat(),
        conflict_end=end.isoformat(),
    )


# What each request recorded asked for, as the command works it out when it arrives.
_FINGERPRINTS: dict[type, Callable[[Any], str]] = {
    UserSchedule.AppointmentBooked: lambda e: request_fingerprint(
        "book", e.start, e.end, e.title, e.description, e.location, e.attendees
    ),
    UserSchedule.AppointmentRescheduled: lambda e: request_fingerprint("reschedule", e.appointment_id, e.start, e.end),
    UserSchedule.AppointmentCancelled: lambda e: request_fingerprint("cancel", e.appointment_id, e.reason),
    UserSchedule.BlockedSlotCreated: lambda e: request_fingerprint("create_block", e.start, e.end, e.title),
    UserSchedule.BlockedSlotDeleted: lambda e: request_fingerprint("delete_block", e.block_id),
}
