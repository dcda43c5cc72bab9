"""request_id as an idempotency key, over gRPC on both stores: a retry of the same
request is answered as the first attempt was, whatever changed since; the same id
with other parameters is refused and says so."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import appointments_pb2_grpc
from calendarintegration.v1 import availability_pb2 as av
from calendarintegration.v1 import configuration_pb2 as cfg
from tests.support.grpc_service import Service, auth, failure

SUB, USER = "loc-1", "u1"
SOON = int((datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0).timestamp())
HOUR = 3600


def ts(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


def stub(service: Service) -> appointments_pb2_grpc.AppointmentServiceStub:
    return appointments_pb2_grpc.AppointmentServiceStub(service.channel)


def book(start: int, request_id: str, title: str = "Consultation") -> ap.BookAppointmentRequest:
    return ap.BookAppointmentRequest(
        sub_account_id=SUB, user_id=USER, start_time=ts(start), end_time=ts(start + HOUR),
        title=title, override=True, request_id=request_id,
    )


def move(appointment_id: str, start: int, request_id: str) -> ap.RescheduleAppointmentRequest:
    return ap.RescheduleAppointmentRequest(
        sub_account_id=SUB, user_id=USER, appointment_id=appointment_id,
        start_time=ts(start), end_time=ts(start + HOUR), override=True, request_id=request_id,
    )


def test_a_retry_after_later_changes_gets_the_first_answer(service: Service) -> None:
    calls = stub(service)
    booking_id, first_move, second_move = (f"req-{uuid.uuid4().hex}" for _ in range(3))
    booked = calls.BookAppointment(book(SOON, booking_id), metadata=auth()).appointment
    moved = calls.RescheduleAppointment(move(booked.appointment_id, SOON + 2 * HOUR, first_move), metadata=auth())
    calls.RescheduleAppointment(move(booked.appointment_id, SOON + 4 * HOUR, second_move), metadata=auth())
    head = service.container.app.head_position()

    again = calls.BookAppointment(book(SOON, booking_id), metadata=auth()).appointment
    assert (again.appointment_id, again.start_time.seconds, again.revision) == (booked.appointment_id, SOON, 1)
    moved_again = calls.RescheduleAppointment(
        move(booked.appointment_id, SOON + 2 * HOUR, first_move), metadata=auth()
    ).appointment
    assert moved_again.start_time.seconds == moved.appointment.start_time.seconds == SOON + 2 * HOUR
    assert moved_again.revision == 2

    now = calls.GetAppointment(
        ap.GetAppointmentRequest(sub_account_id=SUB, user_id=USER, appointment_id=booked.appointment_id),
        metadata=auth(),
    ).appointment
    assert (now.start_time.seconds, now.revision) == (SOON + 4 * HOUR, 3), "the retries changed nothing"
    assert service.container.app.head_position() == head


def test_a_request_id_reused_with_other_parameters_is_refused_saying_so(service: Service) -> None:
    calls = stub(service)
    request_id = f"req-{uuid.uuid4().hex}"
    booked = calls.BookAppointment(book(SOON + 6 * HOUR, request_id), metadata=auth()).appointment
    for other in (book(SOON + 7 * HOUR, request_id), book(SOON + 6 * HOUR, request_id, title="Another")):
        error = failure(calls.BookAppointment, other)
        assert error.code == grpc.StatusCode.FAILED_PRECONDITION
        assert error.reason == "REQUEST_ID_REUSED"
        assert error.metadata["request_id"] == request_id
        assert "other parameters" in error.message
    block = ap.CreateCrmBlockedSlotRequest(
        sub_account_id=SUB, user_id=USER, start_time=ts(SOON + 9 * HOUR), end_time=ts(SOON + 10 * HOUR),
        title="Lunch", request_id=request_id,
    )
    across = failure(calls.CreateCrmBlockedSlot, block)
    assert across.reason == "REQUEST_ID_REUSED", "one id, two kinds of request"
    listed = calls.ListAppointments(
        ap.ListAppointmentsRequest(sub_account_id=SUB, user_id=USER, start_time=ts(SOON), end_time=ts(SOON + 86400)),
        metadata=auth(),
    )
    assert [a.appointment_id for a in listed.appointments] == [booked.appointment_id]


def test_a_blocked_slot_retried_after_its_deletion_is_answered_as_created(service: Service) -> None:
    calls = stub(service)
    create_id, delete_id = f"req-{uuid.uuid4().hex}", f"req-{uuid.uuid4().hex}"
    request = ap.CreateCrmBlockedSlotRequest(
        sub_account_id=SUB, user_id=USER, start_time=ts(SOON + 12 * HOUR), end_time=ts(SOON + 13 * HOUR),
        title="Lunch", request_id=create_id,
    )
    created = calls.CreateCrmBlockedSlot(request, metadata=auth()).blocked_slot
    calls.DeleteCrmBlockedSlot(
        ap.DeleteCrmBlockedSlotRequest(
            sub_account_id=SUB, user_id=USER, blocked_slot_id=created.blocked_slot_id, request_id=delete_id
        ),
        metadata=auth(),
    )
    again = calls.CreateCrmBlockedSlot(request, metadata=auth()).blocked_slot
    assert again == created
    remaining = calls.ListCrmBlockedSlots(
        ap.ListCrmBlockedSlotsRequest(sub_account_id=SUB, user_id=USER, start_time=ts(SOON), end_time=ts(SOON + 86400)),
        metadata=auth(),
    )
    assert list(remaining.blocked_slots) == [], "the retry did not make it again"


def test_settings_and_policies_refuse_a_request_id_reused_with_other_values(service: Service) -> None:
    rules_id, later_id, zone_id, policy_id = (f"req-{uuid.uuid4().hex}" for _ in range(4))

    def rules(slot_minutes: int, request_id: str) -> av.SetBookingRulesRequest:
        return av.SetBookingRulesRequest(
            sub_account_id=SUB, user_id=USER, booking_rules=av.BookingRules(slot_minutes=slot_minutes),
            request_id=request_id,
        )

    service.availability.SetBookingRules(rules(40, rules_id), metadata=auth())
    reused = failure(service.availability.SetBookingRules, rules(45, rules_id))
    assert (reused.code, reused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "REQUEST_ID_REUSED")
    service.availability.SetBookingRules(rules(60, later_id), metadata=auth())
    service.availability.SetBookingRules(rules(40, rules_id), metadata=auth())  # a retry: answered, not applied
    settings = service.availability.GetAvailabilitySettings(
        av.GetAvailabilitySettingsRequest(sub_account_id=SUB, user_id=USER), metadata=auth()
    )
    assert settings.booking_rules.slot_minutes == 60

    zone = cfg.UpdateReadingRulesRequest(sub_account_id=SUB, user_id=USER, time_zone="Europe/Berlin", request_id=zone_id)
    first = service.configurations.UpdateReadingRules(zone, metadata=auth()).configuration
    again = service.configurations.UpdateReadingRules(zone, metadata=auth()).configuration
    assert again == first
    other_zone = cfg.UpdateReadingRulesRequest(
        sub_account_id=SUB, user_id=USER, time_zone="Asia/Tokyo", request_id=zone_id
    )
    assert failure(service.configurations.UpdateReadingRules, other_zone).reason == "REQUEST_ID_REUSED"

    policy = av.SetStaleCalendarPolicyRequest(sub_account_id=SUB, stale_calendars_block=False, request_id=policy_id)
    service.availability.SetStaleCalendarPolicy(policy, metadata=auth())
    service.availability.SetStaleCalendarPolicy(policy, metadata=auth())
    flipped = av.SetStaleCalendarPolicyRequest(sub_account_id=SUB, stale_calendars_block=True, request_id=policy_id)
    assert failure(service.availability.SetStaleCalendarPolicy, flipped).reason == "REQUEST_ID_REUSED"
