"""Application service for appointments and blocked slots made in the CRM.

No double booking: the ``UserSchedule`` aggregate refuses a time taken by an
appointment or a CRM blocked slot, and optimistic concurrency makes that hold
under races (of concurrent bookings for one time, one is saved; the others
reload, see it, and are refused). Imported iCloud events and the user's rules
live in the availability read model, which is asked once it has caught up with
the log: a busy imported event always refuses a booking; working hours, days
off and booking rules (notice, horizon, daily cap, buffers) refuse it unless
the caller overrides them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from calendar_domain import values
from calendar_domain.application import CalendarIntegration
from calendar_domain.availability import Busy, Reason, ReasonKind, SourceKind
from calendar_domain.bookings import (
    AppointmentDetails,
    BookingConflict,
    checked_details,
    checked_span,
    derived_id,
    record_span,
)
from calendar_domain.configuration_service import configuration_of
from calendar_domain.errors import InvalidValue
from calendar_domain.retry import retrying
from calendar_domain.schedule import UserSchedule
from calendar_domain.schedule_service import recorded_and_told

MAX_LIST_DAYS = 366
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
        settle: Callable[[], None],
        observe: Callable[[str], None] = lambda _event: None,
    ) -> None:
        """``obstacles``: why a time cannot be booked, from the availability read
        model; ``settle``: waits (bounded) until that model has read the whole log;
        ``observe``: told of conflicts a reschedule or cancel cleared (metrics)."""
        self._app = app
        self._obstacles = obstacles
        self._settle = settle
        self._observe = observe

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
        begin, finish = checked_span(start, end)
        if (finish - begin).days > MAX_LIST_DAYS:
            raise InvalidValue("end_time", f"a window may span at most {MAX_LIST_DAYS} days")
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
        schedule_id = UserSchedule.create_id(
            values.opaque_id("sub_account_id", sub_account_id), values.opaque_id("user_id", user_id)
        )
        appointment_id = derived_id(schedule_id, "appointment", request_id) if request_id else str(uuid.uuid4())

        def attempt() -> ScheduleOutcome:
            schedule = self.schedule(sub_account_id, user_id)
            if schedule.has_seen(request_id) or appointment_id in schedule.appointments:
                schedule.book(appointment_id, *span, details, {}, [], request_id)  # same time: a no-op
                return ScheduleOutcome(schedule, appointment_id, self._app.head_position())
            found = schedule.conflict(*span)
            if found is not None:
                raise found.error()
            overridden = self._check_unavailable(sub_account_id, user_id, *span, "", override)
            configuration = configuration_of(self._app, schedule.sub_account_id, schedule.user_id)
            primary = configuration.primary if configuration is not None else None
            calendar = {"connection_id": primary.connection_id, "calendar_id": primary.calendar_id} if primary else {}
            schedule.book(appointment_id, *span, details, calendar, overridden, request_id)
            return ScheduleOutcome(schedule, appointment_id, self._app.record(schedule))

        return retrying(attempt, BOOKING_RETRIES, BOOKING_JITTER)

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

        def attempt() -> ScheduleOutcome:
            schedule = self.schedule(sub_account_id, user_id)
            if schedule.has_seen(request_id):
                return ScheduleOutcome(schedule, appointment_id, self._app.head_position())
            record = schedule.appointment(appointment_id)
            overridden: list[str] = []
            if record["status"] == "booked" and record_span(record) != span:
                found = schedule.conflict(*span, ignore=appointment_id)
                if found is not None:
                    raise found.error()
                overridden = self._check_unavailable(sub_account_id, user_id, *span, appointment_id, override)
            if not schedule.reschedule(appointment_id, *span, overridden, request_id):
                return ScheduleOutcome(schedule, appointment_id, self._app.head_position())
            return ScheduleOutcome(schedule, appointment_id, recorded_and_told(self._app, [schedule], self._observe))

        return retrying(attempt, BOOKING_RETRIES, BOOKING_JITTER)

    def cancel(
        self, sub_account_id: str, user_id: str, appointment_id: str, reason: str = "", request_id: str = ""
    ) -> ScheduleOutcome:
        appointment_id = str(values.uuid_id("appointment_id", appointment_id))
        request_id = values.request_id("request_id", request_id)
        if len(reason) > 1024:
            raise InvalidValue("reason", "reason may have at most 1024 characters")

        def attempt() -> ScheduleOutcome:
            schedule = self.schedule(sub_account_id, user_id)
            if schedule.has_seen(request_id) or not schedule.cancel(
                appointment_id, reason or "cancelled in the CRM", request_id
            ):
                return ScheduleOutcome(schedule, appointment_id, self._app.head_position())
            return ScheduleOutcome(schedule, appointment_id, recorded_and_told(self._app, [schedule], self._observe))

        return retrying(attempt, BOOKING_RETRIES, BOOKING_JITTER)

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
        if len(title) > 512:
            raise InvalidValue("title", "title may have at most 512 characters")
        schedule_id = UserSchedule.create_id(
            values.opaque_id("sub_account_id", sub_account_id), values.opaque_id("user_id", user_id)
        )
        block_id = derived_id(schedule_id, "blocked_slot", request_id) if request_id else str(uuid.uuid4())

        def attempt() -> ScheduleOutcome:
            schedule = self.schedule(sub_account_id, user_id)
            if schedule.has_seen(request_id):
                return ScheduleOutcome(schedule, block_id, self._app.head_position())
            schedule.create_block(block_id, *span, title, request_id)
            return ScheduleOutcome(schedule, block_id, self._app.record(schedule))

        return retrying(attempt, BOOKING_RETRIES, BOOKING_JITTER)

    def delete_block(self, sub_account_id: str, user_id: str, block_id: str, request_id: str = "") -> ScheduleOutcome:
        block_id = str(values.uuid_id("blocked_slot_id", block_id))
        request_id = values.request_id("request_id", request_id)

        def attempt() -> ScheduleOutcome:
            schedule = self.schedule(sub_account_id, user_id)
            if schedule.has_seen(request_id):
                return ScheduleOutcome(schedule, block_id, self._app.head_position())
            schedule.delete_block(block_id, request_id)
            return ScheduleOutcome(schedule, block_id, self._app.record(schedule))

        return retrying(attempt, BOOKING_RETRIES, BOOKING_JITTER)

    # -- the user's unavailable time ----------------------------------------------------------

    def _check_unavailable(
        self, sub_account_id: str, user_id: str, start: datetime, end: datetime, moving: str, override: bool
    ) -> list[str]:
        """Refuses a time a busy imported event takes, and (unless ``override``)
        one the user's hours and rules make unavailable; returns what was overridden."""
        self._settle()
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
            raise BookingConflict(
                f"the time is unavailable: {first.detail} (set override to book anyway)",
                conflict_kind=first.kind.value,
                reasons=",".join(r.kind.value for r in overridable),
            )
        return sorted({r.kind.value for r in overridable})


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
