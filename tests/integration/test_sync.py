"""The sync contract: run against Radicale and Xandikos, on SQLite and PostgreSQL.

Changes are made on the server through plain CalDAV (PUT/DELETE); the blocked
slots the service imported are compared with what the server holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from calendar_domain.connection_service import ConnectAccount
from server.bootstrap import Container, bootstrap
from tests.support.caldav_servers import CalDAVTestServer
from tests.support.fixtures import new_account
from tests.support.stores import STORES, settings_for

EVENT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:{uid}\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260302T{hour:02d}0000Z\r
DTEND:20260302T{hour:02d}3000Z\r
SUMMARY:{summary}\r
END:VEVENT\r
END:VCALENDAR\r
"""


def event(uid: str, hour: int = 9, summary: str = "Meeting") -> str:
    return EVENT.format(uid=uid, hour=hour, summary=summary)


@dataclass
class World:
    server: CalDAVTestServer
    container: Container
    user: str
    password: str
    calendar_path: str
    connection_id: str
    sub_account_id: str = "loc-1"
    user_id: str = "u1"

    def put(self, name: str, body: str) -> str:
        self.server.put_ics(self.user, self.password, f"{self.calendar_path}{name}", body)
        return name

    def delete(self, name: str) -> None:
        self.server.delete(self.user, self.password, f"{self.calendar_path}{name}")

    def sync(self) -> object:
        connection = self.container.connections.get(self.sub_account_id, self.connection_id)
        return self.container.scheduler.sync_now(str(connection.account_id), wait=10)

    def imported(self) -> dict[str, tuple[str, str]]:
        """href -> (uid, etag) of the blocked slots in the user's schedule."""
        schedule = self.container.schedules.schedule(self.sub_account_id, self.user_id)
        return {
            href.rsplit("/", 1)[-1]: (k.uid, k.etag)
            for calendar_id in schedule.resources
            for href, k in schedule.known(calendar_id).items()
            if k.uid
        }

    def on_server(self) -> dict[str, str]:
        """name -> etag of every resource in the calendar, by a plain PROPFIND."""
        answer = self.server.request(
            "PROPFIND", self.calendar_path, (self.user, self.password),
            body=b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>',
            headers={"Depth": "1", "Content-Type": "application/xml"},
        )
        import xml.etree.ElementTree as ET

        found = {}
        for response in ET.fromstring(answer.content).findall("{DAV:}response"):
            href = response.findtext("{DAV:}href") or ""
            etag = response.findtext(".//{DAV:}getetag")
            if etag and not href.endswith("/"):
                found[requests.utils.unquote(href).rsplit("/", 1)[-1]] = etag
        return found


@contextmanager
def connected(caldav_server: CalDAVTestServer, store: str, tmp_path: Path, **settings_more: Any) -> Iterator[World]:
    """A service whose user has a new calendar on the server connected and blocking."""
    user, password = new_account(caldav_server)
    calendar_path = caldav_server.create_calendar(user, password, "home", "Home")
    with settings_for(
        store, tmp_path, caldav_url=caldav_server.base_url, caldav_timeout=10,
        caldav_verify_tls=caldav_server.verify_tls, sync_enabled=False, caldav_batch_size=3, **settings_more,
    ) as settings:
        container = bootstrap(settings)
        container.start()
        try:
            connection = container.connections.connect(ConnectAccount("loc-1", "u1", user, password)).connection
            home = connection.calendar_list()[0]
            container.configurations.add_conflict("loc-1", "u1", str(connection.id), home.calendar_id)
            yield World(caldav_server, container, user, password, calendar_path, str(connection.id))
        finally:
            container.close()


@pytest.fixture(params=STORES)
def world(request: pytest.FixtureRequest, caldav_server: CalDAVTestServer, tmp_path: Path) -> Iterator[World]:
    with connected(caldav_server, request.param, tmp_path) as made:
        yield made


def etags_of(world: World) -> dict[str, str]:
    return {name: etag for name, (_, etag) in world.imported().items()}


def test_a_first_sync_imports_every_event_on_the_server(world: World) -> None:
    for i in range(7):
        world.put(f"e{i}.ics", event(f"uid-{i}", hour=8 + i))
    report = world.sync()
    assert report.calendars_synced == 1 and not report.errors
    assert etags_of(world) == world.on_server()
    assert {uid for uid, _ in world.imported().values()} == {f"uid-{i}" for i in range(7)}


def test_changes_additions_and_deletions_on_the_server_reach_the_schedule(world: World) -> None:
    for i in range(4):
        world.put(f"e{i}.ics", event(f"uid-{i}"))
    world.sync()
    world.put("e1.ics", event("uid-1", hour=15, summary="Moved"))
    world.delete("e2.ics")
    world.put("e9.ics", event("uid-9"))
    world.sync()
    assert etags_of(world) == world.on_server()
    assert set(world.imported()) == {"e0.ics", "e1.ics", "e3.ics", "e9.ics"}


def test_a_sync_with_nothing_new_records_no_event(world: World) -> None:
    world.put("e0.ics", event("uid-0"))
    world.sync()
    head = world.container.app.head_position()
    world.sync()
    assert world.container.app.head_position() == head


def test_a_malformed_resource_is_skipped_with_its_reason_and_retried_when_it_changes(world: World) -> None:
    world.put("good.ics", event("uid-good"))
    # Both servers accept it; a TZID with no VTIMEZONE and no known zone cannot be placed in time.
    world.put("bad.ics", event("uid-bad").replace("DTSTART:20260302T090000Z", "DTSTART;TZID=Mars/Olympus:20260302T090000"))
    report = world.sync()
    assert report.calendars_synced == 1
    schedule = world.container.schedules.schedule("loc-1", "u1")
    skipped = {h.rsplit("/", 1)[-1]: k.skipped_reason for c in schedule.resources for h, k in schedule.known(c).items() if k.skipped_reason}
    assert list(skipped) == ["bad.ics"] and skipped["bad.ics"]
    assert set(world.imported()) == {"good.ics"}
    world.put("bad.ics", event("uid-bad"))
    world.sync()
    assert set(world.imported()) == {"good.ics", "bad.ics"}


def test_a_calendar_removed_from_the_configuration_stops_blocking(world: World) -> None:
    world.put("e0.ics", event("uid-0"))
    world.sync()
    connection = world.container.connections.get("loc-1", world.connection_id)
    calendar_id = connection.calendar_list()[0].calendar_id
    world.container.configurations.remove_conflict("loc-1", "u1", world.connection_id, calendar_id)
    assert world.imported() == {}


def test_a_first_sync_parsed_by_worker_processes_imports_what_parsing_in_place_does(
    caldav_server: CalDAVTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.icloud import parse_pool

    monkeypatch.setattr(parse_pool, "POOL_MINIMUM", 1)  # the pool even for a handful
    with connected(caldav_server, "sqlite", tmp_path, parse_processes=2) as world:
        for i in range(parse_pool.CHUNK + 5):  # more than one chunk
            world.put(f"e{i}.ics", event(f"uid-{i}", hour=8 + i % 10))
        world.put("bad.ics", event("uid-bad").replace("DTSTART:20260302T090000Z", "DTSTART;TZID=Mars/Olympus:20260302T090000"))
        report = world.sync()
        assert report.calendars_synced == 1 and not report.errors
        assert world.container.parser.worker_pids()  # parsed elsewhere
        on_server = world.on_server()
        assert etags_of(world) == {name: etag for name, etag in on_server.items() if name != "bad.ics"}
        schedule = world.container.schedules.schedule("loc-1", "u1")
        skipped = [h for c in schedule.resources for h, k in schedule.known(c).items() if k.skipped_reason]
        assert [h.rsplit("/", 1)[-1] for h in skipped] == ["bad.ics"]
    assert world.container.parser.worker_pids() == []  # closed with the service
