"""Followers of projections that take events one at a time (connections, the push
queue) write each batch they read in one transaction, on both stores: all of it
or none of it, exactly once when another process follows into the same view."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from prometheus_client import REGISTRY

from adapters.persistence.follower import ProjectionFollower
from adapters.persistence.push_queue import PushQueueProjection
from calendar_domain.application import CalendarIntegration
from calendar_domain.bookings import AppointmentDetails
from calendar_domain.connection_projection import ConnectionsProjection
from calendar_domain.schedule import UserSchedule
from server.bootstrap import application_env, build_connection_view, build_push_queue
from server.config import Settings
from tests.integration.test_connection_view import connection
from tests.support.stores import STORES, settings_for
from tests.support.waiting import wait_for

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class World:
    app: CalendarIntegration
    settings: Settings
    views: list[Any]

    def view(self, build: Callable[[Settings], Any]) -> Any:
        """A view as a process builds it (several may share one database)."""
        view = build(self.settings)
        self.views.append(view)
        return view


@pytest.fixture(params=STORES)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with settings_for(request.param, tmp_path / "data") as settings:
        made = World(CalendarIntegration(env=application_env(settings)), settings, [])
        try:
            yield made
        finally:
            for view in made.views:
                view.reader.close()
                view.datastore.close()
            made.app.close()


def count_commits(view: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Notes each write transaction the view's database begins."""
    commits: list[int] = []
    transaction = view.datastore.transaction

    def counted(*, commit: bool) -> AbstractContextManager[Any]:
        if commit:
            commits.append(1)
        return transaction(commit=commit)

    monkeypatch.setattr(view.datastore, "transaction", counted)
    return commits


def book(app: CalendarIntegration, count: int, user: str = "u1") -> UserSchedule:
    schedule = UserSchedule("loc-1", user)
    for n in range(count):
        start = START + timedelta(hours=n)
        schedule.book(f"a-{n}", start, start + timedelta(minutes=30), AppointmentDetails(f"Client {n}"), {}, [])
    app.save(schedule)
    return schedule


def test_catching_up_writes_each_batch_of_connection_events_in_one_transaction(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = [connection("loc-1", f"u{n}") for n in range(300)]  # Connected, CalendarsDiscovered each
    world.app.save(*made)
    view = world.view(build_connection_view)
    commits = count_commits(view, monkeypatch)
    follower = ProjectionFollower(world.app, ConnectionsProjection(view), batch_size=250)
    assert follower.catch_up() == world.app.head_position() == 600
    assert len(commits) == 600 // 250 + 1  # two full batches and the rest
    assert view.max_tracking_id(world.app.name) == 600
    listed = view.list_connections("loc-1", "", True, 0, 1000)
    assert {c.connection_id for c in listed} == {str(c.id) for c in made}
    assert {c.calendar_count for c in listed} == {2}


def test_catching_up_queues_every_booking_in_one_transaction_per_batch(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    book(world.app, 300)
    queue = world.view(build_push_queue)
    commits = count_commits(queue, monkeypatch)
    written_before = REGISTRY.get_sample_value("calsync_follower_events_total", {"projection": "push_queue"}) or 0
    follower = ProjectionFollower(world.app, PushQueueProjection(queue))
    caplog.set_level(logging.INFO, logger="adapters.persistence.follower")
    follower.start()
    try:
        assert follower.wait_for(world.app.head_position(), 30)
    finally:
        follower.stop()
    assert len(commits) == 1 and queue.pending() == 300
    assert queue.max_tracking_id(world.app.name) == world.app.head_position()
    # the operator sees when it caught up, and counts what it wrote
    wait_for(lambda: [r for r in caplog.records if getattr(r, "event", "") == "projection.caught_up"], "the line")
    written = REGISTRY.get_sample_value("calsync_follower_events_total", {"projection": "push_queue"}) or 0
    assert written - written_before == 300


def test_a_batch_that_fails_part_way_writes_nothing(world: World) -> None:
    class Failing(PushQueueProjection):
        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            if getattr(domain_event, "appointment_id", "") == "a-7":
                raise RuntimeError("the seventh booking cannot be queued")
            super().process_event(domain_event, tracking)

    book(world.app, 20)
    queue = world.view(build_push_queue)
    with pytest.raises(RuntimeError, match="seventh"):
        ProjectionFollower(world.app, Failing(queue)).catch_up()
    assert queue.pending() == 0 and not queue.max_tracking_id(world.app.name)
    assert ProjectionFollower(world.app, PushQueueProjection(queue)).catch_up() == world.app.head_position()
    assert queue.pending() == 20


def test_a_follower_behind_another_process_skips_what_it_wrote(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    book(world.app, 30)
    mine, theirs = world.view(build_push_queue), world.view(build_push_queue)  # two processes
    behind = ProjectionFollower(world.app, PushQueueProjection(mine))
    behind.start(run=False)  # reads where the view is: nothing yet
    behind.stop()
    ahead = ProjectionFollower(world.app, PushQueueProjection(theirs))
    assert ahead.catch_up() == world.app.head_position()
    [pushed] = theirs.claim(1, lease_seconds=60)
    theirs.done(pushed, pushed.revision)  # pushed and gone before the other catches up
    book(world.app, 5, user="u2")
    with caplog.at_level(logging.INFO, logger="adapters.persistence.follower"):
        assert behind.catch_up() == world.app.head_position()
    assert mine.pending() == 29 + 5  # the pushed one not queued again, the new ones once
    assert any(getattr(r, "event", "") == "projection.behind_another_process" for r in caplog.records)
