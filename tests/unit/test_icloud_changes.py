"""Appointments changed in iCloud (follow or restore) and conflicts on appointments:
the UserSchedule's events."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from eventsourcing.application import Application

from calendar_domain.bookings import AppointmentDetails, BookingConflict, appointment_uid
from calendar_domain.application import CalendarIntegration
from calendar_domain.busy import AllDayPolicy
from calendar_domain.conflicts import BusyOccurrence, ConflictSource
from calendar_domain.errors import ReadModelBehind
from calendar_domain.icloud_changes import SyncRules
from calendar_domain.occurrences import ALL_DAY, TRANSPARENT
from calendar_domain.policy import ICloudChangePolicy
from calendar_domain.schedule import CalendarChanges, ImportedSeries, SkippedResource, UserSchedule
from calendar_domain.schedule_service import ScheduleService, SyncTarget, concerning, recorded_and_told

T0 = datetime(2030, 3, 4, 10, tzinfo=UTC)
H = timedelta(hours=1)
CAL = "cal-1"
FOLLOW = SyncRules(ICloudChangePolicy.FOLLOW_ICLOUD)
RESTORE = SyncRules(ICloudChangePolicy.RESTORE)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def written(*spans: tuple[datetime, datetime]) -> UserSchedule:
    """A schedule with appointments a0, a1, ... each written to the calendar."""
    schedule = UserSchedule("sub", "user")
    for index, (start, end) in enumerate(spans):
        schedule.book(f"a{index}", start, end, AppointmentDetails("Visit"), {"connection_id": "c", "calendar_id": CAL}, [])
        schedule.pushed(f"a{index}", 1, "created", "c", CAL, f"/cal/a{index}.ics", f'"a{index}-1"')
    schedule.collect_events()
    return schedule


def event(
    href: str, uid: str, etag: str, *occurrences: tuple[datetime, datetime, int], recurring: bool = False
) -> ImportedSeries:
    return ImportedSeries(
        href=href, etag=etag, uid=uid, summary="Private", location="", recurring=recurring, all_day=False,
        first_start=occurrences[0][0], last_end=occurrences[-1][1], ical="",
        occurrences=[[_epoch(s), _epoch(e), flags, s.isoformat() if recurring else "", "", ""] for s, e, flags in occurrences],
    )


def echo(appointment_id: str, etag: str, *occurrences: tuple[datetime, datetime], recurring: bool = False) -> ImportedSeries:
    return event(
        f"/cal/{appointment_id}.ics", appointment_uid(appointment_id), etag,
        *((s, e, 0) for s, e in occurrences), recurring=recurring,
    )


def sync(schedule: UserSchedule, *changed: ImportedSeries, deleted: tuple[str, ...] = (), rules: SyncRules = FOLLOW) -> list[Any]:
    schedule.apply("c", CalendarChanges(CAL, list(changed), [], list(deleted), "token", T0 - 24 * H), rules)
    return [e for e in schedule.collect_events() if not isinstance(e, UserSchedule.CalendarSynced)]


def kinds(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_following_icloud_a_move_reschedules_the_appointment_as_written_with_icloud_as_the_cause() -> None:
    schedule = written((T0, T0 + H))
    events = sync(schedule, echo("a0", '"e2"', (T0 + 5 * H, T0 + 6 * H)))
    assert kinds(events) == ["AppointmentChangedInICloud", "AppointmentRescheduled"]
    moved = events[1]
    assert (moved.start, moved.end, moved.revision, moved.cause) == (T0 + 5 * H, T0 + 6 * H, 2, "icloud")
    record = schedule.appointments["a0"]
    assert record["start"] == (T0 + 5 * H).isoformat()
    # the calendar holds it already: nothing for the pusher to write
    assert record["pushed"]["revision"] == 2 and record["pushed"]["etag"] == '"e2"'
    assert record["icloud"]["outcome"] == "followed"
    # moved again before the next sync: followed again
    events = sync(schedule, echo("a0", '"e3"', (T0 + 7 * H, T0 + 8 * H)))
    assert kinds(events) == ["AppointmentChangedInICloud", "AppointmentRescheduled"]
    assert events[1].revision == 3 and schedule.appointments["a0"]["start"] == (T0 + 7 * H).isoformat()


def test_following_icloud_a_deletion_cancels_the_appointment_with_icloud_as_the_cause() -> None:
    schedule = written((T0, T0 + H))
    events = sync(schedule, deleted=("/cal/a0.ics",))
    assert kinds(events) == ["AppointmentDeletedInICloud", "AppointmentCancelled"]
    assert (events[1].cause, events[1].revision, events[1].reason) == ("icloud", 2, "deleted in iCloud")
    record = schedule.appointments["a0"]
    assert record["status"] == "cancelled" and record["pushed"] == {"revision": 2, "deleted": True}
    schedule.book("b", T0, T0 + H, AppointmentDetails("Visit"), {}, [])  # the time is free again


def test_restoring_holds_the_icloud_times_until_the_crms_version_is_written_back() -> None:
    schedule = written((T0, T0 + H))
    events = sync(schedule, echo("a0", '"e2"', (T0 + 5 * H, T0 + 6 * H)), rules=RESTORE)
    assert kinds(events) == ["AppointmentChangedInICloud", "AppointmentRestoreRequested"]
    assert events[1].held == [[(T0 + 5 * H).isoformat(), (T0 + 6 * H).isoformat()]] and events[1].revision == 1
    record = schedule.appointments["a0"]
    assert record["start"] == T0.isoformat() and record["icloud"]["outcome"] == "restoring"
    # both times block: the booked one and the one the calendar shows
    for start in (T0, T0 + 5 * H):
        with pytest.raises(BookingConflict):
            schedule.book("b", start, start + H, AppointmentDetails("Visit"), {}, [])
    schedule.pushed("a0", 1, "updated", "c", CAL, "/cal/a0.ics", '"e3"')
    record = schedule.appointments["a0"]
    assert record["held"] is None and record["icloud"]["outcome"] == "restored"
    schedule.book("b", T0 + 5 * H, T0 + 6 * H, AppointmentDetails("Visit"), {}, [])


def test_restoring_a_deleted_event_keeps_the_appointment_booked() -> None:
    schedule = written((T0, T0 + H))
    events = sync(schedule, deleted=("/cal/a0.ics",), rules=RESTORE)
    assert kinds(events) == ["AppointmentDeletedInICloud", "AppointmentRestoreRequested"]
    assert events[1].held == [] and schedule.appointments["a0"]["status"] == "booked"


def test_a_move_while_a_crm_change_waits_to_be_written_is_restored_even_when_following() -> None:
    schedule = written((T0, T0 + H))
    schedule.reschedule("a0", T0 + 2 * H, T0 + 3 * H, [])  # revision 2, not yet written
    schedule.collect_events()
    events = sync(schedule, echo("a0", '"e2"', (T0 + 5 * H, T0 + 6 * H)))
    assert kinds(events) == ["AppointmentChangedInICloud", "AppointmentRestoreRequested"]
    assert schedule.appointments["a0"]["start"] == (T0 + 2 * H).isoformat()


def test_an_event_turned_into_a_series_is_restored_and_its_busy_occurrences_held() -> None:
    schedule = written((T0, T0 + H))
    days = [(T0 + timedelta(days=d), T0 + timedelta(days=d) + H) for d in range(3)]
    events = sync(schedule, echo("a0", '"e2"', *days, recurring=True))
    assert kinds(events) == ["AppointmentChangedInICloud", "AppointmentRestoreRequested"]
    assert events[1].held == [[s.isoformat(), e.isoformat()] for s, e in days]
    assert schedule.appointments["a0"]["start"] == T0.isoformat()


def test_a_move_onto_another_appointment_is_recorded_and_reported_as_a_conflict_on_both() -> None:
    schedule = written((T0, T0 + H), (T0 + 3 * H, T0 + 4 * H))
    events = sync(schedule, echo("a0", '"e2"', (T0 + 3 * H + H / 2, T0 + 4 * H + H / 2)))
    assert kinds(events) == [
        "AppointmentChangedInICloud", "AppointmentRescheduled", "AppointmentConflictDetected",
        "AppointmentConflictDetected",
    ]
    on_moved, on_other = events[2], events[3]
    assert (on_moved.appointment_id, on_moved.kind, on_moved.other_appointment_id) == ("a0", "appointment", "a1")
    assert (on_other.appointment_id, on_other.other_appointment_id) == ("a1", "a0")
    assert (on_moved.overlap_start, on_moved.overlap_end) == (T0 + 3 * H + H / 2, T0 + 4 * H)
    # the CRM moves the other one away: both conflicts clear
    schedule.reschedule("a1", T0 + 6 * H, T0 + 7 * H, [])
    cleared = [e for e in schedule.collect_events() if isinstance(e, UserSchedule.AppointmentConflictCleared)]
    assert sorted(e.appointment_id for e in cleared) == ["a0", "a1"]
    assert schedule.appointments["a0"]["conflicts"] == {} and schedule.appointments["a1"]["conflicts"] == {}


def test_an_imported_busy_event_over_an_appointment_is_a_conflict_until_it_moves_away() -> None:
    schedule = written((T0, T0 + H))
    dentist = event("/cal/dentist.ics", "dentist-1", '"d1"', (T0 + H / 2, T0 + 2 * H, 0))
    events = sync(schedule, dentist)
    assert kinds(events) == ["BlockedSlotImported", "AppointmentConflictDetected"]
    found = events[1]
    assert (found.appointment_id, found.kind, found.connection_id, found.calendar_id) == ("a0", "imported_event", "c", CAL)
    assert (found.href, found.uid, found.etag) == ("/cal/dentist.ics", "dentist-1", '"d1"')
    assert (found.occurrence_start, found.overlap_start, found.overlap_end) == (T0 + H / 2, T0 + H / 2, T0 + H)
    assert list(schedule.appointments["a0"]["conflicts"].values())[0]["href"] == "/cal/dentist.ics"
    # the same overlap seen again records nothing new
    assert kinds(sync(schedule, event("/cal/dentist.ics", "dentist-1", '"d2"', (T0 + H / 2, T0 + 2 * H, 0)))) == [
        "BlockedSlotUpdated"
    ]
    moved = sync(schedule, event("/cal/dentist.ics", "dentist-1", '"d3"', (T0 + 2 * H, T0 + 3 * H, 0)))
    assert kinds(moved) == ["BlockedSlotUpdated", "AppointmentConflictCleared"]
    assert moved[1].reason == "the event no longer overlaps the appointment"
    assert schedule.appointments["a0"]["conflicts"] == {}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("deleted", "the event was deleted in iCloud"),
        ("free", "the event no longer overlaps the appointment"),
        ("cancelled_appointment", "the appointment was cancelled"),
        ("moved_appointment", "the appointment moved"),
        ("released", "the calendar no longer blocks this user"),
    ],
)
def test_a_conflict_clears_whichever_side_ends_the_overlap(change: str, reason: str) -> None:
    schedule = written((T0, T0 + H))
    sync(schedule, event("/cal/dentist.ics", "dentist-1", '"d1"', (T0, T0 + H, 0)))
    events: Sequence[Any]
    if change == "deleted":
        events = sync(schedule, deleted=("/cal/dentist.ics",))
    elif change == "free":
        events = sync(schedule, event("/cal/dentist.ics", "dentist-1", '"d2"', (T0, T0 + H, TRANSPARENT)))
    elif change == "cancelled_appointment":
        schedule.cancel("a0", "no longer needed")
        events = schedule.collect_events()
    elif change == "moved_appointment":
        schedule.reschedule("a0", T0 + 2 * H, T0 + 3 * H, [])
        events = schedule.collect_events()
    else:
        schedule.release(CAL, "calendar no longer blocks this user")
        events = schedule.collect_events()
    [cleared] = [e for e in events if isinstance(e, UserSchedule.AppointmentConflictCleared)]
    assert (cleared.appointment_id, cleared.href, cleared.reason) == ("a0", "/cal/dentist.ics", reason)
    assert schedule.appointments["a0"]["conflicts"] == {}


def test_only_busy_occurrences_of_a_series_make_a_conflict_and_the_earliest_is_named() -> None:
    schedule = written((T0, T0 + 3 * H))
    series = event(
        "/cal/standup.ics", "standup", '"s1"',
        (T0 - H, T0, 0),  # touches, does not overlap
        (T0 + H / 2, T0 + H, TRANSPARENT),  # free
        (T0 + H, T0 + 2 * H, ALL_DAY),  # all-day: busy under follow_transp
        (T0 + 2 * H, T0 + 4 * H, 0),
        recurring=True,
    )
    [found] = [e for e in sync(schedule, series) if isinstance(e, UserSchedule.AppointmentConflictDetected)]
    assert found.occurrence_start == T0 + H
    schedule = written((T0, T0 + 3 * H))
    free_all_day = SyncRules(all_day_policy=AllDayPolicy.ALWAYS_FREE)
    [found] = [e for e in sync(schedule, series, rules=free_all_day) if isinstance(e, UserSchedule.AppointmentConflictDetected)]
    assert found.occurrence_start == T0 + 2 * H and (found.overlap_start, found.overlap_end) == (T0 + 2 * H, T0 + 3 * H)


def test_an_appointment_moved_in_icloud_onto_an_event_of_the_same_sync_is_a_conflict() -> None:
    schedule = written((T0, T0 + H))
    lunch = event("/cal/lunch.ics", "lunch", '"l1"', (T0 + 5 * H, T0 + 6 * H, 0))
    events = sync(schedule, lunch, echo("a0", '"e2"', (T0 + 5 * H, T0 + 6 * H)))
    assert kinds(events) == [
        "AppointmentChangedInICloud", "AppointmentRescheduled", "BlockedSlotImported", "AppointmentConflictDetected"
    ]


def test_reschedules_and_cancels_recorded_before_causes_read_as_made_in_the_crm() -> None:
    """Version 1 of AppointmentRescheduled and AppointmentCancelled had no ``cause``."""
    app: Application[Any] = Application()
    schedule = written((T0, T0 + H))
    schedule.reschedule("a0", T0 + 2 * H, T0 + 3 * H, [])
    schedule.cancel("a0", "no longer needed")
    for stored in [app.mapper.to_stored_event(e) for e in schedule.collect_events()]:
        state = app.mapper.transcoder.decode(stored.state)
        assert state.pop("cause") == "crm" and state.pop("class_version") == 2
        first_shape = replace(stored, state=app.mapper.transcoder.encode(state))
        assert app.mapper.to_domain_event(first_shape).cause == "crm"  # type: ignore[attr-defined]


class _Recorder:
    """Stands in for the application's record (the events are only counted)."""

    def __init__(self) -> None:
        self.recorded: list[Any] = []

    def record(self, *schedules: UserSchedule) -> int:
        for schedule in schedules:
            self.recorded += schedule.collect_events()
        return len(self.recorded)


def test_what_a_sync_records_about_appointments_is_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    schedule = written((T0, T0 + H), (T0 + 3 * H, T0 + 4 * H))
    schedule.apply("c", CalendarChanges(CAL, [
        echo("a0", '"e2"', (T0 + 3 * H, T0 + 4 * H)),
        event("/cal/gym.ics", "gym", '"g1"', (T0 + 3 * H, T0 + 5 * H, 0)),
    ], [], ["/cal/a1.ics"], "token", T0), FOLLOW)
    seen: list[str] = []
    with caplog.at_level(logging.INFO, logger="calendar_domain.schedule_service"):
        position = recorded_and_told(_Recorder(), [schedule], seen.append)  # type: ignore[arg-type]
    assert position > 0
    # a0 moved onto a1 (a conflict on both), the gym over both, a1 deleted (its two
    # conflicts and a0's with it cleared)
    assert seen == [
        "appointment.followed_icloud", *["appointment.conflict_detected"] * 4,
        "appointment.cancelled_in_icloud", *["appointment.conflict_cleared"] * 3,
    ]
    lines = [r.getMessage() for r in caplog.records]
    assert "appointment.followed_icloud appointment_id=a0 revision=2" in lines
    assert any(line.startswith("appointment.conflict_cleared appointment_id=a0 kind=appointment") for line in lines)
    assert not any("Private" in line for line in lines)  # never an event title


def test_open_conflicts_and_held_spans_stop_at_their_bounds() -> None:
    schedule = written((T0, T0 + 3 * H))
    bounded = SyncRules(max_open_conflicts=2, max_held_spans=2)
    events = sync(schedule, *(event(f"/cal/e{i}.ics", f"e{i}", '"1"', (T0, T0 + H, 0)) for i in range(3)), rules=bounded)
    detected = [e.href for e in events if isinstance(e, UserSchedule.AppointmentConflictDetected)]
    assert detected == ["/cal/e0.ics", "/cal/e1.ics"]
    # one clears: the next source is recorded again when it changes
    sync(schedule, deleted=("/cal/e0.ics",), rules=bounded)
    events = sync(schedule, event("/cal/e2.ics", "e2", '"2"', (T0, T0 + H, 0)), rules=bounded)
    assert [e.href for e in events if isinstance(e, UserSchedule.AppointmentConflictDetected)] == ["/cal/e2.ics"]
    days = [(T0 + timedelta(days=d), T0 + timedelta(days=d) + H) for d in range(5)]
    events = sync(schedule, echo("a0", '"e2"', *days, recurring=True), rules=bounded)
    [restore] = [e for e in events if isinstance(e, UserSchedule.AppointmentRestoreRequested)]
    assert len(restore.held) == 2


def test_an_appointments_event_in_another_calendar_blocks_as_the_users_own_and_is_no_conflict_with_it() -> None:
    """A move to another calendar of the account, seen in the order that calendar
    is synced first: the copy there is the user's event (imported, it blocks), not
    the appointment's own, and never a conflict of the appointment with itself; the
    deletion from the calendar it was written to then cancels the appointment."""
    schedule = written((T0, T0 + H))
    copy = replace(echo("a0", '"w1"', (T0, T0 + H)), href="/work/a0.ics")
    schedule.apply("c", CalendarChanges("work", [copy], [], [], "w-token", T0 - 24 * H), FOLLOW)
    events = [e for e in schedule.collect_events() if not isinstance(e, UserSchedule.CalendarSynced)]
    assert kinds(events) == ["BlockedSlotImported"]
    assert schedule.appointments["a0"].get("conflicts") in (None, {})
    events = sync(schedule, deleted=("/cal/a0.ics",))
    assert kinds(events) == ["AppointmentDeletedInICloud", "AppointmentCancelled"]
    assert [(cal, href) for cal, _, href, _ in schedule.entries()] == [("work", "/work/a0.ics")]
    # deleted there too: an imported slot removed, the appointment left as it is
    schedule.apply("c", CalendarChanges("work", [], [], ["/work/a0.ics"], "w-token-2", T0 - 24 * H), FOLLOW)
    assert kinds(schedule.collect_events()) == ["BlockedSlotRemoved", "CalendarSynced"]
    assert schedule.entries() == []


def test_an_event_brought_back_with_the_uid_of_an_appointment_cancelled_in_icloud_is_imported() -> None:
    schedule = written((T0, T0 + H))
    sync(schedule, deleted=("/cal/a0.ics",))
    events = sync(schedule, echo("a0", '"back"', (T0, T0 + H)))
    assert kinds(events) == ["BlockedSlotImported"]
    events = sync(schedule, deleted=("/cal/a0.ics",))
    assert kinds(events) == ["BlockedSlotRemoved"]
    assert schedule.appointments["a0"]["status"] == "cancelled"


def test_an_appointment_stretched_in_icloud_beyond_the_longest_booking_still_meets_the_events_on_it() -> None:
    """A booking lasts at most 14 days, but the user may stretch its event in
    iCloud to three weeks (followed); an event on its last days is a conflict."""
    schedule = written((T0, T0 + H))
    sync(schedule, echo("a0", '"e2"', (T0, T0 + 21 * 24 * H)))
    assert schedule.appointments["a0"]["end"] == (T0 + 21 * 24 * H).isoformat()
    late = T0 + 20 * 24 * H
    events = sync(schedule, event("/cal/trip.ics", "trip", '"t1"', (late, late + H, 0)))
    assert kinds(events) == ["BlockedSlotImported", "AppointmentConflictDetected"]


def test_times_held_for_a_restore_are_let_go_when_the_user_moves_the_event_back_before_it_is_written() -> None:
    """Held times are the calendar's: the user moving the event back to the CRM's
    time before the restore is written leaves nothing else busy."""
    schedule = written((T0, T0 + H))
    sync(schedule, echo("a0", '"e2"', (T0 + 5 * H, T0 + 6 * H)), rules=RESTORE)
    events = sync(schedule, echo("a0", '"e3"', (T0, T0 + H)), rules=RESTORE)
    assert kinds(events) == ["AppointmentChangedInICloud", "AppointmentRestoreRequested"]
    assert events[1].held == []
    schedule.book("b", T0 + 5 * H, T0 + 6 * H, AppointmentDetails("Visit"), {}, [])  # free again


def _moved_by_a_sync(
    settle: Any, read: list[str], where: tuple[str, str] = ("work", "/work/review.ics"),
    skipped: tuple[SkippedResource, ...] = (),
) -> UserSchedule:
    """A sync that follows a0 moved to T0+5h, where the availability model holds a
    busy event (by default of another calendar; ``skipped``: what this sync could
    not parse); returns the schedule as recorded."""
    app = CalendarIntegration()
    schedule = UserSchedule("sub", "user")
    schedule.book("a0", T0, T0 + H, AppointmentDetails("Visit"), {"connection_id": "c", "calendar_id": CAL}, [])
    schedule.pushed("a0", 1, "created", "c", CAL, "/cal/a0.ics", '"a0-1"')
    app.save(schedule)
    review = BusyOccurrence(ConflictSource("imported_event", "c", *where, "review", '"r"'),
                            T0 + 5 * H, T0 + 7 * H)

    def imported_busy(*_: Any) -> list[BusyOccurrence]:
        read.append("read")
        return [review]

    service = ScheduleService(app, imported_busy=imported_busy, settle=settle)
    target = SyncTarget("sub", "user", "c", CAL, "/cal/", "token", schedule.known(CAL), "UTC")
    changes = CalendarChanges(CAL, [echo("a0", '"e2"', (T0 + 5 * H, T0 + 6 * H))], list(skipped), [], "token-2", T0)
    service.record_changes([(target, changes)])
    return service.schedule("sub", "user")


def test_a_sync_that_follows_a_move_reads_the_other_calendars_events_once_the_model_has_read_the_log() -> None:
    """The calendars of an account are recorded one after another: the one synced
    just before may not be in the availability model yet when the next follows a
    move; the sync waits (bounded) for the model before it looks."""
    read: list[str] = []
    waited_for: list[Any] = []
    schedule = _moved_by_a_sync(lambda ids: (waited_for.append(ids), read.append("settled")), read)
    assert read == ["settled", "read"]
    assert waited_for == [concerning("sub", "user")]  # the user's own aggregates, not the whole log
    assert list(schedule.appointments["a0"]["conflicts"]) == ["work\x1f/work/review.ics"]


def test_a_model_too_far_behind_does_not_stop_the_sync_that_follows_a_move(caplog: pytest.LogCaptureFixture) -> None:
    def behind(_ids: Any) -> None:
        raise ReadModelBehind("the availability read model has not reached position 9 within 5s; retry")

    read: list[str] = []
    with caplog.at_level(logging.INFO):
        schedule = _moved_by_a_sync(behind, read)
    assert schedule.appointments["a0"]["start"] == (T0 + 5 * H).isoformat() and read == ["read"]
    assert any("appointment.conflict_check_behind" in r.getMessage() for r in caplog.records)


def test_an_event_given_another_time_zone_at_the_same_instants_is_no_move() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    schedule = written((T0, T0 + H))
    same = echo("a0", '"e2"', (T0.astimezone(berlin), (T0 + H).astimezone(berlin)))
    assert kinds(sync(schedule, same)) == ["AppointmentChangedInICloud"]
    assert schedule.appointments["a0"]["revision"] == 1 and schedule.appointments["a0"]["icloud"] is None


@pytest.mark.parametrize("flags", [ALL_DAY | TRANSPARENT, TRANSPARENT], ids=["made-all-day", "shown-as-free"])
def test_an_event_the_calendar_no_longer_shows_busy_cannot_be_followed_and_is_restored(flags: int) -> None:
    """An appointment is a busy span: its event made an all-day event shown as
    free, or shown as free at its own time, is written back (nothing else held),
    never followed to a day the calendar does not block."""
    schedule = written((T0, T0 + H))
    day = T0.replace(hour=0)
    start, end = (day, day + 24 * H) if flags & ALL_DAY else (T0, T0 + H)
    changed = replace(event("/cal/a0.ics", appointment_uid("a0"), '"e2"', (start, end, flags)), all_day=bool(flags & ALL_DAY))
    events = sync(schedule, changed)
    assert kinds(events) == ["AppointmentChangedInICloud", "AppointmentRestoreRequested"]
    assert events[1].held == [] and schedule.appointments["a0"]["start"] == T0.isoformat()


def test_an_event_that_stopped_parsing_still_blocks_and_so_meets_an_appointment_moved_onto_it() -> None:
    """A resource the sync cannot parse any more keeps blocking as it last did
    (fail closed): the availability model's rows of it are current, and an
    appointment moved onto them is in conflict with it."""
    read: list[str] = []
    broken = SkippedResource("/cal/review.ics", '"r2"', "cannot expand the event")
    schedule = _moved_by_a_sync(lambda _ids: None, read, (CAL, "/cal/review.ics"), (broken,))
    assert list(schedule.appointments["a0"]["conflicts"]) == [f"{CAL}\x1f/cal/review.ics"]


def test_releasing_the_calendar_lets_go_of_the_times_held_for_a_restore_there() -> None:
    schedule = written((T0, T0 + H))
    sync(schedule, echo("a0", '"e2"', (T0 + 5 * H, T0 + 6 * H)), rules=RESTORE)
    schedule.release(CAL, "calendar no longer blocks this user")
    [held] = [e for e in schedule.collect_events() if isinstance(e, UserSchedule.AppointmentRestoreRequested)]
    assert held.held == [] and schedule.appointments["a0"]["held"] == []
    schedule.book("b", T0 + 5 * H, T0 + 6 * H, AppointmentDetails("Visit"), {}, [])
