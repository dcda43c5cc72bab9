"""Round-robin booking over gRPC on both stores: the rule (least recently
assigned, then fewest bookings in the week), busy members skipped with their
reasons, the assignment in the history, idempotency, and no double booking when
two team bookings race."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import availability_pb2 as av
from calendarintegration.v1 import history_pb2 as hi
from tests.e2e.test_appointments import SUB, at, book_request, calendar_events, connect, pushed, stub, ts
from tests.e2e.test_history import all_events
from tests.support.caldav_servers import RadicaleServer
from tests.support.grpc_service import TENANT_TOKEN, Service, auth, failure


def round_robin(service: Service, users: list[str], start: datetime, end: datetime, **fields: Any) -> Any:
    request = ap.BookRoundRobinRequest(
        sub_account_id=SUB, user_ids=users, start_time=ts(start), end_time=ts(end), title="Consultation", **fields
    )
    return stub(service).BookRoundRobin(request, metadata=auth(), timeout=60)


def block(service: Service, user: str, start: datetime, end: datetime) -> str:
    return stub(service).CreateCrmBlockedSlot(
        ap.CreateCrmBlockedSlotRequest(sub_account_id=SUB, user_id=user, start_time=ts(start), end_time=ts(end)),
        metadata=auth(),
    ).blocked_slot.blocked_slot_id


def members(answer: Any) -> dict[str, Any]:
    return {m.user_id: m for m in answer.assignment.members}


def assignments(outcome: str) -> float:
    return REGISTRY.get_sample_value("calsync_round_robin_assignments_total", {"outcome": outcome}) or 0.0


def test_the_least_recently_assigned_free_member_wins_and_history_says_why(
    service: Service, account: tuple[str, str], radicale: RadicaleServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="calendar_domain.appointment_service")
    connect(service, account)  # u1 writes to Radicale's Home
    blocked = block(service, "u3", at(11), at(12))
    # u6 works 12:00-17:00 UTC: 11:00 is outside its hours
    hours = av.WorkingHours(
        weekly=[av.WeeklyHours(iso_weekday=d, windows=[av.DayWindow(start_minute=720, end_minute=1020)]) for d in range(1, 6)]
    )
    service.availability.SetWorkingHours(
        av.SetWorkingHoursRequest(sub_account_id=SUB, user_id="u6", working_hours=hours, time_zone="UTC"), metadata=auth()
    )
    zone = service.availability.SetTimeZone(
        av.SetTimeZoneRequest(sub_account_id=SUB, user_id="u2", time_zone="UTC"), metadata=auth()
    )

    anyone = service.availability.QueryTeamAvailability(
        av.QueryTeamAvailabilityRequest(  # read after the writes above (the last one's position)
            sub_account_id=SUB, user_ids=["u1", "u2", "u3"], slot_minutes=60, mode=av.TEAM_MODE_ANY,
            window=av.TimeWindow(start_time=ts(at(11)), end_time=ts(at(12))), min_position=zone.position,
        ),
        metadata=auth(),
    )
    assert [list(s.free_user_ids) for s in anyone.slots] == [["u1", "u2"]]

    first = round_robin(service, ["u2"], at(9), at(10))
    assert first.assignment.user_id == "u2" and first.assignment.why == "only_free_member"

    before = assignments("assigned")
    second = round_robin(service, ["u1", "u2", "u3", "u6"], at(11), at(12), request_id="rr-second")
    assert assignments("assigned") == before + 1
    assert second.appointment.user_id == second.assignment.user_id == "u1"
    assert second.assignment.why == "least_recently_assigned"
    seen = members(second)
    assert seen["u1"].free and seen["u2"].free and not seen["u3"].free
    assert seen["u2"].last_assigned_time.ToDatetime(tzinfo=UTC) == first.assignment.assigned_time.ToDatetime(tzinfo=UTC)
    assert not seen["u1"].HasField("last_assigned_time") and seen["u2"].week_bookings == 1
    assert [(r.kind, r.rule, r.conflict_id) for r in seen["u3"].reasons] == [("busy", "blocked_slot", blocked)]
    assert [r.kind for r in seen["u6"].reasons] == ["outside_working_hours"]
    logged = [r.getMessage() for r in caplog.records if "round_robin.assigned" in r.getMessage()]
    assert any(second.appointment.appointment_id in line and "free=2 busy=2" in line for line in logged), logged

    # u2 was assigned before u1: u2's turn (u3, free at 14:00 and never assigned, is not asked)
    third = round_robin(service, ["u1", "u2"], at(14), at(15))
    assert third.assignment.user_id == "u2" and third.assignment.why == "least_recently_assigned"

    # neither ever assigned: u4's booking this week puts u5 first
    direct = book_request(at(16), at(17))
    direct.user_id = "u4"
    stub(service).BookAppointment(direct, metadata=auth())
    fourth = round_robin(service, ["u4", "u5"], at(10), at(11))
    assert fourth.assignment.user_id == "u5" and fourth.assignment.why == "fewest_bookings_in_week"

    retried = round_robin(service, ["u1", "u2", "u3", "u6"], at(11), at(12), request_id="rr-second")
    assert retried.appointment.appointment_id == second.appointment.appointment_id
    assert retried.assignment == second.assignment

    recorded = [
        e.user_schedule_round_robin_assigned for e in all_events(service, aggregate_types=[hi.AGGREGATE_TYPE_USER_SCHEDULE])
        if e.HasField("user_schedule_round_robin_assigned")
    ]
    assert [(r.user_id, r.why) for r in recorded] == [
        ("u2", "only_free_member"), ("u1", "least_recently_assigned"),
        ("u2", "least_recently_assigned"), ("u5", "fewest_bookings_in_week"),
    ]
    assert recorded[1].appointment_id == second.appointment.appointment_id
    assert list(recorded[1].members) == list(second.assignment.members)

    # the chosen user's primary calendar has it, once
    pushed(service, second.appointment.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    assert len(calendar_events(radicale, account)) == 1


def _race(service: Service, users: list[str]) -> list[Any]:
    """Two round-robin bookings for 10:00 released together: each chosen user, or the error code."""
    outcomes: list[Any] = [None, None]
    start = threading.Barrier(2)

    def call(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = round_robin(service, users, at(10), at(11)).appointment.user_id
        except grpc.RpcError as error:
            outcomes[index] = error.code()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


def test_two_concurrent_team_bookings_take_different_members_or_one_fails(service: Service) -> None:
    assert sorted(_race(service, ["c1", "c2"])) == ["c1", "c2"]

    block(service, "c4", at(9), at(12))
    outcomes = _race(service, ["c3", "c4"])
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["c3"]
    assert [o for o in outcomes if not isinstance(o, str)] in (
        [grpc.StatusCode.FAILED_PRECONDITION], [grpc.StatusCode.ABORTED]
    )
    listed = stub(service).ListAppointments(
        ap.ListAppointmentsRequest(sub_account_id=SUB, user_id="c3", start_time=ts(at(0)), end_time=ts(at(23))),
        metadata=auth(),
    )
    assert len(listed.appointments) == 1

    before = assignments("no_member_free")
    refused = failure(stub(service).BookRoundRobin, ap.BookRoundRobinRequest(
        sub_account_id=SUB, user_ids=["c3", "c4"], start_time=ts(at(10)), end_time=ts(at(11)), title="Consultation",
    ))
    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.reason == "BOOKING_CONFLICT" and refused.metadata["conflict_kind"] == "no_member_free"
    assert assignments("no_member_free") == before + 1


def test_bad_team_bookings_name_every_field_and_authorization_holds(service: Service) -> None:
    bad = failure(stub(service).BookRoundRobin, ap.BookRoundRobinRequest(
        sub_account_id=SUB, user_ids=["x", "x"], start_time=ts(at(11)), end_time=ts(at(10)),
    ))
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {"user_ids", "end_time"} <= set(bad.violations)
    for users, field in (([], "user_ids"), ([f"u{i}" for i in range(51)], "user_ids"), (["ok", ""], "user_ids[1]")):
        refused = failure(stub(service).BookRoundRobin, ap.BookRoundRobinRequest(
            sub_account_id=SUB, user_ids=users, start_time=ts(at(10)), end_time=ts(at(11)),
        ))
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT and field in refused.violations
    denied = failure(stub(service).BookRoundRobin, ap.BookRoundRobinRequest(
        sub_account_id=SUB, user_ids=["x", "x"], start_time=ts(at(11)), end_time=ts(at(10)),
    ), TENANT_TOKEN)  # authorization before the fields
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
