"""Sync under faults, against real CalDAV servers behind a fault-injecting proxy:
nothing already imported is lost, and the state converges once the fault ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.icloud.sync_worker import AccountSyncReport
from calendar_domain.connection import ConnectionStatus
from calendar_domain.connection_service import ConnectAccount
from server.bootstrap import Container, bootstrap
from tests.integration.test_sync import event
from tests.support.caldav_servers import CalDAVTestServer
from tests.support.fault_proxy import FaultProxy, Match
from tests.support.fixtures import new_account
from tests.support.proxy_plumbing import RequestInfo
from tests.support.stores import settings_for
from tests.support.waiting import wait_for

SYNC_REPORT = Match(method="REPORT", body="sync-collection")
MULTIGET = Match(method="REPORT", body="calendar-multiget")
HOME_CTAGS = Match(method="PROPFIND", body="getctag")  # each poll's one PROPFIND of the calendar home


@dataclass
class Faulty:
    server: CalDAVTestServer
    proxy: FaultProxy
    container: Container
    user: str
    password: str
    calendar_path: str
    connection_id: str
    account_id: str

    def put(self, name: str, uid: str, hour: int = 9) -> None:
        self.server.put_ics(self.user, self.password, f"{self.calendar_path}{name}", event(uid, hour))

    def delete(self, name: str) -> None:
        self.server.delete(self.user, self.password, f"{self.calendar_path}{name}")

    def sync(self) -> AccountSyncReport:
        return self.container.scheduler.sync_now(self.account_id, wait=10)

    def uids(self, sub: str = "loc-1") -> set[str]:
        schedule = self.container.schedules.schedule(sub, "u1")
        return {k.uid for c in schedule.resources for k in schedule.known(c).values() if k.uid}

    def status(self) -> ConnectionStatus:
        return self.container.connections.get("loc-1", self.connection_id).status


def faulty_world(server: CalDAVTestServer, tmp_path: Path, timeout: float = 10) -> Iterator[Faulty]:
    user, password = new_account(server)
    calendar_path = server.create_calendar(user, password, "home", "Home")
    with FaultProxy.for_server(server) as proxy:
        with settings_for(
            "sqlite", tmp_path, caldav_url=proxy.url, caldav_timeout=timeout, sync_enabled=False, caldav_batch_size=2
        ) as settings:
            container = bootstrap(settings)
            container.start()
            try:
                connection = container.connections.connect(ConnectAccount("loc-1", "u1", user, password)).connection
                home = connection.calendar_list()[0]
                container.configurations.add_conflict("loc-1", "u1", str(connection.id), home.calendar_id)
                yield Faulty(server, proxy, container, user, password, calendar_path, str(connection.id), str(connection.account_id))
            finally:
                container.close()


@pytest.fixture
def faulty(caldav_server: CalDAVTestServer, tmp_path: Path) -> Iterator[Faulty]:
    yield from faulty_world(caldav_server, tmp_path)


def test_a_401_after_working_requires_reconnection_and_keeps_the_slots(faulty: Faulty) -> None:
    faulty.put("a.ics", "uid-a")
    faulty.sync()
    faulty.proxy.fail_with(401)  # Apple revoked the app-specific password
    report = faulty.sync()
    assert report.reconnect_required == [faulty.connection_id]
    assert faulty.status() is ConnectionStatus.RECONNECT_REQUIRED
    assert faulty.uids() == {"uid-a"}, "the last known slots still block"
    names = [n.topic.rsplit(".", 1)[-1] for n in faulty.container.app.recorder.select_notifications(1, 1000)]
    assert names.count("ReconnectRequired") == 1
    faulty.proxy.clear()
    faulty.put("b.ics", "uid-b")
    faulty.container.connections.replace_credentials("loc-1", faulty.connection_id, faulty.password)
    faulty.sync()
    assert faulty.uids() == {"uid-a", "uid-b"}


def test_a_503_with_retry_after_backs_off_as_asked_and_then_converges(faulty: Faulty) -> None:
    faulty.put("a.ics", "uid-a")
    faulty.sync()
    faulty.put("b.ics", "uid-b")
    faulty.proxy.fail_with(503, headers={"Retry-After": "120"}, match=SYNC_REPORT)
    before = time.time()
    report = faulty.sync()
    assert report.throttled_for == 120.0 and report.calendars_failed == 1
    next_due, leased_until = faulty.container.sync_state.lease_of(faulty.account_id)
    assert before + 120 <= next_due <= time.time() + 120 * 1.2 + 1 and leased_until == 0
    health = faulty.container.sync_state.health(faulty.account_id)
    assert [h.consecutive_failures for h in health.values()] == [1]
    assert faulty.uids() == {"uid-a"}
    faulty.proxy.clear()
    faulty.sync()
    assert faulty.uids() == {"uid-a", "uid-b"}
    assert [h.consecutive_failures for h in faulty.container.sync_state.health(faulty.account_id).values()] == [0]


def test_a_refused_sync_token_falls_back_to_a_full_listing_that_finds_deletions(faulty: Faulty) -> None:
    for name in ("a", "b", "c"):
        faulty.put(f"{name}.ics", f"uid-{name}")
    faulty.sync()
    faulty.delete("b.ics")
    faulty.put("d.ics", "uid-d")
    style = "xandikos" if faulty.server.name == "xandikos" else "radicale"
    faulty.proxy.refuse_sync_token(style, times=1)
    faulty.proxy.reset_log()
    faulty.sync()
    assert faulty.uids() == {"uid-a", "uid-c", "uid-d"}
    tokens = [r for r in faulty.proxy.requests if SYNC_REPORT(r)]
    assert [r.status for r in tokens] in ([403, 207], [412, 207])
    faulty.sync()  # and the new token works again
    assert faulty.uids() == {"uid-a", "uid-c", "uid-d"}


def test_an_icloud_style_412_refusal_is_also_understood(faulty: Faulty) -> None:
    faulty.put("a.ics", "uid-a")
    faulty.sync()
    faulty.delete("a.ics")
    faulty.proxy.refuse_sync_token("icloud", times=1)
    faulty.sync()
    assert faulty.uids() == set()


def test_changes_are_fetched_by_multiget_in_batches_never_one_get_each(faulty: Faulty) -> None:
    faulty.put("first.ics", "uid-first")
    faulty.sync()
    for i in range(5):
        faulty.put(f"e{i}.ics", f"uid-{i}")
    faulty.proxy.reset_log()
    faulty.sync()
    assert faulty.proxy.count("GET") == 0
    assert faulty.proxy.count(match=MULTIGET) == 3  # batches of 2
    faulty.put("e1.ics", "uid-1", hour=14)
    faulty.proxy.reset_log()
    faulty.sync()
    # the home's PROPFIND (ctags), the sync-collection, one multiget
    assert [r.method for r in faulty.proxy.requests] == ["PROPFIND", "REPORT", "REPORT"]
    assert len(faulty.uids()) == 6


# Whether the server sends calendar-data in a sync-collection reply when asked
# (RFC 6578 allows any property): Radicale does, Xandikos does not.
SENDS_DATA_WITH_LISTING = {"radicale": True, "xandikos": False}


def test_a_first_sync_takes_the_data_the_listing_brings_and_fetches_the_rest(faulty: Faulty) -> None:
    for i in range(5):
        faulty.put(f"e{i}.ics", f"uid-{i}")
    faulty.proxy.reset_log()
    faulty.sync()
    listings = [r for r in faulty.proxy.requests if "sync-collection" in r.body.decode()]
    assert len(listings) == 1 and "calendar-data" in listings[0].body.decode()
    if SENDS_DATA_WITH_LISTING[faulty.server.name]:
        assert faulty.proxy.count("REPORT") == 1  # the listing: each member crossed the wire once
    else:
        assert faulty.proxy.count(match=MULTIGET) == 3  # listed without data: fetched in batches of 2
    assert faulty.uids() == {f"uid-{i}" for i in range(5)}
    # Later listings are of etags only: known members are not sent again.
    faulty.put("e9.ics", "uid-9")
    faulty.proxy.refuse_sync_token(faulty.server.name, times=1)
    faulty.proxy.reset_log()
    faulty.sync()
    assert not any("calendar-data" in r.body.decode() for r in faulty.proxy.requests if "sync-collection" in r.body.decode())
    assert faulty.proxy.count(match=MULTIGET) == 1
    assert faulty.uids() == {*(f"uid-{i}" for i in range(5)), "uid-9"}


def test_a_listing_with_data_the_server_cannot_give_falls_back_to_etags_and_multiget(faulty: Faulty) -> None:
    for i in range(5):
        faulty.put(f"e{i}.ics", f"uid-{i}")
    with_data = Match(method="REPORT", body="calendar-data")  # the multiget's body says so too

    def listing_with_data(request: RequestInfo) -> bool:
        return b"sync-collection" in request.body and with_data(request)

    faulty.proxy.fail_with(500, match=listing_with_data)  # every time: e.g. a reply too large to make
    faulty.proxy.reset_log()
    report = faulty.sync()
    assert report.calendars_synced == 1 and not report.errors
    assert faulty.proxy.count(match=listing_with_data) == 1  # tried once, then etags only
    assert faulty.proxy.count(match=MULTIGET) == 3
    assert faulty.uids() == {f"uid-{i}" for i in range(5)}


def _progress(faulty: Faulty) -> list[tuple[bool, int, int]]:
    return [(h.running, h.done, h.total) for h in faulty.container.sync_state.health(faulty.account_id).values()]


def _progress_while_held(faulty: Faulty, match: Match) -> list[tuple[bool, int, int]]:
    """Syncs with the first request ``match`` accepts held; the progress read while
    it was held. Returns once the sync is done."""
    faulty.proxy.delay(30, match=match, times=1, stage="request")
    done = threading.Event()
    threading.Thread(target=lambda: (faulty.sync(), done.set()), daemon=True).start()
    faulty.proxy.wait_until_held(1, timeout=20)
    seen = _progress(faulty)
    faulty.proxy.release()
    assert done.wait(30)
    return seen


def test_progress_of_a_long_sync_is_readable_while_it_runs(faulty: Faulty) -> None:
    for i in range(6):
        faulty.put(f"e{i}.ics", f"uid-{i}")
    # A first sync: while its listing is under way, nothing is counted yet.
    assert _progress_while_held(faulty, SYNC_REPORT) == [(True, 0, 0)]
    assert _progress(faulty) == [(False, 6, 6)]
    # Six more, fetched by multiget: counted out of six while the fetch waits.
    for i in range(6, 12):
        faulty.put(f"e{i}.ics", f"uid-{i}")
    assert _progress_while_held(faulty, MULTIGET) == [(True, 0, 6)]
    assert _progress(faulty) == [(False, 6, 6)]
    assert len(faulty.uids()) == 12


def test_a_request_that_times_out_fails_the_sync_and_the_next_one_converges(
    radicale: CalDAVTestServer, tmp_path: Path
) -> None:
    for faulty in faulty_world(radicale, tmp_path, timeout=1):
        faulty.put("a.ics", "uid-a")
        # the listing with data times out, and so does the etag listing tried next
        faulty.proxy.delay(30, match=SYNC_REPORT, times=2)
        report = faulty.sync()
        assert report.calendars_failed == 1 and report.errors
        assert faulty.proxy.held == 2  # both listings, abandoned by the client
        assert faulty.uids() == set()
        faulty.proxy.release()
        faulty.sync()
        assert faulty.uids() == {"uid-a"}


def test_the_same_account_in_two_sub_accounts_is_fetched_once(faulty: Faulty) -> None:
    faulty.put("a.ics", "uid-a")
    other = faulty.container.connections.connect(ConnectAccount("loc-2", "u1", faulty.user, faulty.password)).connection
    faulty.container.configurations.add_conflict("loc-2", "u1", str(other.id), other.calendar_list()[0].calendar_id)
    faulty.proxy.reset_log()
    faulty.sync()
    assert faulty.proxy.count(match=SYNC_REPORT) == 1
    assert faulty.uids("loc-1") == faulty.uids("loc-2") == {"uid-a"}


@pytest.mark.postgres
def test_two_workers_on_one_postgresql_never_sync_the_same_account_at_once(
    radicale: CalDAVTestServer, tmp_path: Path
) -> None:
    import threading

    user, password = new_account(radicale)
    path = radicale.create_calendar(user, password, "home", "Home")
    radicale.put_ics(user, password, f"{path}a.ics", event("uid-a"))
    with FaultProxy.for_server(radicale) as proxy:
        with settings_for("postgres", tmp_path, caldav_url=proxy.url, caldav_timeout=10, sync_enabled=False) as settings:
            first, second = bootstrap(settings), bootstrap(settings)
            for worker in (first, second):
                worker.start()
            try:
                connection = first.connections.connect(ConnectAccount("loc-1", "u1", user, password)).connection
                first.configurations.add_conflict("loc-1", "u1", str(connection.id), connection.calendar_list()[0].calendar_id)
                # Both processes follow the log into one view: the second skips what the
                # first recorded, and still reaches the head.
                assert second.follower.wait_for(first.app.head_position(), 10)
                assert second.follower.error is None
                proxy.delay(30, match=SYNC_REPORT, times=1)
                synced: list[int] = []
                running = threading.Thread(target=lambda: synced.append(first.scheduler.run_due()), daemon=True)
                running.start()
                proxy.wait_until_held(1, timeout=20)
                assert second.scheduler.run_due() == 0, "the account is leased by the first worker"
                proxy.release()
                running.join(30)
                assert synced == [1]
                assert proxy.count(match=SYNC_REPORT) == 1
                assert second.scheduler.run_due() == 0, "and it is not due again before its interval"
            finally:
                first.close()
                second.close()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, '<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:supported-report/></D:error>'),
        (501, "Not Implemented"),
        (400, "Bad Request"),
    ],
)
def test_a_server_without_sync_collection_gets_an_etag_diff(
    radicale: CalDAVTestServer, tmp_path: Path, status: int, body: str
) -> None:
    for faulty in faulty_world(radicale, tmp_path):
        faulty.proxy.fail_with(status, body=body, match=SYNC_REPORT)
        for name in ("a", "b", "c"):
            faulty.put(f"{name}.ics", f"uid-{name}")
        report = faulty.sync()
        assert not report.errors, report.errors
        assert faulty.uids() == {"uid-a", "uid-b", "uid-c"}
        faulty.delete("b.ics")
        faulty.put("c.ics", "uid-c", hour=16)
        faulty.proxy.reset_log()
        faulty.sync()
        assert faulty.uids() == {"uid-a", "uid-c"}
        methods = [r.method for r in faulty.proxy.requests if not SYNC_REPORT(r) and not HOME_CTAGS(r)]
        assert methods == ["PROPFIND", "REPORT"], "one etag listing, one multiget of what changed"


def test_the_poller_syncs_each_account_on_its_interval_without_being_asked(
    radicale: CalDAVTestServer, tmp_path: Path
) -> None:
    user, password = new_account(radicale)
    path = radicale.create_calendar(user, password, "home", "Home")
    radicale.put_ics(user, password, f"{path}a.ics", event("uid-a"))
    with settings_for("sqlite", tmp_path, caldav_url=radicale.base_url, sync_interval=0.5) as settings:
        container = bootstrap(settings)
        try:
            connection = container.connections.connect(ConnectAccount("loc-1", "u1", user, password)).connection
            container.configurations.add_conflict("loc-1", "u1", str(connection.id), connection.calendar_list()[0].calendar_id)
            container.start()  # the poller starts with the service

            def imported() -> set[str]:
                schedule = container.schedules.schedule("loc-1", "u1")
                return {k.uid for c in schedule.resources for k in schedule.known(c).values() if k.uid}

            wait_for(lambda: imported() == {"uid-a"}, "the first poll to import uid-a", every=0.1)
            radicale.put_ics(user, password, f"{path}b.ics", event("uid-b"))
            wait_for(lambda: imported() == {"uid-a", "uid-b"}, "the next poll to bring the change", every=0.1)
        finally:
            container.close()
