"""Large schedules load from one snapshot taken per save, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
import threading

import pytest

from calendar_domain.application import CalendarIntegration
from calendar_domain.schedule import CalendarChanges, ImportedSeries, UserSchedule
from server.bootstrap import application_env
from tests.support.stores import STORES, settings_for

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def series(i: int) -> ImportedSeries:
    return ImportedSeries(f"/c/e{i}.ics", f'"{i}"', f"uid-{i}", "", "", False, False, NOW, NOW, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")


@contextmanager
def recorded_schedule(store: str, tmp_path: Path, resources: int) -> Iterator[tuple[CalendarIntegration, UserSchedule]]:
    """An application on ``store`` holding a schedule first synced with ``resources`` resources."""
    with settings_for(store, tmp_path) as settings:
        app = CalendarIntegration(env=application_env(settings))
        try:
            schedule = UserSchedule("loc-1", "u1")
            schedule.apply("conn", CalendarChanges("cal", [series(i) for i in range(resources)], [], [], "t1", NOW))
            app.record(schedule)
            yield app, schedule
        finally:
            app.close()


@pytest.mark.parametrize("store", STORES)
def test_a_save_crossing_several_intervals_takes_one_snapshot_that_loads_the_same_state(
    store: str, tmp_path: Path
) -> None:
    with recorded_schedule(store, tmp_path, 1000) as (app, schedule):
        snapshots = list(app.snapshots.get(schedule.id)) if app.snapshots else []
        assert [s.originator_version for s in snapshots] == [schedule.version]
        loaded = app.repository.get(schedule.id)
        assert loaded.known("cal") == schedule.known("cal") and loaded.checkpoint("cal") == "t1"
        schedule.apply("conn", CalendarChanges("cal", [series(1000)], [], [], "t2", NOW))
        app.record(schedule)  # two more events: no interval crossed, no snapshot
        assert len(list(app.snapshots.get(schedule.id))) == 1  # type: ignore[union-attr]
        assert app.repository.get(schedule.id).known("cal") == schedule.known("cal")


@pytest.mark.parametrize("store", STORES)
def test_a_read_only_find_gives_the_cached_schedule_and_a_plain_find_a_copy_of_it(store: str, tmp_path: Path) -> None:
    with recorded_schedule(store, tmp_path, 3) as (app, schedule):
        shared = app.find(schedule.id, UserSchedule, read_only=True)
        assert shared is app.find(schedule.id, UserSchedule, read_only=True)
        copy = app.find(schedule.id, UserSchedule)
        assert shared is not None and copy is not None and copy is not shared
        assert copy.__dict__ == shared.__dict__
        copy.apply("conn", CalendarChanges("cal", [series(9)], [], [], "t2", NOW))  # a command on the copy
        assert "/c/e9.ics" not in shared.known("cal")


def test_a_cached_schedule_is_not_brought_up_to_date_while_it_is_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached schedule is updated in place with events recorded elsewhere (here
    by a second application on the same store) when it is next read; a read in
    another thread waits while the first read copies it."""
    with recorded_schedule("sqlite", tmp_path, 50) as (app, schedule):
        with settings_for("sqlite", tmp_path) as settings:
            elsewhere = CalendarIntegration(env=application_env(settings))
        try:
            assert app.find(schedule.id, UserSchedule) is not None  # cached

            def change(i: int) -> int:
                other = elsewhere.find(schedule.id, UserSchedule)
                assert other is not None
                other.apply("conn", CalendarChanges("cal", [series(100 + i)], [], [], f"t{i}", NOW))
                elsewhere.record(other)
                return int(other.version)

            copying, go_on, seen = threading.Event(), threading.Event(), []
            copy = UserSchedule.__deepcopy__

            def held_copy(self: UserSchedule, memo: dict[int, object]) -> UserSchedule:
                if threading.current_thread().name == "first" and not copying.is_set():
                    version = self.version
                    copying.set()
                    assert go_on.wait(30)
                    seen.append((version, self.version))
                return copy(self, memo)

            monkeypatch.setattr(UserSchedule, "__deepcopy__", held_copy)
            change(1)
            first = threading.Thread(target=app.find, args=(schedule.id, UserSchedule), name="first")
            first.start()
            assert copying.wait(30)
            latest = change(2)  # the next read must bring the cached schedule forward again
            second = threading.Thread(target=app.find, args=(schedule.id, UserSchedule))
            second.start()
            second.join(1)
            assert second.is_alive()  # waiting for the copy under way
            go_on.set()
            first.join(30)
            second.join(30)
            [(before, after)] = seen
            assert before == after
            found = app.find(schedule.id, UserSchedule)
            assert found is not None and after < latest == found.version and len(found.known("cal")) == 52
        finally:
            elsewhere.close()


def test_a_read_of_an_earlier_version_does_not_wait_for_the_cached_one(tmp_path: Path) -> None:
    """Only reads of the cached schedule take its lock: an audit reading a past
    version goes on while the current one is being copied."""
    with recorded_schedule("sqlite", tmp_path, 3) as (app, schedule):
        lock = app.repository._locks[hash(schedule.id) % len(app.repository._locks)]
        found: list[object] = []
        with lock:  # a read of the cached schedule under way
            reader = threading.Thread(target=lambda: found.append(app.repository.get(schedule.id, version=1)))
            reader.start()
            reader.join(30)
            assert not reader.is_alive() and getattr(found[0], "version", None) == 1


@pytest.mark.parametrize("store", STORES)
def test_a_history_of_every_kind_of_schedule_event_replays_to_the_state_that_recorded_it(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Imports (one stored in the first shape of BlockedSlotImported), updates,
    skips, removals, appointments booked, moved, cancelled, pushed, changed and
    deleted in iCloud, CRM blocks, a release; across a snapshot. Another
    application reads it from the store: the same state, and the same answers to
    the no-overlap rule as a full scan of that state."""
    from datetime import timedelta

    from calendar_domain.bookings import AppointmentDetails, appointment_uid, first_conflict
    from calendar_domain.schedule import SkippedResource

    hour = timedelta(hours=1)
    with recorded_schedule(store, tmp_path, 250) as (app, schedule):  # 250 imports: a snapshot at 200
        with monkeypatch.context() as patched:
            patched.setattr(UserSchedule.BlockedSlotImported, "class_version", 1)
            first_shape = {
                k: v for k, v in series(999).__dict__.items()
                if k not in ("time_zone", "zone_dependent", "expanded_from", "expanded_until", "occurrences")
            }
            first_shape.update(first_start=NOW.isoformat(), last_end=NOW.isoformat())
            schedule._imported("conn", "cal", first_shape, NOW)
            app.record(schedule)
        schedule.apply("conn", CalendarChanges(
            "cal", [ImportedSeries("/c/e1.ics", '"x"', "uid-1", "", "", False, False, NOW, NOW, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")],
            [SkippedResource("/c/e2.ics", '"bad"', "no VEVENT")], ["/c/e3.ics"], "t2", NOW,
        ))
        for i in range(4):
            schedule.book(f"{i:08d}-0000-4000-8000-000000000000", NOW + i * hour, NOW + (i + 1) * hour,
                          AppointmentDetails(title=f"Client {i}"), {}, [], f"r{i}")
        first, second, third, _ = sorted(schedule.appointments)
        schedule.reschedule(first, NOW - 2 * hour, NOW - hour, [])
        schedule.cancel(second, "gone")
        schedule.pushed(third, 1, "created", "conn", "cal", f"/c/{third}.ics", '"p1"')
        schedule.apply("conn", CalendarChanges(
            "cal", [ImportedSeries(f"/c/{third}.ics", '"p2"', appointment_uid(third), "", "", False, False,
                                   NOW + 5 * hour, NOW + 6 * hour, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")],
            [], [], "t3", NOW,
        ))
        schedule.create_block("00000000-0000-4000-8000-0000000000b1", NOW + 8 * hour, NOW + 9 * hour, "Hold")
        schedule.create_block("00000000-0000-4000-8000-0000000000b2", NOW + 9 * hour, NOW + 10 * hour, "Gone")
        schedule.delete_block("00000000-0000-4000-8000-0000000000b2")
        schedule.apply("conn", CalendarChanges("other", [series(5000)], [], [], "o1", NOW))
        schedule.release("other", "calendar no longer blocks this user")
        app.record(schedule)

        elsewhere = CalendarIntegration(env=dict(app.env))  # another process on the same store
        try:
            replayed = elsewhere.find(schedule.id, UserSchedule)
            assert replayed is not None and replayed.version == schedule.version
            assert set(replayed.__dict__) == set(schedule.__dict__)
            for name in ("resources", "checkpoints", "calendar_connections", "appointments", "crm_blocks", "request_ids"):
                assert getattr(replayed, name) == getattr(schedule, name), name
            assert replayed.appointments[third]["icloud"]["state"] == "moved"
            for offset in range(-3, 11):
                start = NOW + offset * hour
                expected = first_conflict(start, start + hour, schedule.appointments, schedule.crm_blocks)
                assert replayed.conflict(start, start + hour) == expected
        finally:
            elsewhere.close()
