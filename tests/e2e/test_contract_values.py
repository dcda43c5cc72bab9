"""The contract for values every RPC shares: timestamps within the Timestamp type's
range (years 1 to 9999, nanos 0 to 999,999,999), IANA time zones, authorization
before any field check, and every bad field in one answer with one reason."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import REGISTRY

from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import appointments_pb2_grpc
from calendarintegration.v1 import availability_pb2 as av
from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import history_pb2 as hi
from tests.support.grpc_service import TENANT_TOKEN, Service, failure

SUB, USER = "loc-1", "u1"
FORBIDDEN_SUB = "loc-9"  # the tenant token does not reach it
FIRST_SECOND = -62_135_596_800  # 0001-01-01T00:00:00Z
LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z
SOON = int((datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0).timestamp())


def ts(seconds: int, nanos: int = 0) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


def window(start: Timestamp, end: Timestamp) -> av.TimeWindow:
    return av.TimeWindow(start_time=start, end_time=end)


def appointments(service: Service) -> appointments_pb2_grpc.AppointmentServiceStub:
    return appointments_pb2_grpc.AppointmentServiceStub(service.channel)


def bad_times(sub: str) -> list[tuple[str, str, Any, set[str]]]:
    """(service, RPC, request, the fields it must name) with a timestamp out of range."""
    return [
        ("availability", "ListFreeSlots",
         av.ListFreeSlotsRequest(sub_account_id=sub, user_id=USER, window=window(ts(LAST_SECOND + 1), ts(2**62))),
         {"window.start_time", "window.end_time"}),
        ("availability", "QueryTeamAvailability",
         av.QueryTeamAvailabilityRequest(
             sub_account_id=sub, user_ids=[USER], window=window(ts(SOON, -1), ts(SOON + 3600)),
             mode=av.TEAM_MODE_ALL, slot_minutes=30),
         {"window.start_time"}),
        ("availability", "ExplainTime",
         av.ExplainTimeRequest(sub_account_id=sub, user_id=USER, start_time=ts(FIRST_SECOND - 1),
                               end_time=ts(SOON, 1_000_000_000)),
         {"start_time", "end_time"}),
        ("availability", "GetAvailabilityAsOf",
         av.GetAvailabilityAsOfRequest(sub_account_id=sub, user_id=USER, as_of_time=ts(-(2**63)),
                                       window=window(ts(SOON), ts(SOON + 3600))),
         {"as_of_time"}),
        ("appointments", "BookAppointment",
         ap.BookAppointmentRequest(sub_account_id=sub, user_id=USER, start_time=ts(2**63 - 1),
                                   end_time=ts(SOON), title="x"),
         {"start_time"}),
        ("appointments", "RescheduleAppointment",
         ap.RescheduleAppointmentRequest(sub_account_id=sub, user_id=USER, appointment_id="not-a-uuid",
                                         start_time=ts(SOON), end_time=ts(SOON, -5)),
         {"appointment_id", "end_time"}),
        ("appointments", "ListAppointments",
         ap.ListAppointmentsRequest(sub_account_id=sub, user_id=USER, start_time=ts(FIRST_SECOND - 86400),
                                    end_time=ts(SOON)),
         {"start_time"}),
        ("appointments", "CreateCrmBlockedSlot",
         ap.CreateCrmBlockedSlotRequest(sub_account_id=sub, user_id=USER, start_time=ts(SOON),
                                        end_time=ts(LAST_SECOND + 1)),
         {"end_time"}),
        ("appointments", "ListCrmBlockedSlots",
         ap.ListCrmBlockedSlotsRequest(sub_account_id=sub, user_id=USER, start_time=ts(SOON, 2**31 - 1),
                                       end_time=ts(SOON + 60)),
         {"start_time"}),
        ("history", "GetAggregateState",
         hi.GetAggregateStateRequest(sub_account_id=sub, user_id=USER,
                                     aggregate_type=hi.AGGREGATE_TYPE_USER_SCHEDULE, time=ts(2**40)),
         {"time"}),
    ]


def stub(service: Service, name: str) -> Any:
    return appointments(service) if name == "appointments" else getattr(service, name)


@pytest.mark.parametrize("case", bad_times(SUB), ids=lambda c: c[1])
def test_a_timestamp_out_of_range_is_a_field_violation_naming_its_path(
    embedded_service: Service, case: tuple[str, str, Any, set[str]]
) -> None:
    where, method, request, fields = case
    error = failure(getattr(stub(embedded_service, where), method), request, TENANT_TOKEN)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT, (method, error)
    assert fields <= set(error.violations), (method, error.violations)
    assert error.reason == "INVALID_ARGUMENT"
    assert embedded_service.serving()


@pytest.mark.parametrize("case", bad_times(FORBIDDEN_SUB), ids=lambda c: c[1])
def test_authorization_comes_before_any_field_check(
    embedded_service: Service, case: tuple[str, str, Any, set[str]]
) -> None:
    where, method, request, _ = case
    error = failure(getattr(stub(embedded_service, where), method), request, TENANT_TOKEN)
    assert error.code == grpc.StatusCode.PERMISSION_DENIED, (method, error)
    assert error.reason == "SUB_ACCOUNT_NOT_ALLOWED"
    assert error.violations == {}, "nothing is said about the fields of a request the caller may not make"


def test_a_time_zone_is_checked_by_name_and_length_where_it_is_set(embedded_service: Service) -> None:
    for zone in ("x" * 300, "../../etc/localtime", "Europe/Nowhere", "Europe/Berlin\x00"):
        reading = failure(
            embedded_service.configurations.UpdateReadingRules,
            cfg.UpdateReadingRulesRequest(sub_account_id=SUB, user_id=USER, time_zone=zone),
        )
        hours = failure(
            embedded_service.availability.SetWorkingHours,
            av.SetWorkingHoursRequest(sub_account_id=SUB, user_id=USER, time_zone=zone),
        )
        for error in (reading, hours):
            assert error.code == grpc.StatusCode.INVALID_ARGUMENT, (zone, error)
            assert set(error.violations) == {"time_zone"}
            assert len(error.message) < 400, "a long name is not echoed whole"
    answer = embedded_service.configurations.UpdateReadingRules(
        cfg.UpdateReadingRulesRequest(sub_account_id=SUB, user_id=USER, time_zone="America/Argentina/ComodRivadavia"),
        metadata=[("authorization", "Bearer " + TENANT_TOKEN)],
    )
    assert answer.configuration.time_zone == "America/Argentina/ComodRivadavia"


def test_windows_at_the_ends_of_the_timestamp_range_are_answered_not_failed(embedded_service: Service) -> None:
    for start, end in ((FIRST_SECOND, FIRST_SECOND + 86400), (LAST_SECOND - 86400, LAST_SECOND)):
        requests = [
            (embedded_service.availability.ListFreeSlots,
             av.ListFreeSlotsRequest(sub_account_id=SUB, user_id=USER, window=window(ts(start), ts(end)))),
            (embedded_service.availability.ExplainTime,
             av.ExplainTimeRequest(sub_account_id=SUB, user_id=USER, start_time=ts(start), end_time=ts(end))),
            (embedded_service.availability.GetAvailabilityAsOf,
             av.GetAvailabilityAsOfRequest(sub_account_id=SUB, user_id=USER, as_of_time=ts(end),
                                           window=window(ts(start), ts(end)))),
            (embedded_service.availability.QueryTeamAvailability,
             av.QueryTeamAvailabilityRequest(sub_account_id=SUB, user_ids=[USER], window=window(ts(start), ts(end)),
                                             mode=av.TEAM_MODE_ANY, slot_minutes=30)),
            (appointments(embedded_service).ListAppointments,
             ap.ListAppointmentsRequest(sub_account_id=SUB, user_id=USER, start_time=ts(start), end_time=ts(end))),
            (appointments(embedded_service).BookAppointment,
             ap.BookAppointmentRequest(sub_account_id=SUB, user_id=USER, start_time=ts(start),
                                       end_time=ts(start + 3600), title="Edge")),
        ]
        for call, request in requests:
            try:
                call(request, metadata=[("authorization", "Bearer " + TENANT_TOKEN)], timeout=30)
            except grpc.RpcError as error:
                assert error.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (
                    type(request).__name__, start, error.details()
                )
    assert embedded_service.serving()


def test_every_bad_field_is_in_one_answer(embedded_service: Service) -> None:
    rules = failure(
        embedded_service.availability.SetBookingRules,
        av.SetBookingRulesRequest(
            sub_account_id=SUB, user_id=USER,
            booking_rules=av.BookingRules(slot_minutes=1, step_minutes=2, buffer_before_minutes=-1, daily_cap=-3,
                                      weekly_cap=-1, monthly_cap_minutes=31 * 1440 + 1),
        ),
    )
    assert rules.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(rules.violations) == {
        "booking_rules.slot_minutes", "booking_rules.step_minutes",
        "booking_rules.buffer_before_minutes", "booking_rules.daily_cap",
        "booking_rules.weekly_cap", "booking_rules.monthly_cap_minutes",
    }
    team = failure(
        embedded_service.availability.QueryTeamAvailability,
        av.QueryTeamAvailabilityRequest(
            sub_account_id=SUB, user_ids=[USER, USER], window=window(ts(SOON), ts(SOON + 3600)),
            mode=99, slot_minutes=1, step_minutes=3,  # type: ignore[arg-type]  # an unknown enum value
        ),
    )
    assert team.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(team.violations) == {"mode", "user_ids", "slot_minutes", "step_minutes"}
    assert team.reason == rules.reason == "INVALID_ARGUMENT"
    assert team.metadata["fields"] == "mode, slot_minutes, step_minutes, user_ids"


def test_a_window_too_long_is_told_the_same_way_by_every_service(embedded_service: Service) -> None:
    """The same mistake on two services: one reason, one metadata key, one violation."""
    far = SOON + 400 * 86400
    free = failure(
        embedded_service.availability.ListFreeSlots,
        av.ListFreeSlotsRequest(sub_account_id=SUB, user_id=USER, window=window(ts(SOON), ts(far))),
    )
    listed = failure(
        appointments(embedded_service).ListAppointments,
        ap.ListAppointmentsRequest(sub_account_id=SUB, user_id=USER, start_time=ts(SOON), end_time=ts(far)),
    )
    for error, field in ((free, "window.end_time"), (listed, "end_time")):
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT
        assert error.reason == "INVALID_ARGUMENT"
        assert error.metadata == {"fields": field}
        assert set(error.violations) == {field}


def test_lists_take_windows_up_to_366_days_while_an_appointment_lasts_at_most_14(embedded_service: Service) -> None:
    stub_ = appointments(embedded_service)
    booked = stub_.BookAppointment(
        ap.BookAppointmentRequest(sub_account_id=SUB, user_id=USER, start_time=ts(SOON), end_time=ts(SOON + 3600),
                                  title="Consultation", override=True),
        metadata=[("authorization", "Bearer " + TENANT_TOKEN)],
    ).appointment
    for days in (15, 200, 366):
        request = dict(sub_account_id=SUB, user_id=USER, start_time=ts(SOON), end_time=ts(SOON + days * 86400))
        listed = stub_.ListAppointments(ap.ListAppointmentsRequest(**request), metadata=[("authorization", "Bearer " + TENANT_TOKEN)])
        assert [a.appointment_id for a in listed.appointments] == [booked.appointment_id], days
        blocks = stub_.ListCrmBlockedSlots(ap.ListCrmBlockedSlotsRequest(**request), metadata=[("authorization", "Bearer " + TENANT_TOKEN)])
        assert list(blocks.blocked_slots) == []
    too_long = dict(sub_account_id=SUB, user_id=USER, start_time=ts(SOON), end_time=ts(SOON + 367 * 86400))
    for call, request in ((stub_.ListAppointments, ap.ListAppointmentsRequest(**too_long)),
                          (stub_.ListCrmBlockedSlots, ap.ListCrmBlockedSlotsRequest(**too_long))):
        error = failure(call, request, TENANT_TOKEN)
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "366 days" in error.violations["end_time"]
    fifteen_days = failure(
        stub_.BookAppointment,
        ap.BookAppointmentRequest(sub_account_id=SUB, user_id=USER, start_time=ts(SOON + 86400),
                                  end_time=ts(SOON + 16 * 86400), title="Retreat", override=True),
        TENANT_TOKEN,
    )
    assert "14 days" in fifteen_days.violations["end_time"]


@pytest.mark.parametrize("override", [False, True])
def test_a_booking_that_starts_in_the_past_is_refused_override_or_not(embedded_service: Service, override: bool) -> None:
    stub_ = appointments(embedded_service)
    an_hour_ago = int(datetime.now(UTC).timestamp()) - 3600
    error = failure(
        stub_.BookAppointment,
        ap.BookAppointmentRequest(sub_account_id=SUB, user_id=USER, start_time=ts(an_hour_ago),
                                  end_time=ts(an_hour_ago + 7200), title="Late", override=override),
        TENANT_TOKEN,
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(error.violations) == {"start_time"}
    assert "past" in error.violations["start_time"]
    booked = stub_.BookAppointment(
        ap.BookAppointmentRequest(sub_account_id=SUB, user_id=USER, start_time=ts(SOON), end_time=ts(SOON + 1800),
                                  title="On time", override=True),
        metadata=[("authorization", "Bearer " + TENANT_TOKEN)],
    ).appointment
    moved = failure(
        stub_.RescheduleAppointment,
        ap.RescheduleAppointmentRequest(sub_account_id=SUB, user_id=USER, appointment_id=booked.appointment_id,
                                        start_time=ts(an_hour_ago), end_time=ts(an_hour_ago + 1800), override=override),
        TENANT_TOKEN,
    )
    assert moved.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(moved.violations) == {"start_time"}


def test_each_refusal_is_counted_and_logged_by_rpc_code_and_reason(
    embedded_service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    labels = {"rpc": "ListFreeSlots", "code": "INVALID_ARGUMENT", "reason": "INVALID_ARGUMENT"}
    before = REGISTRY.get_sample_value("calsync_rpc_errors_total", labels) or 0.0
    request = av.ListFreeSlotsRequest(sub_account_id=SUB, user_id=USER, window=window(ts(2**40), ts(SOON)))
    with caplog.at_level(logging.INFO, logger="server.handlers"):
        failure(embedded_service.availability.ListFreeSlots, request, TENANT_TOKEN)
    assert REGISTRY.get_sample_value("calsync_rpc_errors_total", labels) == before + 1
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("rpc.refused")]
    assert line == "rpc.refused rpc=ListFreeSlots code=INVALID_ARGUMENT reason=INVALID_ARGUMENT fields=window.start_time"


def test_a_booking_with_many_bad_fields_names_them_all_at_once(embedded_service: Service) -> None:
    stub_ = appointments(embedded_service)
    booking = failure(
        stub_.BookAppointment,
        ap.BookAppointmentRequest(
            sub_account_id=SUB, user_id=USER, start_time=ts(SOON), end_time=ts(SOON - 60), title=" ",
            location="x" * 9000, attendees=[ap.Attendee(email="ann@example.com"), ap.Attendee(email="not an address")],
            request_id="x" * 200,
        ),
        TENANT_TOKEN,
    )
    assert set(booking.violations) == {"end_time", "title", "location", "attendees[1].email", "request_id"}
    block = failure(
        stub_.CreateCrmBlockedSlot,
        ap.CreateCrmBlockedSlotRequest(sub_account_id=SUB, user_id="", start_time=ts(SOON),
                                       end_time=ts(SOON + 15 * 86400), title="x" * 600),
        TENANT_TOKEN,
    )
    assert set(block.violations) == {"user_id", "end_time", "title"}
    listed = failure(
        stub_.ListAppointments,
        ap.ListAppointmentsRequest(sub_account_id=SUB, user_id=USER, start_time=ts(SOON), end_time=ts(SOON - 1),
                                   page_size=-1),
        TENANT_TOKEN,
    )
    assert set(listed.violations) == {"end_time", "page_size"}


def test_a_question_about_the_past_names_its_window_beside_its_other_bad_fields(embedded_service: Service) -> None:
    error = failure(
        embedded_service.availability.GetAvailabilityAsOf,
        av.GetAvailabilityAsOfRequest(sub_account_id=SUB, user_id=USER, as_of_time=ts(SOON),
                                      window=window(ts(SOON), ts(SOON - 3600)), viewer_user_id="not valid!"),
        TENANT_TOKEN,
    )
    assert set(error.violations) == {"window.end_time", "viewer_user_id"}
