"""AppointmentService over gRPC: appointments and blocked slots made in the CRM."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc

from calendar_domain import values
from calendar_domain.appointment_service import AppointmentService, ScheduleOutcome
from calendar_domain.bookings import (
    MAX_CANCEL_REASON,
    MAX_TITLE,
    AppointmentDetails,
    Attendee,
    appointment_uid,
    checked_details,
    checked_span,
    checked_window,
    record_span,
)
from calendar_domain.icloud_changes import CANCELLED, FOLLOWED, RESTORED, restoring
from calendar_domain.policy import ICloudChangePolicy
from calendar_domain.policy_service import PolicyService
from calendar_domain.schedule import UserSchedule
from calendarintegration.v1 import appointments_pb2 as pb
from calendarintegration.v1 import appointments_pb2_grpc, configuration_pb2
from server.auth import Caller
from server.convert import timestamp
from server.handlers import ServicerBase, rpc
from server.validation import Violations, offset_page

DEFAULT_PAGE = 100


class AppointmentServicer(ServicerBase, appointments_pb2_grpc.AppointmentServiceServicer):
    def __init__(self, authenticator: Any, appointments: AppointmentService, policies: PolicyService) -> None:
        super().__init__(authenticator)
        self._appointments = appointments
        self._policies = policies

    @rpc
    def BookAppointment(self, request: Any, context: Any, caller: Caller) -> pb.BookAppointmentResponse:
        details = AppointmentDetails(
            title=request.title,
            description=request.description,
            location=request.location,
            attendees=tuple(Attendee(a.email, a.name) for a in request.attendees),
        )
        start, end = self._scope(request, caller, details=details)
        outcome = self._appointments.book(
            request.sub_account_id, request.user_id, start, end, details,
            override=request.override, request_id=request.request_id,
        )
        return pb.BookAppointmentResponse(appointment=_appointment(outcome), position=outcome.position)

    @rpc
    def RescheduleAppointment(self, request: Any, context: Any, caller: Caller) -> pb.RescheduleAppointmentResponse:
        start, end = self._scope(request, caller, "appointment_id")
        outcome = self._appointments.reschedule(
            request.sub_account_id, request.user_id, request.appointment_id, start, end,
            override=request.override, request_id=request.request_id,
        )
        return pb.RescheduleAppointmentResponse(appointment=_appointment(outcome), position=outcome.position)

    @rpc
    def CancelAppointment(self, request: Any, context: Any, caller: Caller) -> pb.CancelAppointmentResponse:
        self._scope(request, caller, "appointment_id", times=False, longest={"reason": MAX_CANCEL_REASON})
        outcome = self._appointments.cancel(
            request.sub_account_id, request.user_id, request.appointment_id, request.reason, request.request_id
        )
        return pb.CancelAppointmentResponse(appointment=_appointment(outcome), position=outcome.position)

    @rpc
    def GetAppointment(self, request: Any, context: Any, caller: Caller) -> pb.GetAppointmentResponse:
        self._scope(request, caller, "appointment_id", times=False)
        schedule = self._appointments.schedule(request.sub_account_id, request.user_id)
        schedule.appointment(request.appointment_id)  # NOT_FOUND when it is not this user's
        return pb.GetAppointmentResponse(appointment=appointment(schedule, request.appointment_id))

    @rpc
    def ListAppointments(self, request: Any, context: Any, caller: Caller) -> pb.ListAppointmentsResponse:
        start, end, size, after = self._list_scope(request, caller, "appointments")
        schedule, ids, _ = self._appointments.in_window(request.sub_account_id, request.user_id, start, end)
        page, token = offset_page(ids, after, size, "appointments")
        return pb.ListAppointmentsResponse(
            appointments=[appointment(schedule, i) for i in page], next_page_token=token
        )

    @rpc
    def CreateCrmBlockedSlot(self, request: Any, context: Any, caller: Caller) -> pb.CreateCrmBlockedSlotResponse:
        start, end = self._scope(request, caller, longest={"title": MAX_TITLE})
        outcome = self._appointments.create_block(
            request.sub_account_id, request.user_id, start, end, request.title, request.request_id
        )
        return pb.CreateCrmBlockedSlotResponse(
            blocked_slot=blocked_slot(outcome.schedule, outcome.item_id), position=outcome.position
        )

    @rpc
    def DeleteCrmBlockedSlot(self, request: Any, context: Any, caller: Caller) -> pb.DeleteCrmBlockedSlotResponse:
        self._scope(request, caller, "blocked_slot_id", times=False)
        outcome = self._appointments.delete_block(
            request.sub_account_id, request.user_id, request.blocked_slot_id, request.request_id
        )
        return pb.DeleteCrmBlockedSlotResponse(position=outcome.position)

    @rpc
    def ListCrmBlockedSlots(self, request: Any, context: Any, caller: Caller) -> pb.ListCrmBlockedSlotsResponse:
        start, end, size, after = self._list_scope(request, caller, "blocked_slots")
        schedule, _, ids = self._appointments.in_window(request.sub_account_id, request.user_id, start, end)
        page, token = offset_page(ids, after, size, "blocked_slots")
        return pb.ListCrmBlockedSlotsResponse(
            blocked_slots=[blocked_slot(schedule, i) for i in page], next_page_token=token
        )

    @rpc
    def GetICloudChangePolicy(self, request: Any, context: Any, caller: Caller) -> pb.GetICloudChangePolicyResponse:
        self.check_scope(request, caller, Violations.of(request), user=False)
        policy = self._policies.get(request.sub_account_id)
        return pb.GetICloudChangePolicyResponse(policy=_POLICY_TO_PB[policy.icloud_changes])

    @rpc
    def SetICloudChangePolicy(self, request: Any, context: Any, caller: Caller) -> pb.SetICloudChangePolicyResponse:
        v = Violations.of(request)
        policy = _POLICY_FROM_PB.get(request.policy)
        if policy is None:
            v.add("policy", "policy must be FOLLOW_ICLOUD or RESTORE")
        self.check_scope(request, caller, v, user=False)
        assert policy is not None
        position = self._policies.set_icloud_changes(request.sub_account_id, policy, request.request_id)
        return pb.SetICloudChangePolicyResponse(position=position)

    # -- request checks ---------------------------------------------------------------

    def _scope(
        self, request: Any, caller: Caller, id_field: str = "", *, times: bool = True,
        details: AppointmentDetails | None = None, longest: dict[str, int] | None = None,
    ) -> tuple[datetime | None, datetime | None]:
        """Every field of a command checked at once: ids, times (the span an
        appointment or blocked slot may take) and, for a booking, its details."""
        v = Violations.of(request)
        if id_field:
            v.check(lambda: values.uuid_id(id_field, getattr(request, id_field)), None)
        start, end = _times(request, v) if times else (None, None)
        if start is not None and end is not None:
            v.check(lambda: checked_span(start, end), None)
        if details is not None:
            v.check(lambda: checked_details(details), None)
        for field, most in (longest or {}).items():
            if len(getattr(request, field)) > most:
                v.add(field, f"{field} may have at most {most} characters")
        self.check_scope(request, caller, v)
        return start, end

    def _list_scope(self, request: Any, caller: Caller, kind: str) -> tuple[datetime | None, datetime | None, int, int]:
        v = Violations.of(request)
        start, end = _times(request, v)
        if start is not None and end is not None:
            v.check(lambda: checked_window(start, end), None)
        size = v.page_size("page_size", request.page_size, DEFAULT_PAGE)
        after = v.page_token("page_token", request.page_token, kind) if request.page_token else 0
        self.check_scope(request, caller, v)
        return start, end, size, after


def _times(request: Any, v: Violations) -> tuple[datetime | None, datetime | None]:
    return v.timestamp("start_time", request, required=True), v.timestamp("end_time", request, required=True)


_PUSH = {
    "no_calendar": pb.PUSH_STATUS_NO_CALENDAR,
    "pending": pb.PUSH_STATUS_PENDING,
    "written": pb.PUSH_STATUS_WRITTEN,
    "removed": pb.PUSH_STATUS_REMOVED,
    "retrying": pb.PUSH_STATUS_RETRYING,
    "failed": pb.PUSH_STATUS_FAILED,
    "followed_icloud": pb.PUSH_STATUS_FOLLOWED_ICLOUD,
    "restored": pb.PUSH_STATUS_RESTORED,
    "cancelled_in_icloud": pb.PUSH_STATUS_CANCELLED_IN_ICLOUD,
}
_CHANGE = {"moved": pb.I_CLOUD_CHANGE_KIND_MOVED, "deleted": pb.I_CLOUD_CHANGE_KIND_DELETED}
_POLICY_TO_PB = {
    ICloudChangePolicy.FOLLOW_ICLOUD: pb.I_CLOUD_CHANGE_POLICY_FOLLOW_ICLOUD,
    ICloudChangePolicy.RESTORE: pb.I_CLOUD_CHANGE_POLICY_RESTORE,
}
_POLICY_FROM_PB = {v: k for k, v in _POLICY_TO_PB.items()}
_CONFLICT_KIND = {"imported_event": pb.CONFLICT_KIND_IMPORTED_EVENT, "appointment": pb.CONFLICT_KIND_APPOINTMENT}
# What the service did about a change in iCloud, once the calendar holds the outcome.
_SETTLED = {FOLLOWED: "followed_icloud", RESTORED: "restored", CANCELLED: "cancelled_in_icloud"}


def push_status(record: dict[str, Any]) -> str:
    """Where the appointment's current revision stands in iCloud."""
    if not record["calendar"]:
        return "no_calendar"
    pushed, failure = record.get("pushed") or {}, record.get("failure")
    if failure and failure["revision"] == record["revision"]:
        return "failed" if failure["permanent"] else "retrying"
    if pushed.get("revision") == record["revision"] and not restoring(record):
        settled = _SETTLED.get((record.get("icloud") or {}).get("outcome", ""))
        return settled or ("removed" if pushed.get("deleted") else "written")
    return "pending"


def _appointment(outcome: ScheduleOutcome) -> pb.Appointment:
    return appointment(outcome.schedule, outcome.item_id)


def appointment(schedule: UserSchedule, appointment_id: str) -> pb.Appointment:
    record = schedule.appointments[appointment_id]
    start, end = record_span(record)
    pushed, failure = record.get("pushed") or {}, record.get("failure") or {}
    message = pb.Appointment(
        appointment_id=appointment_id,
        sub_account_id=schedule.sub_account_id,
        user_id=schedule.user_id,
        start_time=timestamp(start),
        end_time=timestamp(end),
        title=record["title"],
        description=record["description"],
        location=record["location"],
        attendees=[pb.Attendee(email=a["email"], name=a["name"]) for a in record["attendees"]],
        status=pb.APPOINTMENT_STATUS_BOOKED if record["status"] == "booked" else pb.APPOINTMENT_STATUS_CANCELLED,
        revision=record["revision"],
        uid=appointment_uid(appointment_id),
        push=pb.PushState(
            status=_PUSH[push_status(record)],
            written_revision=pushed.get("revision", 0),
            href=pushed.get("href", ""),
            etag=pushed.get("etag", ""),
            last_error=failure.get("error", ""),
            attempts=failure.get("attempts", 0),
        ),
        overridden=record.get("overridden", []),
    )
    if record["calendar"]:
        message.calendar.CopyFrom(configuration_pb2.CalendarRef(**record["calendar"]))
    if failure.get("retry_at") and not failure.get("permanent"):
        message.push.next_attempt_time.CopyFrom(timestamp(datetime.fromisoformat(failure["retry_at"])))
    change = record.get("icloud")
    if change:
        message.icloud_change.kind = _CHANGE[change["state"]]
        if change.get("start"):
            message.icloud_change.start_time.CopyFrom(timestamp(datetime.fromisoformat(change["start"])))
            message.icloud_change.end_time.CopyFrom(timestamp(datetime.fromisoformat(change["end"])))
    opened = sorted((record.get("conflicts") or {}).values(), key=lambda c: (c["overlap_start"], c["href"]))
    message.conflicts.extend(_conflict(c) for c in opened)
    return message


def _conflict(conflict: dict[str, Any]) -> pb.AppointmentConflict:
    times = {
        f"{name}_time": timestamp(datetime.fromisoformat(conflict[name]))
        for name in ("occurrence_start", "occurrence_end", "overlap_start", "overlap_end")
    }
    return pb.AppointmentConflict(
        kind=_CONFLICT_KIND[conflict["kind"]],
        connection_id=conflict["connection_id"],
        calendar_id=conflict["calendar_id"],
        href=conflict["href"],
        uid=conflict["uid"],
        etag=conflict["etag"],
        other_appointment_id=conflict["other_appointment_id"],
        **times,
    )


def blocked_slot(schedule: UserSchedule, block_id: str) -> pb.CrmBlockedSlot:
    record = schedule.crm_blocks[block_id]
    start, end = record_span(record)
    return pb.CrmBlockedSlot(
        blocked_slot_id=block_id,
        sub_account_id=schedule.sub_account_id,
        user_id=schedule.user_id,
        start_time=timestamp(start),
        end_time=timestamp(end),
        title=record["title"],
    )


def register(server: grpc.Server, servicer: AppointmentServicer) -> None:
    appointments_pb2_grpc.add_AppointmentServiceServicer_to_server(servicer, server)
