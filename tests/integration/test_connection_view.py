"""The connections read model: one contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.persistence.follower import ProjectionFollower
from calendar_domain.application import CalendarIntegration
from calendar_domain.connection import ConnectedCalendar, Connection, ConnectionStatus
from calendar_domain.connection_projection import ConnectionsProjection
from server.bootstrap import application_env, build_connection_view
from tests.support.stores import STORES, settings_for


@pytest.fixture(params=STORES)
def log_and_view(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[CalendarIntegration, ProjectionFollower]]:
    with settings_for(request.param, tmp_path) as settings:
        app = CalendarIntegration(env=application_env(settings))
        follower = ProjectionFollower(app, ConnectionsProjection(build_connection_view(settings)))
        follower.catch_up()
        try:
            yield app, follower
        finally:
            app.close()


def connection(sub: str, user: str) -> Connection:
    made = Connection(
        sub_account_id=sub,
        user_id=user,
        apple_id=f"{user}@example.com",
        account_id=uuid.uuid4(),
        credential_ref="ref",
        request_id="",
    )
    made.discover_calendars(
        [
            ConnectedCalendar("c2", "/w/", "Work", "#00FF00", False),
            ConnectedCalendar("c1", "/h/", "Home", "#FF0000", True),
        ]
    )
    return made


def test_a_connection_appears_with_its_calendars_in_name_order(log_and_view) -> None:
    app, follower = log_and_view
    made = connection("loc-1", "u1")
    app.record(made)
    follower.catch_up()
    view = follower._view
    record = view.get_connection("loc-1", str(made.id))
    assert record is not None
    assert (record.user_id, record.calendar_count, record.status) == ("u1", 2, ConnectionStatus.ACTIVE)
    assert record.version == made.version
    calendars = [c for _, c in view.list_calendars(str(made.id), 0, 10)]
    assert [(c.display_name, c.writable, c.color) for c in calendars] == [
        ("Home", True, "#FF0000"),
        ("Work", False, "#00FF00"),
    ]
    assert view.get_connection("loc-2", str(made.id)) is None


def test_listing_filters_by_user_hides_disconnected_and_pages_in_creation_order(log_and_view) -> None:
    app, follower = log_and_view
    made = [connection("loc-1", user) for user in ("u1", "u2", "u1", "u1")]
    for m in made:
        app.record(m)
    made[2].disconnect()
    app.record(made[2])
    follower.catch_up()
    view = follower._view
    active = view.list_connections("loc-1", "u1", False, 0, 10)
    assert [r.connection_id for r in active] == [str(made[0].id), str(made[3].id)]
    everything = view.list_connections("loc-1", "", True, 0, 10)
    assert len(everything) == 4
    first_page = view.list_connections("loc-1", "", True, 0, 2)
    second_page = view.list_connections("loc-1", "", True, first_page[-1].created_position, 2)
    assert [r.connection_id for r in first_page + second_page] == [r.connection_id for r in everything]
    disconnected = view.get_connection("loc-1", str(made[2].id))
    assert disconnected is not None and disconnected.status is ConnectionStatus.DISCONNECTED


def test_the_view_records_each_event_exactly_once_and_resumes_where_it_stopped(log_and_view) -> None:
    app, follower = log_and_view
    first = connection("loc-1", "u1")
    app.record(first)
    position = follower.catch_up()
    assert follower._view.max_tracking_id(app.name) == position
    again = ProjectionFollower(app, ConnectionsProjection(follower._view))
    again.start()
    try:
        second = connection("loc-1", "u2")
        later = app.record(second)
        assert again.wait_for(later, timeout=10)
    finally:
        again.stop()
    assert len(follower._view.list_connections("loc-1", "", True, 0, 10)) == 2


def test_the_view_is_current_up_to_the_head_even_when_the_last_events_are_not_its_own(log_and_view) -> None:
    from calendar_domain.schedule import UserSchedule

    app, follower = log_and_view
    app.record(connection("loc-1", "u1"))
    position = app.record(UserSchedule("loc-1", "u1"))  # not a connection event
    assert follower.catch_up() == position
    follower.start()
    try:
        later = app.record(UserSchedule("loc-1", "u2"))
        assert follower.wait_for(later, timeout=10)
    finally:
        follower.stop()
