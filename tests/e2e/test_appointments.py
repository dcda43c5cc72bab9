"""Appointments end to end: booked over gRPC, written to a real CalDAV server
(Radicale standing in for iCloud), recognised when they come back, and never
double-booked."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import icalendar
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import appointments_pb2_grpc
from calendarintegration.v1 import availability_pb2 as av
from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import sync_pb2 as sy
from tests.support.caldav_servers import RadicaleServer
from tests.support.grpc_service import Service, auth, failure
from tests.support.waiting import wait_for

SUB = "crm-1"
USER = "u1"


def _monday() -> date:
    """A Monday at least three days ahead (inside the default horizon)."""
    day = datetime.now(UTC).date() + timedelta(days=3)
    return day + timedelta(days=(7 - day.weekday()) % 7)


MONDAY = _monday()


def at(hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def stub(service: Service) -> appointments_pb2_grpc.AppointmentServiceStub:
    return appointments_pb2_grpc.AppointmentServiceStub(service.channel)


def book_request(start: datetime, end: datetime, **fields: Any) -> ap.BookAppointmentRequest:
    return ap.BookAppointmentRequest(
        sub_account_id=SUB, user_id=USER, start_time=ts(start), end_time=ts(end),
        title=fields.pop("title", "Consultation"), **fields,
    )


def connect(service: Service, account: tuple[str, str], *, primary: bool = True) -> pb.Calendar:
    """Connects the account; Home becomes the primary calendar (and so blocks time)."""
    answer = service.connections.ConnectAccount(
        pb.ConnectAccountRequest(sub_account_id=SUB, user_id=USER, apple_id=account[0], app_password=account[1]),
        metadata=auth(),
    )
    home = next(c for c in answer.calendars if c.display_name == "Home")
    ref = cfg.CalendarRef(connection_id=home.connection_id, calendar_id=home.calendar_id)
    if primary:
        service.configurations.SetPrimaryCalendar(
            cfg.SetPrimaryCalendarRequest(sub_account_id=SUB, user_id=USER, calendar=ref), metadata=auth()
        )
    return home


def get(service: Service, appointment_id: str) -> ap.Appointment:
    return stub(service).GetAppointment(
        ap.GetAppointmentRequest(sub_account_id=SUB, user_id=USER, appointment_id=appointment_id), metadata=auth()
    ).appointment


def pushed(service: Service, appointment_id: str, status: int, revision: int) -> ap.Appointment:
    def probe() -> ap.Appointment | None:
        found = get(service, appointment_id)
        return found if found.push.status == status and found.push.written_revision == revision else None

    return wait_for(probe, f"revision {revision} of {appointment_id} to reach push status {status}")


def sync_now(service: Service, connection_id: str) -> None:
    answer = service.sync.SyncNow(sy.SyncNowRequest(sub_account_id=SUB, connection_id=connection_id), metadata=auth())
    assert answer.calendars_failed == 0


def listed_position(service: Service) -> int:
    return service.container.app.head_position()


def calendar_events(radicale: RadicaleServer, account: tuple[str, str]) -> dict[str, icalendar.Event]:
    """name -> VEVENT of every resource in the Home calendar, read over plain CalDAV."""
    home = f"{radicale.home_path(account[0])}home/"
    listing = radicale.request("PROPFIND", home, account, headers={"Depth": "1"}, expect=(207,)).text
    names = sorted({part.split("<")[0] for part in listing.split(home)[1:] if ".ics" in part.split("<")[0]})
    found = {}
    for name in names:
        body = radicale.request("GET", f"{home}{name}", account).text
        found[name] = next(iter(icalendar.Calendar.from_ical(body).walk("VEVENT")))
    return found


def test_an_appointment_is_written_rescheduled_and_cancelled_on_the_primary_calendar(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    home = connect(service, account)
    request = book_request(
        at(10), at(11), description="First visit", location="Room 4", request_id="book-1",
        attendees=[ap.Attendee(email="client@example.com", name="A Client")],
    )
    booked = stub(service).BookAppointment(request, metadata=auth())
    appointment = booked.appointment
    assert appointment.status == ap.APPOINTMENT_STATUS_BOOKED and appointment.revision == 1
    assert appointment.calendar.calendar_id == home.calendar_id
    # the same request again: the same appointment, nothing new
    again = stub(service).BookAppointment(request, metadata=auth())
    assert again.appointment.appointment_id == appointment.appointment_id

    written = pushed(service, appointment.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    [(name, event)] = calendar_events(radicale, account).items()
    assert name == f"{appointment.appointment_id}.ics" and written.push.href.endswith(name)
    assert str(event["UID"]) == appointment.uid
    assert event.decoded("DTSTART") == at(10) and event.decoded("DTEND") == at(11)
    assert str(event["SUMMARY"]) == "Consultation" and str(event["LOCATION"]) == "Room 4"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:client@example.com"
    assert attendee.params["SCHEDULE-AGENT"] == "CLIENT" and attendee.params["CN"] == "A Client"
    # RFC 5545 3.8.4.3: a component with attendees names its organizer, the calendar's
    # owner; SCHEDULE-AGENT=CLIENT there too, so that no server sends an invitation
    organizer = event["ORGANIZER"]
    assert str(organizer) == f"mailto:{account[0]}" and organizer.params["SCHEDULE-AGENT"] == "CLIENT"

    stub(service).RescheduleAppointment(
        ap.RescheduleAppointmentRequest(
            sub_account_id=SUB, user_id=USER, appointment_id=appointment.appointment_id,
            start_time=ts(at(14)), end_time=ts(at(15)),
        ),
        metadata=auth(),
    )
    pushed(service, appointment.appointment_id, ap.PUSH_STATUS_WRITTEN, 2)
    [event] = calendar_events(radicale, account).values()
    assert event.decoded("DTSTART") == at(14) and int(event["SEQUENCE"]) == 1

    # the event comes back with the next sync: recognised, never a blocked slot
    sync_now(service, home.connection_id)
    slots = service.sync.ListBlockedSlots(sy.ListBlockedSlotsRequest(sub_account_id=SUB, user_id=USER), metadata=auth())
    assert list(slots.blocked_slots) == []
    assert not get(service, appointment.appointment_id).HasField("icloud_change")

    cancelled = stub(service).CancelAppointment(
        ap.CancelAppointmentRequest(sub_account_id=SUB, user_id=USER, appointment_id=appointment.appointment_id),
        metadata=auth(),
    ).appointment
    assert cancelled.status == ap.APPOINTMENT_STATUS_CANCELLED and cancelled.revision == 3
    pushed(service, appointment.appointment_id, ap.PUSH_STATUS_REMOVED, 3)
    assert calendar_events(radicale, account) == {}
    sync_now(service, home.connection_id)
    assert get(service, appointment.appointment_id).status == ap.APPOINTMENT_STATUS_CANCELLED
    assert not get(service, appointment.appointment_id).HasField("icloud_change")


def test_bookings_never_overlap_appointments_or_blocked_slots(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    home = connect(service, account)
    first = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    refused = failure(stub(service).BookAppointment, book_request(at(10, 30), at(11, 30), override=True))
    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION and refused.reason == "BOOKING_CONFLICT"
    assert refused.metadata["conflict_kind"] == "appointment"
    assert refused.metadata["conflict_id"] == first.appointment_id
    # back to back is fine
    second = stub(service).BookAppointment(book_request(at(11), at(12)), metadata=auth()).appointment

    block = stub(service).CreateCrmBlockedSlot(
        ap.CreateCrmBlockedSlotRequest(
            sub_account_id=SUB, user_id=USER, start_time=ts(at(13)), end_time=ts(at(14)), title="Lunch"
        ),
        metadata=auth(),
    ).blocked_slot
    over_block = failure(stub(service).BookAppointment, book_request(at(13, 30), at(14, 30), override=True))
    assert over_block.metadata["conflict_kind"] == "blocked_slot"
    assert over_block.metadata["conflict_id"] == block.blocked_slot_id
    moved = failure(
        stub(service).RescheduleAppointment,
        ap.RescheduleAppointmentRequest(
            sub_account_id=SUB, user_id=USER, appointment_id=second.appointment_id,
            start_time=ts(at(10, 30)), end_time=ts(at(11, 30)),
        ),
    )
    assert moved.reason == "BOOKING_CONFLICT" and moved.metadata["conflict_id"] == first.appointment_id

    # outside working hours (Mon-Fri 09:00-17:00 by default): only with override
    late = failure(stub(service).BookAppointment, book_request(at(18), at(19)))
    assert late.reason == "BOOKING_CONFLICT" and late.metadata["conflict_kind"] == "outside_working_hours"
    overridden = stub(service).BookAppointment(book_request(at(18), at(19), override=True), metadata=auth())
    assert list(overridden.appointment.overridden) == ["outside_working_hours"]

    # a busy event in iCloud refuses even with override
    radicale.put_ics(account[0], account[1], f"{radicale.home_path(account[0])}home/dentist.ics", (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:dentist\r\n"
        f"DTSTAMP:20250101T000000Z\r\nDTSTART:{at(15):%Y%m%dT%H%M%SZ}\r\nDTEND:{at(16):%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ))
    sync_now(service, home.connection_id)
    busy = failure(stub(service).BookAppointment, book_request(at(15, 30), at(16), override=True))
    assert busy.reason == "BOOKING_CONFLICT" and busy.metadata["conflict_kind"] == "imported_event"
    assert busy.metadata["href"].endswith("dentist.ics")

    listed = stub(service).ListAppointments(
        ap.ListAppointmentsRequest(sub_account_id=SUB, user_id=USER, start_time=ts(at(0)), end_time=ts(at(23))),
        metadata=auth(),
    )
    assert [a.appointment_id for a in listed.appointments] == [
        first.appointment_id, second.appointment_id, overridden.appointment.appointment_id
    ]
    blocks = stub(service).ListCrmBlockedSlots(
        ap.ListCrmBlockedSlotsRequest(sub_account_id=SUB, user_id=USER, start_time=ts(at(0)), end_time=ts(at(23))),
        metadata=auth(),
    )
    assert [b.blocked_slot_id for b in blocks.blocked_slots] == [block.blocked_slot_id]
    # written: the three appointments; never the blocked slot made in the CRM
    for appointment_id in (first.appointment_id, second.appointment_id):
        pushed(service, appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    pushed(service, overridden.appointment.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    uids = sorted(str(e["UID"]) for e in calendar_events(radicale, account).values())
    assert uids == sorted([first.uid, second.uid, overridden.appointment.uid, "dentist"])

    # the availability model sees appointments and CRM blocks as busy
    def free_starts() -> list[datetime]:
        free = service.availability.ListFreeSlots(
            av.ListFreeSlotsRequest(
                sub_account_id=SUB, user_id=USER, window=av.TimeWindow(start_time=ts(at(9)), end_time=ts(at(17))),
                min_position=listed_position(service),
            ),
            metadata=auth(),
        )
        return [s.start_time.ToDatetime(tzinfo=UTC) for s in free.slots]

    assert free_starts() == [at(9), at(9, 30), at(12), at(12, 30), at(14), at(14, 30), at(16), at(16, 30)]

    # deleting the block frees its time; the same window asked again says so at once
    stub(service).DeleteCrmBlockedSlot(
        ap.DeleteCrmBlockedSlotRequest(sub_account_id=SUB, user_id=USER, blocked_slot_id=block.blocked_slot_id),
        metadata=auth(),
    )
    assert free_starts() == [at(9), at(9, 30), at(12), at(12, 30), at(13), at(13, 30), at(14), at(14, 30), at(16), at(16, 30)]
    stub(service).BookAppointment(book_request(at(13, 30), at(14, 30)), metadata=auth())
    assert free_starts() == [at(9), at(9, 30), at(12), at(12, 30), at(13), at(14, 30), at(16), at(16, 30)]


def test_of_fifty_concurrent_bookings_for_one_time_exactly_one_wins(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    connect(service, account)
    outcomes: list[Any] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def attempt(index: int) -> None:
        minute = index % 30  # every request overlaps every other one
        request = book_request(at(10, minute), at(11, minute), title=f"Booking {index}")
        start.wait()
        try:
            answer = stub(service).BookAppointment(request, metadata=auth(), timeout=60)
            result: Any = answer.appointment.appointment_id
        except grpc.RpcError as error:
            result = error.code()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    winners = [o for o in outcomes if isinstance(o, str)]
    losers = [o for o in outcomes if not isinstance(o, str)]
    assert len(outcomes) == 50 and len(winners) == 1
    assert set(losers) <= {grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED}
    listed = stub(service).ListAppointments(
        ap.ListAppointmentsRequest(sub_account_id=SUB, user_id=USER, start_time=ts(at(0)), end_time=ts(at(23))),
        metadata=auth(),
    )
    assert [a.appointment_id for a in listed.appointments] == winners
    pushed(service, winners[0], ap.PUSH_STATUS_WRITTEN, 1)
    assert len(calendar_events(radicale, account)) == 1


def test_with_no_primary_calendar_nothing_is_written(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    connect(service, account, primary=False)
    appointment = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    assert appointment.push.status == ap.PUSH_STATUS_NO_CALENDAR and not appointment.HasField("calendar")
    # the push queue is drained without a write
    wait_for(lambda: service.container.push_queue.pending() == 0, "the push queue to drain")
    assert calendar_events(radicale, account) == {}


def test_after_a_move_in_icloud_a_reschedule_in_the_crm_writes_the_event_again(
    embedded_service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    """Moves and deletions in iCloud themselves: tests/e2e/test_icloud_changes.py."""
    service = embedded_service
    home = connect(service, account)
    appointment = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    written = pushed(service, appointment.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    path = f"{radicale.home_path(account[0])}home/{appointment.appointment_id}.ics"
    body = radicale.request("GET", path, account).text
    moved_body = body.replace(f"{at(10):%Y%m%dT%H%M%SZ}", f"{at(16):%Y%m%dT%H%M%SZ}").replace(
        f"{at(11):%Y%m%dT%H%M%SZ}", f"{at(17):%Y%m%dT%H%M%SZ}"
    )
    assert moved_body != body
    radicale.put_ics(account[0], account[1], path, moved_body, etag=written.push.etag)

    sync_now(service, home.connection_id)
    seen = get(service, appointment.appointment_id)
    assert seen.icloud_change.kind == ap.I_CLOUD_CHANGE_KIND_MOVED
    assert seen.icloud_change.start_time.ToDatetime(tzinfo=UTC) == at(16)
    slots = service.sync.ListBlockedSlots(sy.ListBlockedSlotsRequest(sub_account_id=SUB, user_id=USER), metadata=auth())
    assert list(slots.blocked_slots) == []  # still the appointment's own event, never a blocked slot

    stub(service).RescheduleAppointment(
        ap.RescheduleAppointmentRequest(
            sub_account_id=SUB, user_id=USER, appointment_id=appointment.appointment_id,
            start_time=ts(at(12)), end_time=ts(at(13)),
        ),
        metadata=auth(),
    )
    again = pushed(service, appointment.appointment_id, ap.PUSH_STATUS_WRITTEN, 3)
    assert not again.HasField("icloud_change")
    [event] = calendar_events(radicale, account).values()
    assert event.decoded("DTSTART") == at(12)


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"start_time": None}, "start_time"),
        ({"end_time": ts(at(9))}, "end_time"),
        ({"title": ""}, "title"),
        ({"attendees": [ap.Attendee(email="not an address")]}, "attendees[0].email"),
        ({"end_time": ts(at(10) + timedelta(days=15))}, "end_time"),
    ],
)
def test_bad_bookings_name_the_field(embedded_service: Service, request_fields: dict[str, Any], field: str) -> None:
    request = book_request(at(10), at(11))
    for name, value in request_fields.items():
        if value is None:
            request.ClearField(name)
        elif name == "attendees":
            request.attendees.extend(value)
        else:
            getattr(request, name).CopyFrom(value) if isinstance(value, Timestamp) else setattr(request, name, value)
    refused = failure(stub(embedded_service).BookAppointment, request)
    assert refused.code == grpc.StatusCode.INVALID_ARGUMENT and field in refused.violations


def test_unknown_or_foreign_appointments_are_not_found(embedded_service: Service) -> None:
    booked = stub(embedded_service).BookAppointment(book_request(at(10), at(11), override=True), metadata=auth())
    other_user: Callable[[], Any] = lambda: failure(  # noqa: E731
        stub(embedded_service).CancelAppointment,
        ap.CancelAppointmentRequest(sub_account_id=SUB, user_id="u2", appointment_id=booked.appointment.appointment_id),
    )
    assert other_user().code == grpc.StatusCode.NOT_FOUND
    assert get(embedded_service, booked.appointment.appointment_id).status == ap.APPOINTMENT_STATUS_BOOKED


def test_a_new_primary_calendar_receives_new_appointments_and_old_ones_stay(
    embedded_service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    service = embedded_service
    home = connect(service, account)
    first = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    pushed(service, first.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    calendars = service.connections.ListCalendars(
        pb.ListCalendarsRequest(sub_account_id=SUB, connection_id=home.connection_id), metadata=auth()
    ).calendars
    work = next(c for c in calendars if c.display_name == "Work")
    service.configurations.SetPrimaryCalendar(
        cfg.SetPrimaryCalendarRequest(
            sub_account_id=SUB, user_id=USER,
            calendar=cfg.CalendarRef(connection_id=work.connection_id, calendar_id=work.calendar_id),
        ),
        metadata=auth(),
    )
    second = stub(service).BookAppointment(book_request(at(12), at(13)), metadata=auth()).appointment
    assert second.calendar.calendar_id == work.calendar_id
    pushed(service, second.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    # the first is rescheduled where it was written
    stub(service).RescheduleAppointment(
        ap.RescheduleAppointmentRequest(
            sub_account_id=SUB, user_id=USER, appointment_id=first.appointment_id,
            start_time=ts(at(14)), end_time=ts(at(15)),
        ),
        metadata=auth(),
    )
    moved = pushed(service, first.appointment_id, ap.PUSH_STATUS_WRITTEN, 2)
    assert moved.calendar.calendar_id == home.calendar_id
    assert [str(e["UID"]) for e in calendar_events(radicale, account).values()] == [first.uid]
    work_path = f"{radicale.home_path(account[0])}work/{second.appointment_id}.ics"
    [written] = icalendar.Calendar.from_ical(radicale.request("GET", work_path, account).text).walk("VEVENT")
    assert str(written["UID"]) == second.uid
