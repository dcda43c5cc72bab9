"""Calendar configuration, narrated against an in-memory event store."""

from __future__ import annotations

import pytest

from calendar_domain.application import CalendarIntegration
from calendar_domain.busy import AllDayPolicy
from calendar_domain.configuration import CalendarRef
from calendar_domain.configuration_service import ConfigurationService
from calendar_domain.connection import Connection
from calendar_domain.connection_service import ConnectAccount, ConnectionService
from calendar_domain.errors import CalendarNotWritable, InvalidValue, NotFound, ReconnectRequired
from calendar_domain.ports import DiscoveredCalendar
from tests.unit.fakes import FakeDiscovery, FakeVault

PASSWORD = "abcd-efgh-ijkl-mnop"


class World:
    def __init__(self) -> None:
        self.app = CalendarIntegration()
        self.discovery = FakeDiscovery()
        self.connections = ConnectionService(self.app, self.discovery, FakeVault())
        self.configurations = ConfigurationService(self.app)

    def connect(self, sub: str = "loc-1", user: str = "u1", apple_id: str = "ann@example.com") -> Connection:
        self.discovery.add(apple_id, PASSWORD, "/ann/home/", "/ann/work/")
        self.discovery.accounts[apple_id][1].append(
            DiscoveredCalendar(href="/ann/shared/", display_name="Shared", color="", writable=False)
        )
        return self.connections.connect(ConnectAccount(sub, user, apple_id, PASSWORD)).connection

    def event_names(self) -> list[str]:
        return [n.topic.rsplit(".", 1)[-1] for n in self.app.recorder.select_notifications(start=1, limit=100)]


def calendar(connection: Connection, name: str) -> str:
    return next(c.calendar_id for c in connection.calendars.values() if c.display_name == name)


@pytest.fixture
def world() -> World:
    return World()


def test_the_primary_counts_as_a_conflict_calendar(world: World) -> None:
    connection = world.connect()
    home, work = calendar(connection, "home"), calendar(connection, "work")
    world.configurations.set_primary("loc-1", "u1", str(connection.id), home)
    world.configurations.add_conflict("loc-1", "u1", str(connection.id), work)
    configuration = world.configurations.get("loc-1", "u1")
    assert configuration.primary == CalendarRef(str(connection.id), home)
    assert configuration.blocking_calendars() == sorted(
        [CalendarRef(str(connection.id), home), CalendarRef(str(connection.id), work)]
    )
    assert world.event_names()[-3:] == ["Started", "PrimarySet", "ConflictAdded"]


def test_adding_the_same_conflict_twice_records_one_event(world: World) -> None:
    connection = world.connect()
    work = calendar(connection, "work")
    world.configurations.add_conflict("loc-1", "u1", str(connection.id), work)
    head = world.app.head_position()
    world.configurations.add_conflict("loc-1", "u1", str(connection.id), work)
    assert world.app.head_position() == head


def test_a_read_only_calendar_cannot_be_the_primary_but_can_block(world: World) -> None:
    connection = world.connect()
    shared = calendar(connection, "Shared")
    with pytest.raises(CalendarNotWritable):
        world.configurations.set_primary("loc-1", "u1", str(connection.id), shared)
    world.configurations.add_conflict("loc-1", "u1", str(connection.id), shared)
    assert len(world.configurations.get("loc-1", "u1").conflicts) == 1


def test_a_calendar_of_another_user_or_sub_account_is_not_found(world: World) -> None:
    connection = world.connect(user="u1")
    home = calendar(connection, "home")
    with pytest.raises(NotFound):
        world.configurations.set_primary("loc-1", "u2", str(connection.id), home)
    with pytest.raises(NotFound):
        world.configurations.add_conflict("loc-2", "u1", str(connection.id), home)
    with pytest.raises(NotFound):
        world.configurations.add_conflict("loc-1", "u1", str(connection.id), "00000000-0000-0000-0000-000000000000")


def test_disconnecting_removes_the_connections_calendars_as_recorded_events(world: World) -> None:
    connection = world.connect()
    home, work = calendar(connection, "home"), calendar(connection, "work")
    world.configurations.set_primary("loc-1", "u1", str(connection.id), home)
    world.configurations.add_conflict("loc-1", "u1", str(connection.id), work)
    world.connections.disconnect("loc-1", str(connection.id))
    configuration = world.configurations.get("loc-1", "u1")
    assert configuration.primary is None and configuration.conflicts == set()
    assert world.event_names()[-4:] == ["Disconnected", "Unlinked", "PrimaryCleared", "ConflictRemoved"]


def test_a_calendar_deleted_in_icloud_leaves_the_configuration_on_refresh(world: World) -> None:
    connection = world.connect()
    work = calendar(connection, "work")
    world.configurations.add_conflict("loc-1", "u1", str(connection.id), work)
    world.discovery.add("ann@example.com", PASSWORD, "/ann/home/")
    world.connections.refresh_calendars("loc-1", str(connection.id))
    assert world.configurations.get("loc-1", "u1").conflicts == set()
    assert world.event_names()[-2:] == ["CalendarsDiscovered", "ConflictRemoved"]


def test_a_connection_needing_reconnection_cannot_be_configured(world: World) -> None:
    connection = world.connect()
    fresh = world.connections.get("loc-1", str(connection.id))
    fresh.require_reconnect("401")
    world.app.record(fresh)
    with pytest.raises(ReconnectRequired):
        world.configurations.add_conflict("loc-1", "u1", str(connection.id), calendar(connection, "home"))


def test_reading_rules_are_checked_and_recorded(world: World) -> None:
    world.configurations.set_reading_rules("loc-1", "u1", all_day_policy="always_busy", time_zone="Europe/Berlin")
    configuration = world.configurations.get("loc-1", "u1")
    assert (configuration.all_day_policy, configuration.time_zone) == (AllDayPolicy.ALWAYS_BUSY, "Europe/Berlin")
    with pytest.raises(InvalidValue):
        world.configurations.set_reading_rules("loc-1", "u1", time_zone="Mars/Olympus")
    with pytest.raises(InvalidValue):
        world.configurations.set_reading_rules("loc-1", "u1", all_day_policy="sometimes")


def test_a_retried_change_with_the_same_request_id_records_nothing_new(world: World) -> None:
    connection = world.connect()
    home = calendar(connection, "home")
    world.configurations.set_primary("loc-1", "u1", str(connection.id), home, "r-1")
    world.configurations.clear_primary("loc-1", "u1", "r-2")
    head = world.app.head_position()
    world.configurations.set_primary("loc-1", "u1", str(connection.id), home, "r-1")
    assert world.app.head_position() == head
    assert world.configurations.get("loc-1", "u1").primary is None
