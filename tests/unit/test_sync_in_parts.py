"""A large fetch is recorded in parts, the checkpoint with the last; a crash between
parts leaves no checkpoint, and the next sync records only what is missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calendar_domain.application import CalendarIntegration
from calendar_domain.bookings import AppointmentDetails, appointment_uid
from calendar_domain.schedule import CalendarChanges, ImportedSeries, SkippedResource, UserSchedule
from calendar_domain.schedule_service import ScheduleService, SyncTarget, in_parts

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
EMPTY = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


def series(i: int, uid: str = "") -> ImportedSeries:
    start = NOW + timedelta(days=i)
    return ImportedSeries(f"/cal/e{i}.ics", f'"{i}"', uid or f"uid-{i}", "", "", False, False, start, start, EMPTY)


def target() -> SyncTarget:
    return SyncTarget("loc-1", "u1", "conn", "cal", "/cal/", None, {}, "Europe/Berlin")


def test_parts_keep_the_order_apply_takes_and_every_change_once() -> None:
    own = appointment_uid("00000000-0000-4000-8000-000000000001")
    changes = CalendarChanges(
        "cal", [series(1), series(2), series(3, own), series(4)], [SkippedResource("/cal/s.ics", '"s"', "bad")],
        ["/cal/gone.ics"], "t1", NOW,
    )
    assert in_parts(changes, 6) == [changes]
    parts = in_parts(changes, 2)
    assert [[s.href for s in p.changed] for p in parts] == [["/cal/e3.ics", "/cal/e1.ics"], ["/cal/e2.ics", "/cal/e4.ics"], []]
    assert parts[-1].skipped == changes.skipped and parts[-1].deleted == changes.deleted
    assert {p.sync_token for p in parts} == {"t1"}


def test_a_first_sync_in_parts_records_the_same_schedule_with_one_checkpoint_last() -> None:
    app = CalendarIntegration()
    whole = ScheduleService(app).schedule("loc-1", "u1")
    whole.apply("conn", CalendarChanges("cal", [series(i) for i in range(8)], [], [], "t1", NOW))

    service = ScheduleService(app, record_batch=3)
    saves: list[int] = []
    record = app.record
    app.record = lambda *aggregates: saves.append(len(aggregates)) or record(*aggregates)  # type: ignore[method-assign]
    service.record_changes([(target(), CalendarChanges("cal", [series(i) for i in range(8)], [], [], "t1", NOW))])
    assert saves == [1, 1, 1]  # three transactions, one turn each
    schedule = service.schedule("loc-1", "u1")
    assert schedule.known("cal") == whole.known("cal") and schedule.checkpoint("cal") == "t1"
    events = list(app.repository.event_store.get(schedule.id))
    names = [type(e).__name__ for e in events]
    assert names.count("BlockedSlotImported") == 8 and names.count("CalendarSynced") == 1
    assert names[-1] == "CalendarSynced"


def test_a_crash_between_parts_leaves_no_checkpoint_and_the_next_sync_records_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = CalendarIntegration()
    service = ScheduleService(app, record_batch=3)
    schedule = service.schedule("loc-1", "u1")
    schedule.book("00000000-0000-4000-8000-000000000009", NOW, NOW + timedelta(hours=1), AppointmentDetails("x"), {}, [])
    app.record(schedule)
    saves = []
    record = app.record

    def crashing(*aggregates: object) -> int:
        if len(saves) == 1:
            raise RuntimeError("the process died")
        saves.append(aggregates)
        return record(*aggregates)

    changes = CalendarChanges("cal", [series(i) for i in range(8)], [], [], "t1", NOW)
    monkeypatch.setattr(app, "record", crashing)
    with pytest.raises(RuntimeError):
        service.record_changes([(target(), changes)])
    monkeypatch.setattr(app, "record", record)
    partial = service.schedule("loc-1", "u1")
    assert len(partial.known("cal")) == 3 and partial.checkpoint("cal") is None
    # the next sync lists in full (no checkpoint) and hands over everything again
    service.record_changes([(target(), changes)])
    done = service.schedule("loc-1", "u1")
    assert len(done.known("cal")) == 8 and done.checkpoint("cal") == "t1"
    names = [type(e).__name__ for e in app.repository.event_store.get(done.id)]
    assert names.count("BlockedSlotImported") == 8  # the first three were not imported again
    assert isinstance(done, UserSchedule) and len(done.appointments) == 1


def test_a_calendar_that_stops_blocking_after_a_crash_between_parts_is_released() -> None:
    """Parts of a first sync are recorded, not its checkpoint (the process died):
    the calendar is not yet among the synced ones. When it then stops blocking the
    user, its recorded slots go too (they were left behind: no later sync reads
    that calendar again, and nothing else releases it)."""
    from calendar_domain.configuration import CalendarConfiguration, CalendarRef

    app = CalendarIntegration()
    service = ScheduleService(app, record_batch=3)
    first_parts = in_parts(CalendarChanges("cal", [series(i) for i in range(8)], [], [], "t1", NOW), 3)[:2]
    for part in first_parts:
        service._record_part([(target(), part, False)])
    partial = service.schedule("loc-1", "u1")
    assert len(partial.known("cal")) == 6 and partial.checkpoint("cal") is None
    configuration = CalendarConfiguration("loc-1", "u1")
    configuration.set_primary(CalendarRef("conn", "other"))  # "cal" no longer among its calendars
    released = service.releases_for(configuration)
    assert len(released) == 1
    app.record(*released)
    after = service.schedule("loc-1", "u1")
    assert after.known("cal") == {} and after.entries() == []
    assert any(type(e).__name__ == "CalendarReleased" for e in app.repository.event_store.get(after.id))


def test_parts_of_a_calendar_that_stopped_blocking_meanwhile_are_not_recorded() -> None:
    """The calendar stops blocking the user between two parts of its first sync
    (the change takes the schedule's turn between them): what was recorded is
    released, and the parts after it are not recorded (their last would make the
    calendar synced again, its slots held for a calendar that no longer blocks)."""
    from calendar_domain.configuration import CalendarConfiguration, CalendarRef

    app = CalendarIntegration()
    service = ScheduleService(app, record_batch=3)
    configuration = CalendarConfiguration("loc-1", "u1")
    configuration.set_primary(CalendarRef("conn", "cal"))
    app.record(configuration)
    parts = in_parts(CalendarChanges("cal", [series(i) for i in range(8)], [], [], "t1", NOW), 3)
    service._record_part([(target(), parts[0], False)])
    configuration.set_primary(CalendarRef("conn", "other"))
    app.record(configuration, *service.releases_for(configuration))
    for index, part in enumerate(parts[1:], start=1):
        service._record_part([(target(), part, index == len(parts) - 1)])
    after = service.schedule("loc-1", "u1")
    assert after.known("cal") == {} and after.checkpoint("cal") is None and after.held_calendars() == []
