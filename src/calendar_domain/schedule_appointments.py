"""The appointments and the blocked slots made in the CRM of a UserSchedule:
booking, moving, cancelling, and the index of the time they take."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from calendar_domain import icloud_changes
from calendar_domain.bookings import (
    AppointmentDetails,
    Conflict,
    Spans,
    appointment_id_of_href,
    attendees_payload,
    record_span,
)
from calendar_domain.errors import AlreadyExists, DomainError, NotFound
from calendar_domain.schedule_parts import SchedulePart


class AppointmentCancelledError(DomainError):
    """The appointment was cancelled; it cannot be changed any more."""

    reason = "APPOINTMENT_CANCELLED"


class BooksAppointments(SchedulePart):
    """The appointments and CRM blocked slots of a UserSchedule (a part of it)."""

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
