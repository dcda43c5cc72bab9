"""The availability read model: one contract, run on SQLite and on PostgreSQL.

Events are recorded in a real event store; the projection follows the log into a
real view; the view is read back with the queries the service uses.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from eventsourcing.persistence import MapperDeserialisationError, Tracking
from eventsourcing.utils import get_topic

from adapters.icloud.resources import imported_series
from adapters.persistence import availability_view
from adapters.persistence.database import VIEW_PAGE_SIZE
from adapters.persistence.follower import ProjectionFollower
from adapters.persistence.parallel_catch_up import ParallelCatchUp
from adapters.persistence.stored_imports import read_range
from calendar_domain.application import CalendarIntegration
from calendar_domain.availability_projection import LONG_SECONDS, AvailabilityProjection, SeriesRow, prepare
from calendar_domain.configuration import CalendarConfiguration, CalendarRef
from calendar_domain.occurrences import MATERIALISED_AHEAD
from calendar_domain.schedule import CalendarChanges, ImportedSeries, UserSchedule
from server.bootstrap import application_env, build_availability_view, expand_series
from server.config import Settings
from tests.support.stores import POSTGRES_URL, STORES, settings_for

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "ical"
FETCHED = datetime(2026, 1, 10, tzinfo=UTC)  # holds occurrences from 10 Dec 2025 on
CALENDAR = "cal-1"
CONNECTION = "conn-1"


@dataclass
class World:
    app: CalendarIntegration
    settings: Settings
    follower: ProjectionFollower

    @property
    def view(self) -> Any:
        return self.follower._view

    def new_follower(self, batch_size: int = 500) -> ProjectionFollower:
        view = build_availability_view(self.settings)
        return ProjectionFollower(self.app, AvailabilityProjection(view, expand_series), batch_size=batch_size)

    def user_key(self, user: str = "u1") -> str:
        return str(UserSchedule.create_id("loc-1", user))

    def configure(self, user: str = "u1", time_zone: str = "Europe/Berlin") -> CalendarConfiguration:
        configuration = CalendarConfiguration("loc-1", user)
        configuration.set_time_zone(time_zone)
        configuration.add_conflict(CalendarRef(CONNECTION, CALENDAR))
        self.app.record(configuration)
        return configuration

    def import_files(self, names: list[str], user: str = "u1", time_zone: str = "Europe/Berlin") -> UserSchedule:
        schedule = self.app.find(UserSchedule.create_id("loc-1", user), UserSchedule) or UserSchedule("loc-1", user)
        series = [imported_series(f"/cal/{n}", f'"{n}-1"', (CORPUS / n).read_text(), time_zone, FETCHED) for n in names]
        assert all(isinstance(s, ImportedSeries) for s in series)
        schedule.apply(CONNECTION, CalendarChanges(CALENDAR, series, [], [], "token-1", FETCHED))  # type: ignore[arg-type]
        self.app.record(schedule)
        return schedule


@pytest.fixture(params=STORES)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with settings_for(request.param, tmp_path) as settings:
        app = CalendarIntegration(env=application_env(settings))
        view = build_availability_view(settings)
        follower = ProjectionFollower(app, AvailabilityProjection(view, expand_series))
        follower.catch_up()
        try:
            yield World(app, settings, follower)
        finally:
            app.close()


READABLE = sorted(p.name for p in CORPUS.glob("*.ics") if not p.name.startswith("malformed"))


def _epoch(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())  # type: ignore[misc]


def test_occurrences_are_rows_found_by_window(world: World) -> None:
    world.configure()
    world.import_files(["weekly_exdate.ics", "all_day_multi_day.ics", "transparent.ics"])
    world.follower.catch_up()
    # Mondays 09:00-10:00 CET from 5 Jan 2026, 19 Jan excluded (the corpus' own words)
    rows = world.view.busy(world.user_key(), _epoch(2026, 1, 12), _epoch(2026, 1, 27))
    weekly = sorted((r.start, r.end) for r in rows if r.href.endswith("weekly_exdate.ics"))
    assert weekly == [(_epoch(2026, 1, 12, 8), _epoch(2026, 1, 12, 9)), (_epoch(2026, 1, 26, 8), _epoch(2026, 1, 26, 9))]
    user = world.view.user(world.user_key())
    assert user.time_zone == "Europe/Berlin" and user.sub_account_id == "loc-1"
    assert world.view.calendars(world.user_key()) == [("conflict", CALENDAR, CONNECTION)]


def test_a_long_event_is_found_from_inside_it(world: World) -> None:
    world.configure()
    world.import_files(["all_day_multi_day.ics"])
    world.follower.catch_up()
    every = world.view.busy(world.user_key(), _epoch(2000, 1, 1), _epoch(2100, 1, 1))
    [row] = every
    assert row.end - row.start > LONG_SECONDS  # kept with the long ones
    middle = row.start + (row.end - row.start) // 2
    found = world.view.busy(world.user_key(), middle, middle + 60)
    assert [(r.start, r.end) for r in found] == [(row.start, row.end)]
    assert world.view.busy(world.user_key(), row.end + 3600, row.end + 7200) == []


def test_a_series_beyond_what_is_held_is_named_for_expansion(world: World) -> None:
    world.configure()
    world.import_files(["series_1990.ics", "weekly_exdate.ics"])
    world.follower.catch_up()
    held_until = int((FETCHED + MATERIALISED_AHEAD).timestamp())
    inside = world.view.partial_series(world.user_key(), held_until - 86400 * 7, held_until - 86400)
    assert inside == []
    beyond = world.view.partial_series(world.user_key(), held_until + 86400, held_until + 86400 * 8)
    # both run for ever
    assert sorted(s.uid for s in beyond) == ["since-1990@example.com", "weekly-exdate@example.com"]
    before = world.view.partial_series(world.user_key(), _epoch(2000, 1, 1), _epoch(2000, 1, 8))
    assert [s.uid for s in before] == ["since-1990@example.com"]


def test_the_users_zone_moves_floating_and_all_day_events_only(world: World) -> None:
    world.configure(time_zone="Europe/Berlin")
    world.import_files(["floating.ics", "weekly_exdate.ics"], time_zone="Europe/Berlin")
    world.follower.catch_up()
    key = world.user_key()

    def starts(name: str) -> list[int]:
        rows = world.view.busy(key, _epoch(2025, 1, 1), _epoch(2027, 1, 1))
        return sorted(r.start for r in rows if r.href.endswith(name))

    floating_berlin, weekly_berlin = starts("floating.ics"), starts("weekly_exdate.ics")
    configuration = world.app.find(CalendarConfiguration.create_id("loc-1", "u1"), CalendarConfiguration)
    assert configuration is not None
    configuration.set_time_zone("Asia/Tokyo")
    world.app.record(configuration)
    world.follower.catch_up()
    # the same wall time, in Tokyo
    berlin, tokyo = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Tokyo")
    walls = [datetime.fromtimestamp(s, berlin).replace(tzinfo=tokyo) for s in floating_berlin]
    assert starts("floating.ics") == [int(w.timestamp()) for w in walls] and walls
    assert starts("weekly_exdate.ics") == weekly_berlin
    # and an import read in the old zone is moved on arrival
    world.import_files(["all_day_one_day.ics"], time_zone="Europe/Berlin")
    world.follower.catch_up()
    [all_day] = starts("all_day_one_day.ics")
    assert datetime.fromtimestamp(all_day, UTC).hour == 15  # midnight in Tokyo (UTC+9) is 15:00 UTC


def test_removal_and_release_take_rows_away(world: World) -> None:
    world.configure()
    schedule = world.import_files(["weekly_exdate.ics", "transparent.ics"])
    schedule.apply(CONNECTION, CalendarChanges(CALENDAR, [], [], ["/cal/transparent.ics"], "token-2", FETCHED))
    world.app.record(schedule)
    world.follower.catch_up()
    rows = world.view.busy(world.user_key(), _epoch(2000, 1, 1), _epoch(2100, 1, 1))
    assert {r.href for r in rows} == {"/cal/weekly_exdate.ics"}
    assert world.view.series(world.user_key(), CALENDAR, "/cal/transparent.ics") is None
    schedule.release(CALENDAR, "calendar no longer blocks this user")
    world.app.record(schedule)
    world.follower.catch_up()
    assert world.view.busy(world.user_key(), _epoch(2000, 1, 1), _epoch(2100, 1, 1)) == []


def test_a_rebuilt_model_equals_the_live_one_whatever_the_batch_size(world: World) -> None:
    world.configure()
    world.import_files(READABLE[: len(READABLE) // 2])
    world.follower.catch_up()
    world.configure(user="u2", time_zone="America/New_York")
    world.import_files(READABLE[len(READABLE) // 2 :], user="u2", time_zone="America/New_York")
    schedule = world.import_files(["weekly_exdate.ics"], user="u1")  # known already: nothing changes
    schedule.apply(CONNECTION, CalendarChanges(CALENDAR, [], [], [f"/cal/{READABLE[0]}"], "token-3", FETCHED))
    world.app.record(schedule)
    world.follower.catch_up()
    live = world.view.dump()
    assert len(live["avail_busy"]) > len(READABLE)

    world.view.drop()
    assert world.view.dump()["avail_busy"] == []
    rebuilt = world.new_follower()
    assert rebuilt.catch_up() == world.app.head_position()
    assert world.view.dump() == live

    world.view.drop()
    assert world.new_follower(batch_size=1).catch_up() == world.app.head_position()
    assert world.view.dump() == live


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_model_rebuilt_with_the_log_read_in_other_processes_equals_the_live_one(
    world: World, start_method: str
) -> None:
    """Workers prepare ranges of the log side by side; this process applies them in
    log order. A floating series read in a zone the user has since left is read
    again here, in the zone the user had at that point of the log."""
    configuration = world.configure()
    world.import_files(READABLE[: len(READABLE) // 2])
    world.configure(user="u2", time_zone="America/New_York")
    world.import_files(READABLE[len(READABLE) // 2 :], user="u2", time_zone="America/New_York")
    configuration.set_time_zone("Asia/Tokyo")
    world.app.record(configuration)
    world.import_files(["floating.ics"], time_zone="Europe/Berlin")  # fetched before the move was known
    world.follower.catch_up()
    live = world.view.dump()
    floating = world.view.series(world.user_key(), CALENDAR, "/cal/floating.ics")
    assert floating is not None and floating.time_zone == "Asia/Tokyo"

    head = world.app.head_position()
    # read as it comes; read ahead from the start (a rebuild, while it drops); read
    # ahead from elsewhere (dropped) and up to a head since passed (read on from there)
    for batch_size, prefetched in ((3, None), (500, None), (3, (0, head)), (3, (4, head)), (3, (0, head - 2))):
        world.view.drop()
        world.follower.projection.forget()
        with ParallelCatchUp(
            CalendarIntegration, application_env(world.settings), AvailabilityProjection.topics, read_range,
            processes=2, batch_size=batch_size, start_method=start_method,
        ) as readers:
            if prefetched is not None:
                readers.prefetch(*prefetched)
            assert readers.run(world.app, world.follower.projection) == head
        assert world.view.dump() == live
        assert world.view.max_tracking_id(world.app.name) == head


# Set by the test below before its readers are forked: the last range's reader
# waits on it, and only this process's projection sets it.
_FIRST_RANGE_APPLIED = multiprocessing.get_context("fork").Event()


def _read_waiting_at_the_last_user(app: Any, start: int, stop: int, topics: tuple[str, ...]) -> list[Any]:
    events = [
        app.mapper.to_domain_event(n)
        for n in app.recorder.select_notifications(start=start, limit=stop - start, stop=stop, topics=topics, inclusive_of_start=False)
    ]
    if any(getattr(e, "user_id", None) == "last" for e in events) and not _FIRST_RANGE_APPLIED.wait(30):
        raise TimeoutError("the first range was not taken before the last one was read")
    return [prepare(e) for e in events]


class _RangeTaker:
    """A projection that notes what it was given, and lets the last reader go on
    once it holds the first event of its transaction."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self.batches: list[tuple[int, int, list[int]]] = []

    def process_batch(self, items: Any, after: int, tracking: Any) -> None:
        positions = []
        for _, at in items:
            positions.append(at.notification_id)
            _FIRST_RANGE_APPLIED.set()
        self.batches.append((after, tracking.notification_id, positions))


def test_a_rebuild_takes_each_range_as_soon_as_it_is_read(world: World) -> None:
    """The readers' ranges reach the projection one by one while later ones are
    still being read: the last range's reader waits until the first is applied (in
    one transaction with it), so a catch-up that waited for every range first would
    fail here."""
    for user in ("u1", "u2", "u3", "last"):
        world.configure(user=user)
    world.view.drop()
    _FIRST_RANGE_APPLIED.clear()
    taker = _RangeTaker(world.view)
    with ParallelCatchUp(
        CalendarIntegration, application_env(world.settings), AvailabilityProjection.topics,
        _read_waiting_at_the_last_user, processes=1, batch_size=2, transaction_size=100, start_method="fork",
    ) as readers:
        assert readers.run(world.app, taker) == world.app.head_position()
    head = world.app.head_position()
    assert [(after, at) for after, at, _ in taker.batches] == [(0, head)]  # one transaction
    positions = taker.batches[0][2]  # each event comes with the end of its range
    assert len(positions) == head and positions == sorted(positions) and positions[-1] == head


class _UnreachableStore(CalendarIntegration):
    def __init__(self, env: dict[str, str] | None = None) -> None:
        raise ConnectionError("the store cannot be reached")


def test_readers_that_cannot_start_say_so_before_anything_is_dropped(world: World) -> None:
    readers = ParallelCatchUp(
        _UnreachableStore, application_env(world.settings), AvailabilityProjection.topics, read_range,
        processes=2, start_method="fork",
    )
    try:
        with pytest.raises(BrokenProcessPool):  # from starting them, or at the latest from ready()
            readers.start().ready()
    finally:
        readers.close()


def test_two_processes_following_one_view_apply_each_event_once(world: World) -> None:
    world.configure()
    second = world.new_follower()  # another process: it starts from the same position
    second.start(run=False)
    second.stop()
    world.import_files(["weekly_exdate.ics"])
    world.follower.catch_up()
    once = world.view.dump()
    assert second.catch_up() == world.app.head_position()
    assert world.view.dump() == once


class _HeldProjection:
    """A projection whose first batch waits until let go, counting how many
    batches are under way at once."""

    def __init__(self, projection: Any) -> None:
        self._projection = projection
        self.view, self.topics, self.name = projection.view, projection.topics, projection.name
        self.entered, self.let_go, self.second = threading.Event(), threading.Event(), threading.Event()
        self.busy = self.most = 0

    def process_batch(self, *args: Any, **kwargs: Any) -> None:
        self.busy += 1
        self.most = max(self.most, self.busy)
        try:
            if self.entered.is_set():
                self.second.set()
            else:
                self.entered.set()
                assert self.let_go.wait(30)
            self._projection.process_batch(*args, **kwargs)
        finally:
            self.busy -= 1

    def advance(self, *args: Any, **kwargs: Any) -> None:
        self._projection.advance(*args, **kwargs)


def test_a_catch_up_while_the_follower_runs_waits_for_its_step(world: World) -> None:
    """``catch_up`` in the caller's thread while the follower's thread is in the
    middle of a batch: the two never work on the log at once (they would apply the
    same batch, and the second would fail on the position the first recorded)."""
    world.configure()
    world.import_files(["weekly_exdate.ics"])
    held = _HeldProjection(AvailabilityProjection(build_availability_view(world.settings), expand_series))
    world.view.drop()
    follower = ProjectionFollower(world.app, held)
    follower.start()
    try:
        assert held.entered.wait(30)
        caught_up: list[int] = []
        caller = threading.Thread(target=lambda: caught_up.append(follower.catch_up()))
        caller.start()
        assert not held.second.wait(1)  # the caller waits for the step under way
        held.let_go.set()
        caller.join(30)
        assert caught_up == [world.app.head_position()] and held.most == 1
        assert follower.error is None
    finally:
        held.let_go.set()
        follower.stop()


def _record_first_shape_import(world: World, monkeypatch: pytest.MonkeyPatch, schedule: UserSchedule) -> UserSchedule:
    """Records an import of /cal/w.ics as version 1 of BlockedSlotImported stored it."""
    [series] = [imported_series("/cal/w.ics", '"w-1"', (CORPUS / "weekly_exdate.ics").read_text(), "Europe/Berlin", FETCHED)]
    assert isinstance(series, ImportedSeries)
    with monkeypatch.context() as patched:
        patched.setattr(UserSchedule.BlockedSlotImported, "class_version", 1)
        v1_payload = {
            k: v for k, v in series.__dict__.items()
            if k not in ("time_zone", "zone_dependent", "expanded_from", "expanded_until", "occurrences")
        }
        v1_payload["first_start"] = series.first_start.isoformat()
        v1_payload["last_end"] = series.last_end.isoformat() if series.last_end else ""
        schedule._imported(CONNECTION, CALENDAR, v1_payload, FETCHED)
        world.app.record(schedule)
    return schedule


def test_an_import_event_of_the_first_shape_is_upcast_and_expanded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 1 of BlockedSlotImported carried no occurrences: stored in that shape
    (class_version 1, the new keys absent), it still reads, and the read model
    expands its text instead."""
    world.configure()
    schedule = _record_first_shape_import(world, monkeypatch, UserSchedule("loc-1", "u1"))
    event_class = UserSchedule.BlockedSlotImported

    stored = world.app.find(schedule.id, UserSchedule)
    assert stored is not None and stored.slot_count(CALENDAR) == 1
    [event] = [e for e in world.app.repository.event_store.get(schedule.id) if isinstance(e, event_class)]
    assert event.series["occurrences"] is None and event.series["zone_dependent"] is True
    world.follower.catch_up()
    rows = world.view.busy(world.user_key(), _epoch(2026, 1, 12), _epoch(2026, 1, 27))
    assert sorted(r.start for r in rows) == [_epoch(2026, 1, 12, 8), _epoch(2026, 1, 26, 8)]
    # the same series recorded today gives the same rows
    fresh = world.view.series(world.user_key(), CALENDAR, "/cal/w.ics")
    assert fresh is not None and fresh.time_zone == "Europe/Berlin"


class _LibraryWayCounted:
    """The application's mapper, noting the topic of each event it decodes."""

    def __init__(self, mapper: Any) -> None:
        self.mapper = mapper
        self.decoded: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.mapper, name)

    def to_domain_event(self, notification: Any) -> Any:
        self.decoded.append(notification.topic)
        return self.mapper.to_domain_event(notification)


def test_a_readers_import_events_are_prepared_as_the_library_would_but_by_themselves(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild's readers select their ranges and decode import events stored at
    their current version themselves, into what ``prepare`` makes of the library's
    domain event; every other event, a version-1 import among them, goes the
    library's way."""
    world.configure()
    schedule = world.import_files(READABLE)
    changed = [imported_series(f"/cal/{n}", f'"{n}-2"', (CORPUS / n).read_text(), "Europe/Berlin", FETCHED) for n in READABLE[:3]]
    schedule.apply(CONNECTION, CalendarChanges(CALENDAR, changed, [], [f"/cal/{READABLE[3]}"], "token-2", FETCHED))  # type: ignore[arg-type]
    world.app.record(schedule)
    _record_first_shape_import(world, monkeypatch, schedule)
    notifications = world.app.recorder.select_notifications(start=1, limit=10_000, topics=AvailabilityProjection.topics)
    imported, updated = get_topic(UserSchedule.BlockedSlotImported), get_topic(UserSchedule.BlockedSlotUpdated)
    topics = Counter(n.topic for n in notifications)
    assert topics[imported] == len(READABLE) + 1 and topics[updated] == 3

    expected = [prepare(world.app.mapper.to_domain_event(n)) for n in notifications]
    by_library = Counter({t: c for t, c in topics.items() if t not in (imported, updated)}) + Counter(
        {imported: 1}  # the version-1 import
    )
    # a reader's ranges: (start, stop] of the log, events of other topics left out
    head = world.app.recorder.max_notification_id()
    assert head > len(notifications)
    for size in (head, 7, 1):
        reader = SimpleNamespace(mapper=_LibraryWayCounted(world.app.mapper), recorder=world.app.recorder)
        ranges = [(low, min(low + size, head)) for low in range(0, head, size)]
        assert [item for low, high in ranges for item in read_range(reader, low, high, AvailabilityProjection.topics)] == expected
        assert Counter(reader.mapper.decoded) == by_library


def test_an_import_event_that_will_not_decode_fails_with_the_librarys_error(world: World) -> None:
    world.configure()
    world.import_files(["weekly_exdate.ics"])
    notifications = world.app.recorder.select_notifications(start=1, limit=100, topics=AvailabilityProjection.topics)
    [stored] = [n for n in notifications if n.topic == get_topic(UserSchedule.BlockedSlotImported)]
    broken = dataclasses.replace(stored, state=stored.state[:-3])
    recorder = SimpleNamespace(  # a log whose import event was cut short
        select_notifications=lambda **_: [broken if n.id == stored.id else n for n in notifications]
    )
    reader = SimpleNamespace(mapper=world.app.mapper, recorder=recorder)
    with pytest.raises(MapperDeserialisationError, match=str(stored.originator_id)):
        read_range(reader, 0, world.app.recorder.max_notification_id(), AvailabilityProjection.topics)


def test_a_user_version_moves_with_their_rows_only(world: World) -> None:
    """Answers cache what they read of a user under the user's version: it must
    move with every change of theirs and with nobody else's."""
    world.configure()
    world.configure(user="u2")
    world.import_files(["weekly_exdate.ics"])
    world.follower.catch_up()
    first = world.view.user(world.user_key()).version
    assert 0 < first <= world.app.head_position()  # the batch that imported it
    world.import_files(["transparent.ics"], user="u2")
    world.follower.catch_up()
    assert world.view.user(world.user_key()).version == first
    assert world.view.user(world.user_key("u2")).version > first
    schedule = world.import_files(["weekly_exdate.ics"])  # known already: nothing recorded
    schedule.apply(CONNECTION, CalendarChanges(CALENDAR, [], [], ["/cal/weekly_exdate.ics"], "token-2", FETCHED))
    world.app.record(schedule)
    world.follower.catch_up()
    assert world.view.user(world.user_key()).version > world.view.user(world.user_key("u2")).version


def test_a_model_made_before_user_versions_gains_the_column(world: World) -> None:
    world.configure()
    world.follower.catch_up()
    table = world.view.table_prefix() + "avail_user"
    with world.view.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"ALTER TABLE {table} DROP COLUMN version")
    world.view.create_table()  # what a new release does on start
    user = world.view.user(world.user_key())
    assert user is not None and user.version == 0  # unknown: answers read it afresh
    world.import_files(["weekly_exdate.ics"])
    world.follower.catch_up()
    assert world.view.user(world.user_key()).version > 0


def _indexes(world: World) -> set[str]:
    with world.view.datastore.transaction(commit=False) as cursor:
        if world.view.dialect == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'avail_busy'")
        else:
            cursor.execute(
                "SELECT indexname AS name FROM pg_indexes WHERE schemaname = %s AND tablename = 'avail_busy'",
                (world.view.datastore.schema,),
            )
        return {dict(row)["name"] for row in cursor.fetchall()}


def _busy_sources(world: World) -> list[tuple[str, str, str, int]]:
    with world.view.datastore.transaction(commit=False) as cursor:
        cursor.execute(world.view.statement("SELECT user_key, calendar_id, href, source_hash FROM {t}avail_busy"))
        return sorted(tuple(dict(row).values()) for row in cursor.fetchall())  # type: ignore[misc]


def _import_as(world: World, href: str, name: str, etag: str) -> None:
    schedule = world.app.find(UserSchedule.create_id("loc-1", "u1"), UserSchedule)
    assert schedule is not None
    series = imported_series(href, etag, (CORPUS / name).read_text(), "Europe/Berlin", FETCHED)
    schedule.apply(CONNECTION, CalendarChanges(CALENDAR, [series], [], [], "token-x", FETCHED))  # type: ignore[list-item]
    world.app.record(schedule)


def test_a_model_made_before_source_hashes_gains_them(world: World) -> None:
    """Occurrence rows are found by a hash of their source's names. A model made
    when they were found by the names themselves gains the column on start, worked
    out by the database (PostgreSQL: in SQL) as the writers work it out, and its
    old rows are then replaced and removed like new ones."""
    world.configure()
    world.import_files(["weekly_exdate.ics", "all_day_multi_day.ics"])
    _import_as(world, "/cal/réunion ☕.ics", "rdate.ics", '"r-1"')
    world.follower.catch_up()
    live = world.view.dump()
    table = world.view.table_prefix() + "avail_busy"
    with world.view.datastore.transaction(commit=True) as cursor:  # the model as the last release made it
        cursor.execute(f"DROP INDEX {world.view.table_prefix()}avail_busy_by_source_hash")
        cursor.execute(f"ALTER TABLE {table} DROP COLUMN source_hash")
        cursor.execute(f"CREATE INDEX avail_busy_by_source ON {table} (user_key, calendar_id, href)")
    world.view.create_table()  # what a new release does on start
    assert "avail_busy_by_source" not in _indexes(world) and "avail_busy_by_source_hash" in _indexes(world)
    sources = _busy_sources(world)
    assert any("☕" in href for _, _, href, _ in sources)
    assert [h for *_, h in sources] == [availability_view.source_hash(*names) for *names, _ in sources]
    assert world.view.dump() == live

    assert Counter(href for _, _, href, _ in sources)["/cal/réunion ☕.ics"] > 1
    _import_as(world, "/cal/réunion ☕.ics", "no_dtend_timed.ics", '"r-2"')  # its old rows go
    schedule = world.import_files([])
    schedule.apply(CONNECTION, CalendarChanges(CALENDAR, [], [], ["/cal/weekly_exdate.ics"], "token-y", FETCHED))
    world.app.record(schedule)
    world.follower.catch_up()
    hrefs = Counter(href for _, _, href, _ in _busy_sources(world))
    assert "/cal/weekly_exdate.ics" not in hrefs
    assert hrefs["/cal/réunion ☕.ics"] == 1 and hrefs["/cal/all_day_multi_day.ics"] > 0


def test_sources_that_share_a_hash_keep_their_own_rows(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(availability_view, "source_hash", lambda *names: 7)
    world.configure()
    world.import_files(["weekly_exdate.ics", "all_day_multi_day.ics", "dst_event.ics"])
    world.follower.catch_up()
    before = Counter(href for _, _, href, _ in _busy_sources(world))
    assert {h for *_, h in _busy_sources(world)} == {7} and len(before) == 3
    _import_as(world, "/cal/weekly_exdate.ics", "weekly_exdate.ics", '"w-2"')  # replaced: the same rows again
    schedule = world.import_files([])
    schedule.apply(CONNECTION, CalendarChanges(CALENDAR, [], [], ["/cal/dst_event.ics"], "token-y", FETCHED))
    world.app.record(schedule)
    world.follower.catch_up()
    assert Counter(href for _, _, href, _ in _busy_sources(world)) == {
        k: v for k, v in before.items() if k != "/cal/dst_event.ics"
    }


def test_a_model_made_with_the_full_end_index_gets_the_partial_one(world: World) -> None:
    """Only long occurrences are found by their end: a model made when every row
    was indexed by its end loses that index on start, and long events are still found."""
    table = world.view.table_prefix() + "avail_busy"
    with world.view.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {world.view.table_prefix()}avail_busy_long_by_end")
        cursor.execute(f"CREATE INDEX avail_busy_by_end ON {table} (user_key, long_span, end_at)")
    world.view.create_table()  # what a new release does on start
    assert "avail_busy_by_end" not in _indexes(world)
    assert "avail_busy_long_by_end" in _indexes(world)
    world.configure()
    world.import_files(["all_day_multi_day.ics"])
    world.follower.catch_up()
    [row] = world.view.busy(world.user_key(), _epoch(2000, 1, 1), _epoch(2100, 1, 1))
    middle = row.start + (row.end - row.start) // 2
    assert [(r.start, r.end) for r in world.view.busy(world.user_key(), middle, middle + 60)] == [(row.start, row.end)]


def test_batches_are_written_without_a_sync_at_every_commit(world: World) -> None:
    """SQLite: the model's file is synced at WAL checkpoints (synchronous=NORMAL),
    not at each batch; a lost batch is projected again with its position."""
    if world.view.dialect != "sqlite":
        pytest.skip("a SQLite setting")
    world.configure()
    world.follower.catch_up()
    with world.view._write_transaction() as cursor:
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 1  # NORMAL
        cursor.execute("PRAGMA cache_size")
        assert cursor.fetchone()[0] == -64 * 1024  # KiB: index pages of many users stay in memory


def test_a_series_written_twice_in_one_batch_keeps_the_last(world: World) -> None:
    """Series rows are buffered and sent together (on PostgreSQL through a staging
    table and one upsert, which cannot take a key twice): the later write wins,
    within a send and across sends, and a series known before is updated."""
    world.configure()
    world.import_files(["weekly_exdate.ics"])
    world.follower.catch_up()
    known = world.view.series(world.user_key(), CALENDAR, "/cal/weekly_exdate.ics")
    assert known is not None
    values = [getattr(known, f.name) for f in fields(SeriesRow)]
    summary = values.index(known.summary)
    position = world.view.max_tracking_id(world.app.name)

    def write(writer: Any) -> None:
        for text in ("first", "second"):
            writer.put_series_values(tuple(values[:summary] + [text] + values[summary + 1 :]), [], False)
        writer.flush()
        writer.put_series_values(tuple(values[:2] + ["/cal/new.ics"] + values[3:summary] + ["third"] + values[summary + 1 :]), [], False)
        writer.put_series_values(tuple(values[:2] + ["/cal/new.ics"] + values[3:summary] + ["fourth"] + values[summary + 1 :]), [], False)

    world.view.write_batch(Tracking(world.app.name, position + 1), write, position)
    assert world.view.series(world.user_key(), CALENDAR, "/cal/weekly_exdate.ics").summary == "second"
    assert world.view.series(world.user_key(), CALENDAR, "/cal/new.ics").summary == "fourth"
    assert len(world.view.dump()["avail_series"]) == 2


def test_a_rebuild_that_writes_a_series_again_updates_it(world: World) -> None:
    """While an emptied model is filled, a series not written yet goes in by plain
    COPY (PostgreSQL); one written before in the same fill is upserted."""
    world.configure()
    world.import_files(["weekly_exdate.ics"])
    world.follower.catch_up()
    known = world.view.series(world.user_key(), CALENDAR, "/cal/weekly_exdate.ics")
    values = [getattr(known, f.name) for f in fields(SeriesRow)]
    summary = values.index(known.summary)

    def put(text: str) -> Any:
        return lambda writer: writer.put_series_values(tuple(values[:summary] + [text] + values[summary + 1 :]), [], False)

    with world.view.rebuilding():
        world.view.write_batch(Tracking(world.app.name, 1), put("first"), 0)
        world.view.write_batch(Tracking(world.app.name, 2), put("second"), 1)
    assert world.view.series(world.user_key(), CALENDAR, "/cal/weekly_exdate.ics").summary == "second"
    assert len(world.view.dump()["avail_series"]) == 1


def test_rows_sent_from_the_rebuilds_sender_thread_are_all_or_nothing(world: World) -> None:
    """In a rebuild a thread sends buffered rows while the batch goes on. A batch
    that fails after a send, or whose send fails, leaves nothing written."""
    world.configure()
    world.import_files(["weekly_exdate.ics"])
    world.follower.catch_up()
    known = world.view.series(world.user_key(), CALENDAR, "/cal/weekly_exdate.ics")
    values = tuple(getattr(known, f.name) for f in fields(SeriesRow))
    world.view.drop()
    empty = world.view.dump()
    senders: list[str] = []

    def fails_after_a_send(writer: Any) -> None:
        writer.put_series_values(values, [], False)
        writer.flush()  # handed to the sender
        senders.append(writer._sending is not None and "sender")
        raise RuntimeError("the batch failed")

    def sends_a_bad_row(writer: Any) -> None:
        writer.put_series_values(values[:-1], [], False)  # a column short
        writer.flush()

    with world.view.rebuilding():
        with pytest.raises(RuntimeError, match="the batch failed"):
            world.view.write_batch(Tracking(world.app.name, 1), fails_after_a_send, 0)
        with pytest.raises(Exception) as failed:
            world.view.write_batch(Tracking(world.app.name, 1), sends_a_bad_row, 0)
        assert not isinstance(failed.value, AssertionError)
        assert world.view.dump() == empty and not world.view.max_tracking_id(world.app.name)
        world.view.write_batch(Tracking(world.app.name, 1), lambda writer: writer.put_series_values(values, [], False), 0)
    assert senders == ["sender"]
    assert world.view.dump()["avail_series"] != empty["avail_series"]


def test_the_staging_table_is_emptied_after_each_use(world: World) -> None:
    """PostgreSQL: series upserts go through a temporary table, which autovacuum
    never visits; emptied by TRUNCATE, it keeps no pages between uses."""
    if world.view.dialect != "postgres":
        pytest.skip("a PostgreSQL table")
    world.configure()
    world.import_files(["weekly_exdate.ics"])
    world.follower.catch_up()
    known = world.view.series(world.user_key(), CALENDAR, "/cal/weekly_exdate.ics")
    values = tuple(getattr(known, f.name) for f in fields(SeriesRow))
    sizes = []

    def write(writer: Any) -> None:
        for _ in range(3):
            writer.put_series_values(values, [], False)
            writer.flush()
            sizes.extend(writer._query("SELECT pg_relation_size('avail_series_staged') AS size", {}))

    position = world.view.max_tracking_id(world.app.name)
    world.view.write_batch(Tracking(world.app.name, position + 1), write, position)
    assert [row["size"] for row in sizes] == [0, 0, 0]


@pytest.mark.parametrize("with_indexes", [False, True])
def test_a_drop_that_cannot_have_the_tables_soon_gives_up(
    world: World, monkeypatch: pytest.MonkeyPatch, with_indexes: bool
) -> None:
    """PostgreSQL: TRUNCATE waits for a reader that holds a table (and queries queue
    behind it); past the lock timeout the drop fails and the model is as it was,
    its indexes too where the drop was to drop them (a rebuild's)."""
    if world.view.dialect != "postgres":
        pytest.skip("a PostgreSQL lock")
    world.configure()
    world.import_files(["weekly_exdate.ics"])
    world.follower.catch_up()
    before, indexes = world.view.dump(), _indexes(world)
    monkeypatch.setattr(availability_view, "_DROP_LOCK_TIMEOUT", "200ms")
    failures: list[Exception] = []

    def drop() -> None:
        try:
            if with_indexes:
                with world.view.rebuilding():
                    raise AssertionError("the model was dropped")
            else:
                world.view.drop()
        except Exception as error:  # noqa: BLE001 - what the test looks at
            failures.append(error)

    with psycopg.connect(POSTGRES_URL) as reader:  # a transaction still open on the table
        reader.execute(f'SELECT count(*) FROM "{world.view.datastore.schema}".avail_busy')
        dropping = threading.Thread(target=drop)
        dropping.start()
        dropping.join(30)
        assert not dropping.is_alive(), "the drop still waits for the table"
    assert len(failures) == 1 and "lock timeout" in str(failures[0])
    assert world.view.dump() == before and _indexes(world) == indexes


def _page_size(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA page_size").fetchone()[0])


def test_a_new_models_file_has_large_pages_and_an_older_one_keeps_its_own(tmp_path: Path) -> None:
    """SQLite: a view's file is made with 8 KiB pages (a rebuild writes a model in
    far less time with them); a file made before keeps its page size (fixed once a
    database is in WAL mode) and is used as it is."""
    with settings_for("sqlite", tmp_path / "new") as settings:
        view = build_availability_view(settings)
        assert _page_size(settings.data_dir / "availability.sqlite") == VIEW_PAGE_SIZE != 4096
        assert view.dump()["avail_busy"] == []
    with settings_for("sqlite", tmp_path / "old") as settings:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(settings.data_dir / "availability.sqlite") as db:
            db.execute("PRAGMA page_size = 4096")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("CREATE TABLE made_before (x)")
        app = CalendarIntegration(env=application_env(settings))
        try:
            world = World(app, settings, ProjectionFollower(app, AvailabilityProjection(build_availability_view(settings), expand_series)))
            world.configure()
            world.import_files(["weekly_exdate.ics"])
            world.follower.catch_up()
            assert world.view.busy(world.user_key(), _epoch(2026, 1, 1), _epoch(2026, 3, 1))
            assert _page_size(settings.data_dir / "availability.sqlite") == 4096
        finally:
            app.close()


def test_a_drop_leaves_freed_pages_as_they_are_and_the_setting_as_it_was(world: World) -> None:
    """SQLite: secure_delete (on in some builds) zeroes every page a drop frees,
    most of a drop's time; a drop turns it off for itself only (each row dropped
    is made again from the log)."""
    if world.view.dialect != "sqlite":
        pytest.skip("a SQLite setting")
    world.configure()
    world.import_files(["weekly_exdate.ics"])
    world.follower.catch_up()
    for setting, reads in ((1, 1), (0, 0), ("FAST", 2), (1, 1)):
        with world.view._write_transaction() as cursor:
            cursor.execute(f"PRAGMA secure_delete={setting}")
        with world.view._drop_transaction() as cursor:
            cursor.execute("PRAGMA secure_delete")
            assert cursor.fetchone()[0] == 0
        world.view.drop()
        assert world.view.dump()["avail_busy"] == []
        with world.view._write_transaction() as cursor:
            cursor.execute("PRAGMA secure_delete")
            assert cursor.fetchone()[0] == reads


def test_a_rebuild_builds_the_query_indexes_at_the_end(world: World) -> None:
    """Dropped, with the model emptied, before the rows go in; built after."""
    world.configure()
    world.import_files(["weekly_exdate.ics", "all_day_multi_day.ics"])
    world.follower.catch_up()
    live, indexes = world.view.dump(), _indexes(world)
    with world.view.rebuilding():
        assert {"avail_busy_by_start", "avail_busy_long_by_end"}.isdisjoint(_indexes(world))
        assert "avail_busy_by_source_hash" in _indexes(world)  # writes find a series' rows by it
        assert all(rows == [] for rows in world.view.dump().values())
        assert world.view.max_tracking_id(world.app.name) in (None, 0)
        world.new_follower().catch_up()
    assert _indexes(world) == indexes
    assert world.view.dump() == live


def test_a_model_left_without_its_query_indexes_gets_them_back(world: World) -> None:
    indexes = _indexes(world)
    with pytest.raises(RuntimeError), world.view.rebuilding():
        raise RuntimeError("a rebuild that failed")
    assert _indexes(world) == indexes  # put back on the way out
    with world.view.datastore.transaction(commit=True) as cursor:  # a rebuild killed before its end
        for name in ("avail_busy_by_start", "avail_busy_long_by_end"):
            cursor.execute(f"DROP INDEX {world.view.table_prefix()}{name}")
    world.view.create_table()  # the next start
    assert _indexes(world) == indexes
