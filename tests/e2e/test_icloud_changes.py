"""The calendar is the truth (DOMAIN.md, "When the two sides disagree"): an
appointment the user moves or deletes in iCloud, edited on a real CalDAV server
(Radicale) as the user would, follows iCloud or is restored by the sub-account's
policy, and every availability answer blocks what the calendar shows; a busy
event later put on an appointment is a conflict until the overlap ends. Over
gRPC, on both stores."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import grpc
from prometheus_client import REGISTRY

from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import availability_pb2 as av
from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import history_pb2 as hi
from calendarintegration.v1 import sync_pb2 as sy
from tests.e2e.test_appointments import (
    SUB,
    USER,
    at,
    book_request,
    calendar_events,
    connect,
    get,
    pushed,
    stub,
    sync_now,
    ts,
)
from calendar_domain.bookings import appointment_uid
from tests.e2e.test_history_stream import following
from tests.support.caldav_servers import RadicaleServer
from tests.support.grpc_service import TENANT_TOKEN, Service, auth, failure
from tests.support.waiting import wait_for

Account = tuple[str, str]


def event_path(radicale: RadicaleServer, account: Account, name: str) -> str:
    return f"{radicale.home_path(account[0])}home/{name}"


def move_in_icloud(radicale: RadicaleServer, account: Account, appointment_id: str, start: datetime, end: datetime) -> None:
    """What the user does on the phone: the same event (UID) at other times."""
    path = event_path(radicale, account, f"{appointment_id}.ics")
    body = radicale.request("GET", path, account).text
    moved = re.sub(r"(?m)^DTSTART[^:\r\n]*:[^\r\n]*", f"DTSTART:{start:%Y%m%dT%H%M%SZ}", body)
    moved = re.sub(r"(?m)^DTEND[^:\r\n]*:[^\r\n]*", f"DTEND:{end:%Y%m%dT%H%M%SZ}", moved)
    assert moved != body
    radicale.put_ics(account[0], account[1], path, moved)


def put_event(radicale: RadicaleServer, account: Account, uid: str, start: datetime, end: datetime) -> None:
    radicale.put_ics(account[0], account[1], event_path(radicale, account, f"{uid}.ics"), (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{end:%Y%m%dT%H%M%SZ}\r\nSUMMARY:Private\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ))


def free_starts(service: Service) -> list[datetime]:
    free = service.availability.ListFreeSlots(
        av.ListFreeSlotsRequest(
            sub_account_id=SUB, user_id=USER, window=av.TimeWindow(start_time=ts(at(9)), end_time=ts(at(17))),
            min_position=service.container.app.head_position(),
        ),
        metadata=auth(),
    )
    return [s.start_time.ToDatetime(tzinfo=UTC) for s in free.slots]


def followed_count() -> float:
    found = REGISTRY.get_sample_value("calsync_appointment_outcomes_total", {"outcome": "followed_icloud"})
    return found or 0.0


def start_of(appointment: ap.Appointment) -> datetime:
    return appointment.start_time.ToDatetime(tzinfo=UTC)


def set_policy(service: Service, policy: ap.ICloudChangePolicy) -> None:
    stub(service).SetICloudChangePolicy(
        ap.SetICloudChangePolicyRequest(sub_account_id=SUB, policy=policy), metadata=auth()
    )


def schedule_events(service: Service, kind: hi.AggregateType = hi.AGGREGATE_TYPE_USER_SCHEDULE) -> list[hi.Event]:
    """The history's events of one aggregate type (a user schedule's by default)."""
    return list(
        service.history.ListEvents(hi.ListEventsRequest(aggregate_types=[kind], page_size=500), metadata=auth()).events
    )


def add_work_calendar(service: Service, home: pb.Calendar) -> pb.Calendar:
    """The account's Work calendar, made a conflict calendar of the user."""
    def listed_work() -> pb.Calendar | None:
        try:
            calendars = service.connections.ListCalendars(
                pb.ListCalendarsRequest(sub_account_id=SUB, connection_id=home.connection_id), metadata=auth()
            ).calendars
        except grpc.RpcError as error:  # the connection's read model not there yet
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return None
        return next((c for c in calendars if c.display_name == "Work"), None)

    work = wait_for(listed_work, "the connection's calendars to be listed")
    service.configurations.AddConflictCalendar(
        cfg.AddConflictCalendarRequest(
            sub_account_id=SUB, user_id=USER,
            calendar=cfg.CalendarRef(connection_id=work.connection_id, calendar_id=work.calendar_id),
        ),
        metadata=auth(),
    )
    return work


def test_following_icloud_a_move_reschedules_the_appointment_and_a_deletion_cancels_it(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    home = connect(service, account)
    policy = stub(service).GetICloudChangePolicy(ap.GetICloudChangePolicyRequest(sub_account_id=SUB), metadata=auth())
    assert policy.policy == ap.I_CLOUD_CHANGE_POLICY_FOLLOW_ICLOUD  # the default
    booked = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    pushed(service, booked.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    followed_before = followed_count()

    move_in_icloud(radicale, account, booked.appointment_id, at(14), at(15))
    sync_now(service, home.connection_id)
    assert followed_count() == followed_before + 1  # the operator's metric
    moved = get(service, booked.appointment_id)
    assert start_of(moved) == at(14) and moved.revision == 2
    assert moved.push.status == ap.PUSH_STATUS_FOLLOWED_ICLOUD and moved.push.written_revision == 2
    assert moved.icloud_change.kind == ap.I_CLOUD_CHANGE_KIND_MOVED
    # availability is what the calendar shows: the old time free, the new one busy
    free = free_starts(service)
    assert at(10) in free and at(14) not in free and at(14, 30) not in free and at(15) in free
    refused = failure(stub(service).BookAppointment, book_request(at(14, 30), at(15, 30), override=True))
    assert refused.reason == "BOOKING_CONFLICT" and refused.metadata["conflict_id"] == booked.appointment_id
    # the CRM learns it from the history: a reschedule caused by iCloud
    [rescheduled] = [e for e in schedule_events(service) if e.event_type == "UserSchedule.AppointmentRescheduled"]
    assert rescheduled.WhichOneof("payload") == "user_schedule_appointment_rescheduled"
    assert rescheduled.user_schedule_appointment_rescheduled.cause == "icloud"
    assert rescheduled.user_schedule_appointment_rescheduled.start.ToDatetime(tzinfo=UTC) == at(14)

    # moved twice between two syncs: the last place counts
    move_in_icloud(radicale, account, booked.appointment_id, at(15), at(16))
    move_in_icloud(radicale, account, booked.appointment_id, at(16), at(17))
    sync_now(service, home.connection_id)
    twice = get(service, booked.appointment_id)
    assert start_of(twice) == at(16) and twice.revision == 3 and twice.push.status == ap.PUSH_STATUS_FOLLOWED_ICLOUD
    free = free_starts(service)
    assert at(14) in free and at(16) not in free
    [event] = calendar_events(radicale, account).values()  # nothing was written back
    assert event.decoded("DTSTART") == at(16)

    radicale.delete(account[0], account[1], event_path(radicale, account, f"{booked.appointment_id}.ics"))
    sync_now(service, home.connection_id)
    gone = get(service, booked.appointment_id)
    assert gone.status == ap.APPOINTMENT_STATUS_CANCELLED and gone.revision == 4
    assert gone.push.status == ap.PUSH_STATUS_CANCELLED_IN_ICLOUD
    assert gone.icloud_change.kind == ap.I_CLOUD_CHANGE_KIND_DELETED
    assert at(16) in free_starts(service)
    cancelled = [e for e in schedule_events(service) if e.event_type == "UserSchedule.AppointmentCancelled"]
    assert [e.user_schedule_appointment_cancelled.cause for e in cancelled] == ["icloud"]
    wait_for(lambda: service.container.push_queue.pending() == 0, "the push queue to drain")
    assert calendar_events(radicale, account) == {}  # not re-created


def restoring_with_the_pusher_stopped(service: Service, account: Account) -> tuple[pb.Calendar, ap.Appointment]:
    """Home connected, the RESTORE policy, an appointment at 10:00 written; then the
    pusher stopped, so that a restore waits until it runs again."""
    home = connect(service, account)
    set_policy(service, ap.I_CLOUD_CHANGE_POLICY_RESTORE)
    booked = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    pushed(service, booked.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    service.container.pusher.stop()
    return home, booked


def test_restoring_writes_the_crm_version_back_and_both_times_block_until_it_is_written(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    home, booked = restoring_with_the_pusher_stopped(service, account)

    move_in_icloud(radicale, account, booked.appointment_id, at(14), at(15))
    sync_now(service, home.connection_id)
    waiting = get(service, booked.appointment_id)
    assert start_of(waiting) == at(10) and waiting.revision == 1
    assert waiting.push.status == ap.PUSH_STATUS_PENDING
    assert waiting.icloud_change.kind == ap.I_CLOUD_CHANGE_KIND_MOVED
    free = free_starts(service)
    assert at(10) not in free and at(14) not in free  # the CRM's time and the calendar's
    refused = failure(stub(service).BookAppointment, book_request(at(14), at(15), override=True))
    assert refused.reason == "BOOKING_CONFLICT" and refused.metadata["conflict_id"] == booked.appointment_id

    service.container.pusher.start()
    restored = pushed(service, booked.appointment_id, ap.PUSH_STATUS_RESTORED, 1)
    assert start_of(restored) == at(10)
    [event] = calendar_events(radicale, account).values()
    assert event.decoded("DTSTART") == at(10) and event.decoded("DTEND") == at(11)
    free = free_starts(service)
    assert at(14) in free and at(10) not in free
    sync_now(service, home.connection_id)  # the restored event comes back: nothing more
    assert get(service, booked.appointment_id).push.status == ap.PUSH_STATUS_RESTORED

    # deleted in iCloud: re-created, still booked
    radicale.delete(account[0], account[1], event_path(radicale, account, f"{booked.appointment_id}.ics"))
    sync_now(service, home.connection_id)
    def recreated() -> ap.Appointment | None:
        found = get(service, booked.appointment_id)
        deleted = found.icloud_change.kind == ap.I_CLOUD_CHANGE_KIND_DELETED
        return found if deleted and found.push.status == ap.PUSH_STATUS_RESTORED else None

    again = wait_for(recreated, "the deleted event to be restored")
    assert again.status == ap.APPOINTMENT_STATUS_BOOKED
    [event] = calendar_events(radicale, account).values()
    assert event.decoded("DTSTART") == at(10)
    assert at(10) not in free_starts(service)


def test_a_move_onto_another_appointment_is_followed_and_reported_as_a_conflict_on_both(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    home = connect(service, account)
    first = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    second = stub(service).BookAppointment(book_request(at(13), at(14)), metadata=auth()).appointment
    pushed(service, first.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    pushed(service, second.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)

    move_in_icloud(radicale, account, first.appointment_id, at(13, 30), at(14, 30))
    sync_now(service, home.connection_id)
    moved = get(service, first.appointment_id)
    assert start_of(moved) == at(13, 30)  # reality is recorded, never refused
    [conflict] = moved.conflicts
    assert conflict.kind == ap.CONFLICT_KIND_APPOINTMENT and conflict.other_appointment_id == second.appointment_id
    assert conflict.overlap_start_time.ToDatetime(tzinfo=UTC) == at(13, 30)
    assert conflict.overlap_end_time.ToDatetime(tzinfo=UTC) == at(14)
    listed = stub(service).ListAppointments(
        ap.ListAppointmentsRequest(sub_account_id=SUB, user_id=USER, start_time=ts(at(0)), end_time=ts(at(23))),
        metadata=auth(),
    )
    other = next(a for a in listed.appointments if a.appointment_id == second.appointment_id)
    assert [c.other_appointment_id for c in other.conflicts] == [first.appointment_id]
    assert at(10) in free_starts(service) and at(14) not in free_starts(service)

    # the CRM moves the second one away: the conflict ends on both
    stub(service).RescheduleAppointment(
        ap.RescheduleAppointmentRequest(
            sub_account_id=SUB, user_id=USER, appointment_id=second.appointment_id,
            start_time=ts(at(16)), end_time=ts(at(17)),
        ),
        metadata=auth(),
    )
    assert list(get(service, first.appointment_id).conflicts) == []
    assert list(get(service, second.appointment_id).conflicts) == []


def test_a_busy_event_imported_over_an_appointment_is_a_conflict_until_it_moves_away(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    home = connect(service, account)
    booked = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    pushed(service, booked.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)

    with following(service, aggregate_types=[hi.AGGREGATE_TYPE_USER_SCHEDULE]) as stream:
        stream.until_caught_up()
        put_event(radicale, account, "gym", at(10, 30), at(12))
        sync_now(service, home.connection_id)
        stream.until_position(service.container.app.head_position())
    # sent live on the stream, as a typed event
    live = [e for e in stream.events if e.WhichOneof("payload") == "user_schedule_appointment_conflict_detected"]
    assert [e.user_schedule_appointment_conflict_detected.uid for e in live] == ["gym"]
    seen = get(service, booked.appointment_id)
    [conflict] = seen.conflicts
    assert conflict.kind == ap.CONFLICT_KIND_IMPORTED_EVENT
    assert (conflict.connection_id, conflict.calendar_id) == (home.connection_id, home.calendar_id)
    assert conflict.href.endswith("/gym.ics") and conflict.uid == "gym" and conflict.etag
    assert conflict.occurrence_start_time.ToDatetime(tzinfo=UTC) == at(10, 30)
    assert conflict.overlap_start_time.ToDatetime(tzinfo=UTC) == at(10, 30)
    assert conflict.overlap_end_time.ToDatetime(tzinfo=UTC) == at(11)
    assert start_of(seen) == at(10) and seen.status == ap.APPOINTMENT_STATUS_BOOKED  # nothing changed by itself
    detected = [e for e in schedule_events(service) if e.event_type == "UserSchedule.AppointmentConflictDetected"]
    assert [e.user_schedule_appointment_conflict_detected.uid for e in detected] == ["gym"]
    assert detected[0].user_schedule_appointment_conflict_detected.appointment_id == booked.appointment_id

    put_event(radicale, account, "gym", at(15), at(16))
    sync_now(service, home.connection_id)
    assert list(get(service, booked.appointment_id).conflicts) == []
    cleared = [e for e in schedule_events(service) if e.event_type == "UserSchedule.AppointmentConflictCleared"]
    assert [e.user_schedule_appointment_conflict_cleared.href.endswith("/gym.ics") for e in cleared] == [True]


def test_an_appointment_turned_into_a_series_in_icloud_is_written_back_as_one_event(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    home = connect(service, account)
    booked = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    pushed(service, booked.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    path = event_path(radicale, account, f"{booked.appointment_id}.ics")
    body = radicale.request("GET", path, account).text
    radicale.put_ics(account[0], account[1], path, body.replace("\r\nDTSTART", "\r\nRRULE:FREQ=DAILY;COUNT=5\r\nDTSTART", 1))

    sync_now(service, home.connection_id)
    restored = pushed(service, booked.appointment_id, ap.PUSH_STATUS_RESTORED, 1)
    assert start_of(restored) == at(10) and restored.status == ap.APPOINTMENT_STATUS_BOOKED
    [event] = calendar_events(radicale, account).values()
    assert "RRULE" not in event and event.decoded("DTSTART") == at(10)
    code = failure(stub(service).BookAppointment, book_request(at(10), at(11), override=True)).code
    assert code == grpc.StatusCode.FAILED_PRECONDITION


def test_an_appointment_moved_in_icloud_onto_an_event_of_another_calendar_is_a_conflict(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    home = connect(service, account)
    work = add_work_calendar(service, home)
    radicale.put_ics(account[0], account[1], f"{radicale.home_path(account[0])}work/review.ics", (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:review\r\n"
        f"DTSTAMP:20250101T000000Z\r\nDTSTART:{at(15):%Y%m%dT%H%M%SZ}\r\nDTEND:{at(16):%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ))
    sync_now(service, home.connection_id)
    booked = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    pushed(service, booked.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)

    move_in_icloud(radicale, account, booked.appointment_id, at(14, 30), at(15, 30))
    sync_now(service, home.connection_id)
    moved = get(service, booked.appointment_id)
    assert start_of(moved) == at(14, 30)
    [conflict] = moved.conflicts
    assert conflict.kind == ap.CONFLICT_KIND_IMPORTED_EVENT and conflict.uid == "review"
    assert conflict.calendar_id == work.calendar_id and conflict.href.endswith("/review.ics")
    assert conflict.overlap_start_time.ToDatetime(tzinfo=UTC) == at(15)
    assert conflict.overlap_end_time.ToDatetime(tzinfo=UTC) == at(15, 30)


def test_the_icloud_change_policy_is_per_sub_account_validated_and_guarded(embedded_service: Service) -> None:
    service = embedded_service
    unset = failure(stub(service).SetICloudChangePolicy, ap.SetICloudChangePolicyRequest(sub_account_id="loc-1"))
    assert unset.code == grpc.StatusCode.INVALID_ARGUMENT and "policy" in unset.violations
    foreign = failure(
        stub(service).SetICloudChangePolicy,
        ap.SetICloudChangePolicyRequest(sub_account_id="loc-9", policy=ap.I_CLOUD_CHANGE_POLICY_RESTORE),
        token=TENANT_TOKEN,
    )
    assert foreign.code == grpc.StatusCode.PERMISSION_DENIED
    first = stub(service).SetICloudChangePolicy(
        ap.SetICloudChangePolicyRequest(sub_account_id="loc-1", policy=ap.I_CLOUD_CHANGE_POLICY_RESTORE, request_id="p1"),
        metadata=auth(TENANT_TOKEN),
    )
    again = stub(service).SetICloudChangePolicy(
        ap.SetICloudChangePolicyRequest(sub_account_id="loc-1", policy=ap.I_CLOUD_CHANGE_POLICY_RESTORE, request_id="p1"),
        metadata=auth(TENANT_TOKEN),
    )
    assert again.position == first.position
    policy = stub(service).GetICloudChangePolicy(ap.GetICloudChangePolicyRequest(sub_account_id="loc-1"), metadata=auth())
    assert policy.policy == ap.I_CLOUD_CHANGE_POLICY_RESTORE
    other = stub(service).GetICloudChangePolicy(ap.GetICloudChangePolicyRequest(sub_account_id="loc-2"), metadata=auth())
    assert other.policy == ap.I_CLOUD_CHANGE_POLICY_FOLLOW_ICLOUD
    [recorded] = [
        e for e in schedule_events(service, hi.AGGREGATE_TYPE_SUB_ACCOUNT_POLICY)
        if e.event_type == "SubAccountPolicy.ICloudChangePolicySet"
    ]
    assert recorded.sub_account_policy_icloud_change_policy_set.icloud_changes == "restore"


def test_restoring_a_move_made_twice_between_syncs_onto_another_appointment_puts_it_back(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    home = connect(service, account)
    set_policy(service, ap.I_CLOUD_CHANGE_POLICY_RESTORE)
    first = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    second = stub(service).BookAppointment(book_request(at(13), at(14)), metadata=auth()).appointment
    pushed(service, first.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    pushed(service, second.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)

    move_in_icloud(radicale, account, first.appointment_id, at(15), at(16))
    move_in_icloud(radicale, account, first.appointment_id, at(13), at(14))
    sync_now(service, home.connection_id)
    restored = pushed(service, first.appointment_id, ap.PUSH_STATUS_RESTORED, 1)
    assert start_of(restored) == at(10) and list(restored.conflicts) == []
    assert start_of(get(service, second.appointment_id)) == at(13)
    starts = sorted(e.decoded("DTSTART") for e in calendar_events(radicale, account).values())
    assert starts == [at(10), at(13)]
    free = free_starts(service)
    assert at(10) not in free and at(13) not in free and at(15) in free


def test_an_event_recreated_with_the_uid_of_an_appointment_cancelled_in_icloud_blocks_its_time(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    """The user deletes the appointment's event and brings it back (undo, or a
    restore of the calendar): the same UID, on the calendar again. The appointment
    stays cancelled (the CRM was told), and the event blocks as any event of the
    user does, until it is deleted again."""
    home = connect(service, account)
    booked = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    pushed(service, booked.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    path = event_path(radicale, account, f"{booked.appointment_id}.ics")
    body = radicale.request("GET", path, account).text
    radicale.delete(account[0], account[1], path)
    sync_now(service, home.connection_id)
    assert get(service, booked.appointment_id).status == ap.APPOINTMENT_STATUS_CANCELLED
    assert at(10) in free_starts(service)

    radicale.put_ics(account[0], account[1], path, body)  # back, as it was
    sync_now(service, home.connection_id)
    back = get(service, booked.appointment_id)
    assert back.status == ap.APPOINTMENT_STATUS_CANCELLED and back.push.status == ap.PUSH_STATUS_CANCELLED_IN_ICLOUD
    assert at(10) not in free_starts(service)  # the calendar shows it busy
    refused = failure(stub(service).BookAppointment, book_request(at(10), at(11)))
    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
    wait_for(lambda: service.container.push_queue.pending() == 0, "the push queue to drain")
    assert len(calendar_events(radicale, account)) == 1  # the user's event is left alone

    radicale.delete(account[0], account[1], path)
    sync_now(service, home.connection_id)
    assert at(10) in free_starts(service)


def test_an_appointment_moved_to_another_calendar_of_the_account_keeps_its_time_busy(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    """Moving an event to another calendar in iCloud deletes it from one and
    creates it (same UID) in the other. Where that calendar blocks the user, the
    time stays busy: the appointment is cancelled as its event left the calendar
    it was written to, and the event in the other calendar blocks as the user's own,
    never a conflict with the appointment it was."""
    home = connect(service, account)
    work = add_work_calendar(service, home)
    sync_now(service, home.connection_id)
    booked = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    pushed(service, booked.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    path = event_path(radicale, account, f"{booked.appointment_id}.ics")
    body = radicale.request("GET", path, account).text
    radicale.put_ics(account[0], account[1], f"{radicale.home_path(account[0])}work/{booked.appointment_id}.ics", body)
    radicale.delete(account[0], account[1], path)

    sync_now(service, home.connection_id)
    moved = get(service, booked.appointment_id)
    assert moved.status == ap.APPOINTMENT_STATUS_CANCELLED and list(moved.conflicts) == []
    assert at(10) not in free_starts(service)
    refused = failure(stub(service).BookAppointment, book_request(at(10), at(11)))
    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
    slots = service.sync.ListBlockedSlots(sy.ListBlockedSlotsRequest(sub_account_id=SUB, user_id=USER), metadata=auth()).blocked_slots
    assert [(s.calendar_id, s.uid) for s in slots] == [(work.calendar_id, appointment_uid(booked.appointment_id))]


def test_conflicts_end_when_their_calendar_stops_blocking_the_user(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    """A conflict lasts while its event blocks the user: removing the conflict
    calendar from the configuration, or disconnecting the account, ends it."""
    home = connect(service, account)
    work = add_work_calendar(service, home)
    booked = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    pushed(service, booked.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    radicale.put_ics(account[0], account[1], f"{radicale.home_path(account[0])}work/review.ics", (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:review\r\n"
        f"DTSTAMP:20250101T000000Z\r\nDTSTART:{at(10):%Y%m%dT%H%M%SZ}\r\nDTEND:{at(12):%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ))
    put_event(radicale, account, "gym", at(10, 30), at(12))
    sync_now(service, home.connection_id)
    assert sorted(c.uid for c in get(service, booked.appointment_id).conflicts) == ["gym", "review"]

    service.configurations.RemoveConflictCalendar(
        cfg.RemoveConflictCalendarRequest(
            sub_account_id=SUB, user_id=USER,
            calendar=cfg.CalendarRef(connection_id=work.connection_id, calendar_id=work.calendar_id),
        ),
        metadata=auth(),
    )
    assert [c.uid for c in get(service, booked.appointment_id).conflicts] == ["gym"]
    service.connections.Disconnect(
        pb.DisconnectRequest(sub_account_id=SUB, connection_id=home.connection_id), metadata=auth()
    )
    assert list(get(service, booked.appointment_id).conflicts) == []
    cleared = [e for e in schedule_events(service) if e.event_type == "UserSchedule.AppointmentConflictCleared"]
    assert sorted(e.user_schedule_appointment_conflict_cleared.href.rsplit("/", 1)[-1] for e in cleared) == [
        "gym.ics", "review.ics"
    ]


def test_a_move_undone_in_icloud_before_the_restore_is_written_frees_the_held_time(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    home, booked = restoring_with_the_pusher_stopped(service, account)
    move_in_icloud(radicale, account, booked.appointment_id, at(14), at(15))
    sync_now(service, home.connection_id)
    assert at(14) not in free_starts(service)

    move_in_icloud(radicale, account, booked.appointment_id, at(10), at(11))  # the user thinks better of it
    sync_now(service, home.connection_id)
    free = free_starts(service)
    assert at(14) in free and at(10) not in free
    stub(service).BookAppointment(book_request(at(14), at(15)), metadata=auth())
    service.container.pusher.start()
    restored = pushed(service, booked.appointment_id, ap.PUSH_STATUS_RESTORED, 1)
    assert start_of(restored) == at(10)


def test_an_appointment_moved_onto_an_event_new_in_another_calendar_in_the_same_sync_is_a_conflict(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    """The move and the other calendar's new event reach the service in one sync:
    whichever calendar is applied first, they meet."""
    home = connect(service, account)
    work = add_work_calendar(service, home)
    sync_now(service, home.connection_id)
    booked = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    pushed(service, booked.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    radicale.put_ics(account[0], account[1], f"{radicale.home_path(account[0])}work/review.ics", (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:review\r\n"
        f"DTSTAMP:20250101T000000Z\r\nDTSTART:{at(15):%Y%m%dT%H%M%SZ}\r\nDTEND:{at(16):%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ))
    move_in_icloud(radicale, account, booked.appointment_id, at(14, 30), at(15, 30))
    sync_now(service, home.connection_id)
    moved = get(service, booked.appointment_id)
    assert start_of(moved) == at(14, 30)
    [conflict] = moved.conflicts
    assert conflict.uid == "review" and conflict.calendar_id == work.calendar_id
    assert conflict.overlap_start_time.ToDatetime(tzinfo=UTC) == at(15)


def test_an_appointment_moved_from_one_occurrence_of_a_busy_series_to_a_later_one_keeps_a_conflict(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    """A daily series put over an appointment is a conflict with its occurrence
    that day; the appointment moved in iCloud onto the next day's occurrence is in
    conflict with that one (the series itself unchanged)."""
    home = connect(service, account)
    booked = stub(service).BookAppointment(book_request(at(12), at(13)), metadata=auth()).appointment
    pushed(service, booked.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    radicale.put_ics(account[0], account[1], event_path(radicale, account, "lunch.ics"), (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:lunch\r\n"
        f"DTSTAMP:20250101T000000Z\r\nDTSTART:{at(12):%Y%m%dT%H%M%SZ}\r\nDTEND:{at(13):%Y%m%dT%H%M%SZ}\r\n"
        "RRULE:FREQ=DAILY;COUNT=5\r\nSUMMARY:Lunch\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ))
    sync_now(service, home.connection_id)
    [first] = get(service, booked.appointment_id).conflicts
    assert first.uid == "lunch" and first.occurrence_start_time.ToDatetime(tzinfo=UTC) == at(12)

    tuesday = at(12) + timedelta(days=1)
    move_in_icloud(radicale, account, booked.appointment_id, tuesday, tuesday + timedelta(hours=1))
    sync_now(service, home.connection_id)
    moved = get(service, booked.appointment_id)
    assert start_of(moved) == tuesday
    [second] = moved.conflicts
    assert second.uid == "lunch" and second.occurrence_start_time.ToDatetime(tzinfo=UTC) == tuesday


def test_an_appointment_made_a_free_all_day_event_in_icloud_is_written_back(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    """The user toggles "all-day" on the appointment's event (the calendar then
    shows it free, as all-day events usually are): the appointment cannot follow
    to a day the calendar does not block, and is written back as it was."""
    home = connect(service, account)
    booked = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    pushed(service, booked.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    path = event_path(radicale, account, f"{booked.appointment_id}.ics")
    body = radicale.request("GET", path, account).text
    day = at(10).date()
    all_day = re.sub(r"(?m)^DTSTART[^:\r\n]*:[^\r\n]*", f"DTSTART;VALUE=DATE:{day:%Y%m%d}", body)
    all_day = re.sub(
        r"(?m)^DTEND[^:\r\n]*:[^\r\n]*", f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}\r\nTRANSP:TRANSPARENT", all_day
    )
    radicale.put_ics(account[0], account[1], path, re.sub(r"(?m)^TRANSP:OPAQUE\r?\n", "", all_day))

    sync_now(service, home.connection_id)
    restored = pushed(service, booked.appointment_id, ap.PUSH_STATUS_RESTORED, 1)
    assert start_of(restored) == at(10) and restored.status == ap.APPOINTMENT_STATUS_BOOKED
    [event] = calendar_events(radicale, account).values()
    assert event.decoded("DTSTART") == at(10) and str(event.get("TRANSP", "OPAQUE")) == "OPAQUE"
    free = free_starts(service)
    assert at(10) not in free and at(14) in free  # never the whole day


def test_times_held_for_a_restore_are_let_go_when_the_account_is_disconnected(
    service: Service, account: Account, radicale: RadicaleServer
) -> None:
    """Held times are the calendar's: once it no longer blocks the user, neither
    do they (the appointment's own time still does)."""
    home, booked = restoring_with_the_pusher_stopped(service, account)
    move_in_icloud(radicale, account, booked.appointment_id, at(14), at(15))
    sync_now(service, home.connection_id)
    assert at(14) not in free_starts(service)

    service.connections.Disconnect(
        pb.DisconnectRequest(sub_account_id=SUB, connection_id=home.connection_id), metadata=auth()
    )
    free = free_starts(service)
    assert at(14) in free and at(10) not in free
    stub(service).BookAppointment(book_request(at(14), at(15)), metadata=auth())
