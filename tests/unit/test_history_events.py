"""Every event any aggregate records has a typed payload in history.proto whose
fields cover the event's, and vault references never reach a history answer."""

from __future__ import annotations

import json
import uuid
from typing import Any

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from calendar_domain.availability import BookingRules, WorkingHours, Window
from calendar_domain.bookings import AppointmentDetails, Attendee, appointment_uid
from calendar_domain.busy import AllDayPolicy
from calendar_domain.policy import ICloudChangePolicy, SubAccountPolicy
from calendar_domain.configuration import CalendarConfiguration, CalendarRef
from calendar_domain.connection import AccountLink, ConnectedCalendar, Connection
from calendar_domain.history import (
    SECRET_FIELDS,
    AggregateKind,
    Owner,
    Scope,
    event_classes,
    kind_of,
    owner_of_creation,
    recorded,
)
from calendar_domain.schedule import SkippedResource, UserSchedule
from server.history_convert import event_message, payload_field
from tests.unit.test_user_schedule import changes, series

CREDENTIAL = "credential-" + uuid.uuid4().hex
BOOKED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RETRY_AT = datetime(2026, 3, 2, 8, 5, tzinfo=UTC)


def every_kind_of_event() -> list[Any]:
    """A narrative that records each event class at least once."""
    connection = Connection(
        sub_account_id="loc-1", user_id="u1", apple_id="ann@example.com",
        account_id=uuid.uuid4(), credential_ref=CREDENTIAL, request_id="r1",
    )
    connection.discover_calendars([ConnectedCalendar("c1", "/home/", "Home", "#FF0000", True)], "r2")
    connection.require_reconnect("401 from iCloud")
    connection.replace_credentials(CREDENTIAL + "-new", "r3")
    connection.disconnect("r4")
    link = AccountLink("loc-1", "u1", connection.account_id, connection.id, "r1")
    link.unlink(connection.id)
    link.relink(uuid.uuid4(), "r5")
    configuration = CalendarConfiguration("loc-1", "u1")
    calendar = CalendarRef(str(connection.id), "c1")
    configuration.set_primary(calendar)
    configuration.add_conflict(calendar)
    configuration.set_all_day_policy(AllDayPolicy.ALWAYS_BUSY)
    configuration.set_time_zone("Europe/Berlin")
    configuration.set_working_hours(
        WorkingHours({0: (Window(540, 1020),)}, {date(2026, 12, 24): ()})
    )
    configuration.set_booking_rules(BookingRules(slot_minutes=45, daily_cap=3))
    configuration.forget_calendars(str(connection.id), None, "disconnected")
    schedule = UserSchedule("loc-1", "u1")
    schedule.apply(str(connection.id), changes(series("/a.ics", "1"), skipped=(SkippedResource("/x.ics", "1", "bad"),)))
    schedule.apply(str(connection.id), changes(series("/a.ics", "2"), deleted=("/x.ics",), token="t2"))
    book_appointments(schedule, str(connection.id))
    schedule.release("cal", "calendar no longer blocks this user")
    policy = SubAccountPolicy("loc-1")
    policy.set_stale_calendars_block(False, "r6")
    policy.set_icloud_changes(ICloudChangePolicy.RESTORE, "r13")
    return [
        *connection.collect_events(), *link.collect_events(), *configuration.collect_events(),
        *schedule.collect_events(), *policy.collect_events(),
    ]


def book_appointments(schedule: UserSchedule, connection_id: str) -> None:
    """Appointments and CRM blocked slots: booked (with and without a primary
    calendar), pushed, failed (to be retried, then for good), moved and deleted in
    iCloud, rescheduled and cancelled."""
    hour = timedelta(hours=1)
    details = AppointmentDetails(
        "Consultation", "First visit", "Room 2",
        (Attendee("bob@example.com", "Bob Builder"), Attendee("carol@example.com")),
    )
    calendar = {"connection_id": connection_id, "calendar_id": "cal"}
    schedule.book("a1", BOOKED_AT, BOOKED_AT + hour, details, calendar, ["outside_working_hours"], "r7")
    schedule.book("a2", BOOKED_AT + 3 * hour, BOOKED_AT + 4 * hour, AppointmentDetails("Follow-up"), {}, [], "r8")
    schedule.pushed("a1", 1, "created", connection_id, "cal", "/cal/a1.ics", '"e1"')
    schedule.reschedule("a1", BOOKED_AT + 24 * hour, BOOKED_AT + 25 * hour, [], "r9")
    schedule.push_failed("a1", 2, "503 from iCloud", 1, False, RETRY_AT)
    schedule.push_failed("a1", 2, "403 from iCloud", 5, True, None)
    moved = series("/cal/a1.ics", '"e2"', uid=appointment_uid("a1"))
    schedule.apply(connection_id, changes(moved, token="t3"))
    schedule.apply(connection_id, changes(deleted=("/cal/a1.ics",), token="t4"))
    schedule.cancel("a1", "the customer cancelled", "r10")
    # a busy event imported over a2 (a conflict), then gone (cleared)
    over = replace(
        series("/cal/over.ics", '"o1"'), first_start=BOOKED_AT + 3 * hour, last_end=BOOKED_AT + 4 * hour,
        occurrences=[[int((BOOKED_AT + 3 * hour).timestamp()), int((BOOKED_AT + 4 * hour).timestamp()), 0, "", "", ""]],
    )
    schedule.apply(connection_id, changes(over, token="t5"))
    schedule.apply(connection_id, changes(deleted=("/cal/over.ics",), token="t6"))
    schedule.create_block("b1", BOOKED_AT + 5 * hour, BOOKED_AT + 6 * hour, "Lunch", "r11")
    schedule.delete_block("b1", "r12")


def test_the_narrative_records_every_event_class() -> None:
    recorded_classes = {type(e) for e in every_kind_of_event()}
    assert recorded_classes == {cls for kind in AggregateKind for cls in event_classes(kind)}


def test_every_event_has_a_typed_payload_with_a_field_for_each_of_its_own() -> None:
    for event in every_kind_of_event():
        owner = owner_of_creation(event) or Owner(_kind(event), "loc-1")
        record = recorded(event, 7, owner)
        message = event_message(record)
        field = payload_field(record.kind, record.event_type)
        assert message.WhichOneof("payload") == field, record.event_type
        typed = getattr(message, field)
        names = {f.name for f in typed.DESCRIPTOR.fields}
        assert set(record.payload) <= names, (record.event_type, set(record.payload) - names)
        assert message.position == 7 and message.aggregate_version == event.originator_version
        assert json.loads(message.payload_json).keys() == record.payload.keys()
    imported = next(e for e in every_kind_of_event() if type(e).__name__ == "BlockedSlotImported")
    message = event_message(recorded(imported, 1, Owner(AggregateKind.USER_SCHEDULE, "loc-1")))
    series_fields = {f.name for f in message.user_schedule_blocked_slot_imported.series.DESCRIPTOR.fields}
    assert set(imported.series) <= series_fields
    assert message.user_schedule_blocked_slot_imported.series.uid == "a.ics"


def test_appointment_events_carry_times_attendees_calendars_and_retries() -> None:
    messages = [
        event_message(recorded(e, 1, Owner(AggregateKind.USER_SCHEDULE, "loc-1")))
        for e in every_kind_of_event()
        if kind_of(e) is AggregateKind.USER_SCHEDULE
    ]

    def typed(field: str) -> list[Any]:
        return [getattr(m, field) for m in messages if m.WhichOneof("payload") == field]

    first, second = typed("user_schedule_appointment_booked")
    assert first.appointment_id == "a1" and first.start.ToDatetime(UTC) == BOOKED_AT
    assert first.end.ToDatetime(UTC) == BOOKED_AT + timedelta(hours=1)
    assert [(a.email, a.name) for a in first.attendees] == [
        ("bob@example.com", "Bob Builder"), ("carol@example.com", ""),
    ]
    assert first.HasField("calendar") and first.calendar.calendar_id == "cal" and first.calendar.connection_id
    assert list(first.overridden) == ["outside_working_hours"] and first.request_id == "r7"
    assert not second.HasField("calendar") and second.calendar.connection_id == "" and not second.attendees
    (moved,) = typed("user_schedule_appointment_rescheduled")
    assert moved.revision == 2 and moved.start.ToDatetime(UTC) == BOOKED_AT + timedelta(hours=24)
    retried, given_up = typed("user_schedule_appointment_push_failed")
    assert retried.HasField("retry_at") and retried.retry_at.ToDatetime(UTC) == RETRY_AT
    assert not retried.permanent and retried.attempts == 1
    assert not given_up.HasField("retry_at") and given_up.permanent and given_up.error == "403 from iCloud"
    (pushed,) = typed("user_schedule_appointment_pushed")
    assert (pushed.action, pushed.href, pushed.etag, pushed.revision) == ("created", "/cal/a1.ics", '"e1"', 1)
    (changed,) = typed("user_schedule_appointment_changed_in_icloud")
    assert changed.moved and changed.etag == '"e2"' and changed.start.seconds > 0
    (deleted,) = typed("user_schedule_appointment_deleted_in_icloud")
    assert (deleted.appointment_id, deleted.calendar_id, deleted.href) == ("a1", "cal", "/cal/a1.ics")
    (cancelled,) = typed("user_schedule_appointment_cancelled")
    assert (cancelled.revision, cancelled.reason) == (3, "the customer cancelled")
    (created,) = typed("user_schedule_blocked_slot_created")
    assert created.block_id == "b1" and created.title == "Lunch" and created.end.ToDatetime(UTC) == BOOKED_AT + timedelta(hours=6)
    (removed,) = typed("user_schedule_blocked_slot_deleted")
    assert (removed.block_id, removed.request_id) == ("b1", "r12")
    failed_json = [json.loads(m.payload_json) for m in messages if m.event_type == "UserSchedule.AppointmentPushFailed"]
    assert [p["retry_at"] for p in failed_json] == [RETRY_AT.isoformat(), None]


def test_vault_references_never_reach_the_history() -> None:
    for event in every_kind_of_event():
        record = recorded(event, 1, Owner(_kind(event), "loc-1"))
        assert not SECRET_FIELDS & set(record.payload)
        assert CREDENTIAL not in str(event_message(record))


def test_a_scope_admits_its_sub_accounts_and_kinds_only() -> None:
    configuration = Owner(AggregateKind.CALENDAR_CONFIGURATION, "loc-1")
    assert Scope().admits_owner(configuration) and Scope().admits_owner(None)
    assert not Scope(frozenset({"loc-2"})).admits_owner(configuration)
    assert not Scope(kinds=frozenset({AggregateKind.CONNECTION})).admits_owner(configuration)
    assert not Scope(frozenset({"loc-1"})).admits_owner(None)  # an unknown aggregate: only for readers of all
    assert Scope(kinds=frozenset({AggregateKind.CONNECTION})).topics()
    assert Scope().topics() == ()


def _kind(event: Any) -> AggregateKind:
    kind = kind_of(event)
    assert kind is not None
    return kind
