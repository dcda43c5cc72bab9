"""The UserSchedule's booking rules and its recognition of its own events."""

from __future__ import annotations

import random
from copy import deepcopy
from datetime import UTC, datetime, timedelta

import pytest

from calendar_domain.bookings import (
    AppointmentDetails,
    BookingConflict,
    appointment_id_of_uid,
    appointment_uid,
    checked_span,
    first_conflict,
)
from calendar_domain.errors import AlreadyExists, DomainError, InvalidValue
from calendar_domain.icloud_changes import SyncRules
from calendar_domain.policy import ICloudChangePolicy
from calendar_domain.schedule import (
    AppointmentCancelledError,
    CalendarChanges,
    ImportedSeries,
    UserSchedule,
)

T0 = datetime(2030, 3, 4, 10, tzinfo=UTC)
H = timedelta(hours=1)
CAL = "cal-1"
DETAILS = AppointmentDetails("Visit")


def schedule_with(*spans: tuple[datetime, datetime]) -> UserSchedule:
    schedule = UserSchedule("sub", "user")
    for index, (start, end) in enumerate(spans):
        schedule.book(f"a{index}", start, end, DETAILS, {"connection_id": "c", "calendar_id": CAL}, [])
    return schedule


def test_overlapping_bookings_are_refused_naming_the_conflict() -> None:
    schedule = schedule_with((T0, T0 + H))
    with pytest.raises(BookingConflict) as refused:
        schedule.book("b", T0 + H / 2, T0 + 2 * H, DETAILS, {}, [])
    assert refused.value.metadata["conflict_id"] == "a0"
    schedule.book("b", T0 + H, T0 + 2 * H, DETAILS, {}, [])  # back to back
    schedule.create_block("blk", T0 + 3 * H, T0 + 4 * H, "Lunch")
    with pytest.raises(BookingConflict) as blocked:
        schedule.book("c", T0 + 3 * H, T0 + 5 * H, DETAILS, {}, [])
    assert blocked.value.metadata == {
        "conflict_kind": "blocked_slot", "conflict_id": "blk",
        "conflict_start": (T0 + 3 * H).isoformat(), "conflict_end": (T0 + 4 * H).isoformat(),
    }


def test_a_cancelled_appointment_frees_its_time_and_cannot_be_moved() -> None:
    schedule = schedule_with((T0, T0 + H))
    assert schedule.cancel("a0", "no longer needed")
    assert not schedule.cancel("a0", "again")  # no second event
    schedule.book("b", T0, T0 + H, DETAILS, {}, [])
    with pytest.raises(AppointmentCancelledError):
        schedule.reschedule("a0", T0 + 2 * H, T0 + 3 * H, [])


def test_rescheduling_ignores_the_appointment_itself_and_counts_revisions() -> None:
    schedule = schedule_with((T0, T0 + H), (T0 + 2 * H, T0 + 3 * H))
    assert schedule.reschedule("a0", T0 + H / 2, T0 + H + H / 2, [])  # overlaps only its old self
    assert schedule.appointments["a0"]["revision"] == 2
    assert not schedule.reschedule("a0", T0 + H / 2, T0 + H + H / 2, [])  # same time: nothing
    with pytest.raises(BookingConflict):
        schedule.reschedule("a0", T0 + 2 * H, T0 + 3 * H, [])


def test_booking_the_same_id_again_is_a_no_op_only_for_the_same_time() -> None:
    schedule = schedule_with((T0, T0 + H))
    version = schedule.version
    schedule.book("a0", T0, T0 + H, DETAILS, {}, [])
    assert schedule.version == version
    with pytest.raises(AlreadyExists):
        schedule.book("a0", T0 + H, T0 + 2 * H, DETAILS, {}, [])


def _echo(appointment_id: str, start: datetime, end: datetime, etag: str) -> ImportedSeries:
    return ImportedSeries(
        href=f"/cal/{appointment_id}.ics", etag=etag, uid=appointment_uid(appointment_id), summary="Visit",
        location="", recurring=False, all_day=False, first_start=start, last_end=end, ical="",
    )


def _changes(*changed: ImportedSeries, deleted: tuple[str, ...] = ()) -> CalendarChanges:
    return CalendarChanges(CAL, list(changed), [], list(deleted), "token", T0 - 24 * H)


def test_our_own_events_coming_back_are_not_blocked_slots() -> None:
    schedule = schedule_with((T0, T0 + H))
    schedule.pushed("a0", 1, "created", "c", CAL, "/cal/a0.ics", '"e1"')
    schedule.apply("c", _changes(_echo("a0", T0, T0 + H, '"e1"')))
    assert schedule.slot_count() == 0
    assert not any(isinstance(e, UserSchedule.BlockedSlotImported) for e in schedule.collect_events())
    # the same event with a new etag but the same times: noted, not "moved"
    schedule.apply("c", _changes(_echo("a0", T0, T0 + H, '"e2"')))
    assert schedule.appointments["a0"]["pushed"]["etag"] == '"e2"' and schedule.appointments["a0"]["icloud"] is None
    # moved by the user (restored under RESTORE: the booking keeps its time)
    schedule.apply("c", _changes(_echo("a0", T0 + 5 * H, T0 + 6 * H, '"e3"')), SyncRules(ICloudChangePolicy.RESTORE))
    assert schedule.appointments["a0"]["icloud"]["state"] == "moved"
    assert schedule.appointments["a0"]["start"] == T0.isoformat()
    # deleted by the user
    schedule.apply("c", _changes(deleted=("/cal/a0.ics",)), SyncRules(ICloudChangePolicy.RESTORE))
    assert schedule.appointments["a0"]["icloud"]["state"] == "deleted" and schedule.appointments["a0"]["pushed"] is None


def test_a_write_not_yet_recorded_is_not_taken_for_a_move() -> None:
    schedule = schedule_with((T0, T0 + H))
    schedule.pushed("a0", 1, "created", "c", CAL, "/cal/a0.ics", '"e1"')
    schedule.reschedule("a0", T0 + 2 * H, T0 + 3 * H, [])
    # the old revision (not yet rewritten), then the new one (written, not recorded)
    schedule.apply("c", _changes(_echo("a0", T0 + 2 * H, T0 + 3 * H, '"e2"')))
    assert schedule.appointments["a0"]["icloud"] is None


def test_someone_elses_events_and_uids_stay_blocked_slots() -> None:
    schedule = schedule_with((T0, T0 + H))
    foreign = _echo("not-ours", T0, T0 + H, '"x"')
    schedule.apply("c", _changes(foreign))
    assert schedule.slot_count() == 1
    assert appointment_id_of_uid("someone@example.com") is None
    assert appointment_id_of_uid(appointment_uid("a0")) == "a0"


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (None, T0, "start_time"),
        (T0, None, "end_time"),
        (T0, T0, "end_time"),
        (T0.replace(tzinfo=None), T0 + H, "start_time"),
        (T0, T0 + timedelta(days=15), "end_time"),
    ],
)
def test_bad_spans_name_the_field(start: datetime | None, end: datetime | None, field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        checked_span(start, end)
    assert refused.value.field == field


def test_a_schedule_snapshot_from_before_appointments_restores_and_books() -> None:
    schedule = UserSchedule("sub", "user")
    snapshot = UserSchedule.Snapshot.take(schedule)
    for name in ("appointments", "crm_blocks", "request_ids"):
        snapshot.state.pop(name, None)  # the shape of a snapshot taken before they existed
    restored: UserSchedule = snapshot.mutate(None)  # type: ignore[assignment]
    assert dict(restored.appointments) == {} and dict(restored.crm_blocks) == {}
    restored.book("a0", T0, T0 + H, DETAILS, {}, [], "r1")
    restored.create_block("blk", T0 + H, T0 + 2 * H, "Lunch", "r2")
    assert list(restored.appointments) == ["a0"] and list(restored.crm_blocks) == ["blk"]
    assert restored.has_seen("r1") and restored.has_seen("r2")
    assert dict(UserSchedule("sub", "other").appointments) == {}  # nothing shared between schedules


def test_the_span_index_finds_the_conflict_the_full_scan_finds() -> None:
    """Random bookings, moves, cancels, CRM blocks and times held in iCloud (past
    and future); after each,
    the schedule's indexed check and a copy's agree with ``first_conflict`` over
    every record, for many probes."""
    rng = random.Random(7)
    base = datetime(2026, 3, 2, 8, tzinfo=UTC)
    schedule = UserSchedule("loc-1", "u1")

    def span() -> tuple[datetime, datetime]:
        start = base + timedelta(minutes=15 * rng.randrange(-200, 200))
        return start, start + timedelta(minutes=15 * rng.randrange(1, 12))

    for step in range(400):
        action = rng.random()
        try:
            if action < 0.45:
                schedule.book(f"a{step:03d}", *span(), AppointmentDetails(title="x"), {}, [])
            elif action < 0.6 and schedule.appointments:
                schedule.reschedule(rng.choice(sorted(schedule.appointments)), *span(), [])
            elif action < 0.7 and schedule.appointments:
                schedule.cancel(rng.choice(sorted(schedule.appointments)), "gone")
            elif action < 0.78:
                schedule.create_block(f"b{step:03d}", *span(), "hold")
            elif action < 0.85 and schedule.appointments:  # times held in iCloud (as a restore records them)
                held = [[t.isoformat() for t in span()] for _ in range(rng.randrange(3))]
                schedule._set_appointment(rng.choice(sorted(schedule.appointments)), held=held or None)
            elif schedule.crm_blocks:
                schedule.delete_block(rng.choice(sorted(schedule.crm_blocks)))
        except DomainError:
            pass  # a conflict or a cancelled one: nothing recorded
        copy = deepcopy(schedule) if step % 50 == 0 else schedule
        for _ in range(5):
            probe = span()
            ignore = rng.choice(["", *sorted(schedule.appointments)[:3]])
            expected = first_conflict(*probe, schedule.appointments, schedule.crm_blocks, ignore)
            assert schedule.conflict(*probe, ignore=ignore) == expected
            assert copy.conflict(*probe, ignore=ignore) == expected
