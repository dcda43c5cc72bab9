"""Availability as of a past time: what the service answered then, from the events
known then, next to what it answers now."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import availability_pb2 as av
from tests.e2e.test_appointments import (
    SUB,
    USER,
    at,
    book_request,
    connect,
    listed_position,
    stub,
    sync_now,
    ts,
)
from tests.support.caldav_servers import RadicaleServer
from tests.support.grpc_service import Service, auth, failure

WINDOW = av.TimeWindow(start_time=ts(at(9)), end_time=ts(at(17)))


def _as_of(service: Service, moment: datetime, viewer: str = "") -> av.GetAvailabilityAsOfResponse:
    return service.availability.GetAvailabilityAsOf(
        av.GetAvailabilityAsOfRequest(
            sub_account_id=SUB, user_id=USER, window=WINDOW, as_of_time=ts(moment), viewer_user_id=viewer
        ),
        metadata=auth(),
    )


def _starts(slots: list[av.Slot]) -> list[datetime]:
    return [s.start_time.ToDatetime(tzinfo=UTC) for s in slots]


def test_the_answer_of_a_past_time_comes_from_the_events_known_then(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    home = connect(service, account)
    radicale.put_ics(account[0], account[1], f"{radicale.home_path(account[0])}home/dentist.ics", (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:dentist\r\n"
        f"DTSTAMP:20250101T000000Z\r\nDTSTART:{at(15):%Y%m%dT%H%M%SZ}\r\nDTEND:{at(16):%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ))
    before_sync = datetime.now(UTC)
    position_then = listed_position(service)

    sync_now(service, home.connection_id)
    appointment = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    after_booking = datetime.now(UTC)
    live = service.availability.ListFreeSlots(
        av.ListFreeSlotsRequest(sub_account_id=SUB, user_id=USER, window=WINDOW, min_position=listed_position(service)),
        metadata=auth(),
    )
    stub(service).CancelAppointment(
        ap.CancelAppointmentRequest(sub_account_id=SUB, user_id=USER, appointment_id=appointment.appointment_id),
        metadata=auth(),
    )

    then = _as_of(service, before_sync)
    assert _starts(then.slots) == [at(9) + i * (at(9, 30) - at(9)) for i in range(16)]  # nothing took time then
    assert list(then.busy) == []
    assert then.as_of.position == position_then
    [calendar] = then.as_of.calendars
    assert calendar.freshness == av.FRESHNESS_NEVER_SYNCED and then.as_of.degraded

    later = _as_of(service, after_booking, viewer=USER)
    assert _starts(later.slots) == _starts(live.slots)  # what the service answered then
    assert at(10) not in _starts(later.slots) and at(15) not in _starts(later.slots)
    kinds = [(s.kind, s.start_time.ToDatetime(tzinfo=UTC), s.title) for s in later.busy]
    assert kinds == [
        (av.SOURCE_KIND_APPOINTMENT, at(10), "Consultation"),
        (av.SOURCE_KIND_IMPORTED_EVENT, at(15), "Dentist"),
    ]
    assert later.busy[1].uid == "dentist" and later.busy[1].etag
    assert later.as_of.calendars[0].freshness == av.FRESHNESS_FRESH and not later.as_of.degraded
    # someone else sees the dentist only as busy
    assert _as_of(service, after_booking, viewer="someone-else").busy[1].title == "Busy"

    now = _as_of(service, datetime.now(UTC))  # the cancel frees the time again
    assert at(10) in _starts(now.slots)


def test_an_as_of_question_needs_a_time_and_a_bounded_window(embedded_service: Service) -> None:
    missing = failure(
        embedded_service.availability.GetAvailabilityAsOf,
        av.GetAvailabilityAsOfRequest(sub_account_id=SUB, user_id=USER, window=WINDOW),
    )
    assert missing.code == grpc.StatusCode.INVALID_ARGUMENT and "as_of_time" in missing.violations
    unbounded = failure(
        embedded_service.availability.GetAvailabilityAsOf,
        av.GetAvailabilityAsOfRequest(
            sub_account_id=SUB, user_id=USER, window=av.TimeWindow(start_time=ts(at(9))), as_of_time=ts(at(0))
        ),
    )
    assert unbounded.code == grpc.StatusCode.INVALID_ARGUMENT and "window.end_time" in unbounded.violations
