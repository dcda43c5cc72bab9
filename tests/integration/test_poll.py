"""What a poll of an account costs the server, against Radicale and Xandikos behind
the fault proxy: one PROPFIND of the calendar home when nothing changed, a
sync-collection REPORT (Depth: 0) only for a calendar whose ctag moved, and the
REPORT regardless where the ctag is missing or lies."""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.icloud.poller import SyncScheduler
from adapters.persistence.sync_state import AccountMemo
from calendar_domain.connection_service import ConnectAccount
from server.bootstrap import Container, bootstrap
from tests.integration.test_sync import event
from tests.integration.test_sync_faults import HOME_CTAGS, SYNC_REPORT, Faulty, faulty_world
from tests.support.caldav_servers import CalDAVTestServer
from tests.support.fault_proxy import FaultProxy, Match
from tests.support.fixtures import new_account
from tests.support.stores import settings_for
from tests.support.waiting import wait_for

PRINCIPAL = Match(method="PROPFIND", body="current-user-principal")
_CTAG_VALUE = re.compile(rb"(<(?:[\w.-]+:)?(?:getctag|sync-token)\b[^>]*>)[^<]*(</)")
_CTAG_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?(?:getctag|sync-token)\b[^>/]*(?:/>|>[^<]*</[^>]*>)")


@pytest.fixture
def faulty(caldav_server: CalDAVTestServer, tmp_path: Path) -> Iterator[Faulty]:
    yield from faulty_world(caldav_server, tmp_path)


def poll(faulty: Faulty) -> list[tuple[str, str]]:
    """Polls the account as the schedule does; the requests it made (method, kind)."""
    faulty.proxy.reset_log()
    report = faulty.container.scheduler.poll(faulty.account_id)
    assert report is not None and not report.errors, report
    kinds = []
    for r in faulty.proxy.requests:
        kind = "ctags" if HOME_CTAGS(r) else "sync" if SYNC_REPORT(r) else "other"
        kinds.append((r.method, kind))
    assert report.requests == len(kinds)
    return kinds


def test_a_quiet_account_costs_one_propfind_of_the_home_and_a_change_one_report_more(faulty: Faulty) -> None:
    faulty.put("a.ics", "uid-a")
    faulty.sync()  # the first sync (SyncNow) reports every calendar
    assert poll(faulty) == [("PROPFIND", "ctags")]
    state = faulty.container.sync_state
    remembered: list[str] = []
    keep = state.remember
    state.remember = lambda account_id, memo: (remembered.append(account_id), keep(account_id, memo))[1]  # type: ignore[method-assign]
    assert poll(faulty) == [("PROPFIND", "ctags")]
    assert remembered == [], "a quiet poll writes nothing but its lease"
    home = [r for r in faulty.proxy.requests if HOME_CTAGS(r)][0]
    assert home.headers.get("Depth") == "1"
    faulty.put("b.ics", "uid-b")
    made = poll(faulty)
    assert made[:2] == [("PROPFIND", "ctags"), ("REPORT", "sync")], made
    assert faulty.uids() == {"uid-a", "uid-b"}
    report = [r for r in faulty.proxy.requests if SYNC_REPORT(r)][0]
    assert report.headers.get("Depth") == "0", "RFC 6578 3.2: sync-collection goes with Depth: 0"
    assert poll(faulty) == [("PROPFIND", "ctags")], "and quiet again"
    assert remembered == [faulty.account_id], "the moved ctag was remembered"


def test_a_calendar_without_a_ctag_is_reported_on_every_poll(faulty: Faulty) -> None:
    faulty.put("a.ics", "uid-a")
    faulty.sync()
    faulty.proxy.rewrite_answers(lambda body: _CTAG_ELEMENT.sub(b"", body), match=HOME_CTAGS)
    assert [kind for _, kind in poll(faulty)] == ["ctags", "sync"]
    faulty.put("b.ics", "uid-b")
    poll(faulty)
    assert faulty.uids() == {"uid-a", "uid-b"}


def test_a_lying_ctag_hides_a_change_until_the_periodic_report_finds_it(faulty: Faulty) -> None:
    faulty.put("a.ics", "uid-a")
    faulty.sync()
    poll(faulty)  # the ctag as the server gives it is remembered
    memo = faulty.container.sync_state.memo(faulty.account_id)
    (ctag,) = set(memo.tokens.values())
    faulty.proxy.rewrite_answers(lambda body: _CTAG_VALUE.sub(rb"\g<1>" + ctag.encode() + rb"\g<2>", body), match=HOME_CTAGS)
    faulty.put("b.ics", "uid-b")
    assert poll(faulty) == [("PROPFIND", "ctags")]
    assert faulty.uids() == {"uid-a"}, "the ctag did not move: the poll believed it"
    # CALSYNC_SYNC_VERIFY_EVERY later (the last verification moved back), every calendar is REPORTed
    state = faulty.container.sync_state
    state.remember(faulty.account_id, AccountMemo(tokens=memo.tokens, targets=memo.targets, verified_at=0.0))
    assert [kind for _, kind in poll(faulty)][:2] == ["ctags", "sync"]
    assert faulty.uids() == {"uid-a", "uid-b"}
    assert poll(faulty) == [("PROPFIND", "ctags")]


def test_a_calendar_made_blocking_is_reported_although_its_ctag_did_not_move(
    faulty: Faulty, caldav_server: CalDAVTestServer
) -> None:
    faulty.put("a.ics", "uid-a")
    work = caldav_server.create_calendar(faulty.user, faulty.password, "work", "Work")
    caldav_server.put_ics(faulty.user, faulty.password, f"{work}w.ics", event("uid-w"))
    faulty.container.connections.refresh_calendars("loc-1", faulty.connection_id)
    faulty.sync()
    assert poll(faulty) == [("PROPFIND", "ctags")]
    connection = faulty.container.connections.get("loc-1", faulty.connection_id)
    (other,) = [c for c in connection.calendar_list() if c.href.rstrip("/").endswith("work")]
    faulty.container.configurations.add_conflict("loc-1", "u1", faulty.connection_id, other.calendar_id)
    made = poll(faulty)
    assert made.count(("REPORT", "sync")) == 2, made
    assert faulty.uids() == {"uid-a", "uid-w"}
    assert poll(faulty) == [("PROPFIND", "ctags")]


def test_a_calendar_added_in_icloud_is_noticed_by_the_poll(faulty: Faulty, caldav_server: CalDAVTestServer) -> None:
    faulty.sync()
    poll(faulty)
    assert len(faulty.container.connections.get("loc-1", faulty.connection_id).calendar_list()) == 1
    caldav_server.create_calendar(faulty.user, faulty.password, "added", "Added")
    report = faulty.container.scheduler.poll(faulty.account_id)  # and the discovery it asks for
    assert report is not None and not report.errors
    names = {c.display_name for c in faulty.container.connections.get("loc-1", faulty.connection_id).calendar_list()}
    assert names == {"Home", "Added"}


def test_the_home_found_at_connect_serves_every_process_without_discovery(
    faulty: Faulty, tmp_path: Path
) -> None:
    faulty.put("a.ics", "uid-a")
    faulty.proxy.reset_log()
    faulty.sync()  # the first sync after connecting
    assert faulty.proxy.count(match=PRINCIPAL) == 0, "connecting found the home already"
    poll(faulty)
    settings = faulty.container.settings
    faulty.container.close()
    again = bootstrap(settings)  # a process that never met the account
    again.start()
    try:
        faulty.container = again
        assert poll(faulty) == [("PROPFIND", "ctags")]
        # a home that fails (404: the account moved) is looked up again, once
        faulty.proxy.fail_with(404, match=HOME_CTAGS, times=1)
        assert again.scheduler.poll(faulty.account_id) is not None
        assert again.sync_state.home_of(faulty.account_id) is None
        faulty.proxy.reset_log()
        report = again.scheduler.poll(faulty.account_id)
        assert report is not None and not report.errors
        assert faulty.proxy.count(match=PRINCIPAL) == 1
        assert again.sync_state.home_of(faulty.account_id)
    finally:
        again.close()


@pytest.fixture
def three_accounts(radicale: CalDAVTestServer, tmp_path: Path) -> Iterator[tuple[FaultProxy, Container, list[str]]]:
    """Three accounts, one blocking calendar each, in a process polling 3 at a time
    with a 1 s sync lease."""
    with FaultProxy.for_server(radicale) as proxy:
        with settings_for(
            "sqlite", tmp_path, caldav_url=proxy.url, caldav_timeout=20, sync_enabled=False,
            sync_concurrency=3, sync_lease=1.0,
        ) as settings:
            container = bootstrap(settings)
            container.start()
            try:
                accounts = []
                for _ in range(3):
                    user, password = new_account(radicale)
                    radicale.create_calendar(user, password, "home", "Home")
                    connection = container.connections.connect(ConnectAccount("loc-1", "u1", user, password)).connection
                    calendar = connection.calendar_list()[0].calendar_id
                    container.configurations.add_conflict("loc-1", "u1", str(connection.id), calendar)
                    accounts.append(str(connection.account_id))
                assert container.follower.wait_for(container.app.head_position(), 20)
                yield proxy, container, accounts
            finally:
                container.close()


def test_several_account_polls_are_in_flight_at_once(three_accounts: tuple[FaultProxy, Container, list[str]]) -> None:
    proxy, container, accounts = three_accounts
    state = container.sync_state
    wait_for(lambda: all(state.lease_of(a)[0] for a in accounts), "the connections to put their accounts in the poll table")
    proxy.delay(30, match=HOME_CTAGS)
    done: list[int] = []
    running = threading.Thread(target=lambda: done.append(container.scheduler.run_due()), daemon=True)
    running.start()
    proxy.wait_until_held(3, timeout=20)  # all three polls wait on the server at once
    proxy.release()
    running.join(30)
    assert done == [3]
    assert all(state.lease_of(a)[0] > time.time() + 50 for a in accounts), "next due an interval later"


def test_a_running_poll_keeps_its_lease_and_a_dead_workers_lease_is_taken_over(
    three_accounts: tuple[FaultProxy, Container, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    proxy, container, accounts = three_accounts
    state = container.sync_state
    first, second, third = accounts
    proxy.delay(30, match=HOME_CTAGS, times=1)
    running = threading.Thread(target=lambda: container.scheduler.poll(first), daemon=True)
    running.start()
    proxy.wait_until_held(1, timeout=20)
    claimed_until = state.lease_of(first)[1]
    wait_for(lambda: state.lease_of(first)[1] > claimed_until + 1, "the heartbeat to renew the lease")
    other = SyncScheduler(container.scheduler._syncer, state, container.connection_view, interval=60, lease_seconds=1.0)
    assert other.poll(first) is None, "a live lease is not taken"
    proxy.release()
    running.join(30)
    # A worker that died holding leases (no heartbeat any more): taken over after the lease.
    assert state.claim(second, "worker-dead", time.time(), 1.0)
    with caplog.at_level(logging.INFO, logger="adapters.icloud.poller"):
        report = container.scheduler.sync_now(second, wait=10)  # no "another worker is syncing"
        assert not report.errors
        for account in (first, third):  # due, and leased by the dead worker
            assert state.claim(account, "worker-dead", time.time(), 1.0)
            state.release(account, "worker-dead", next_due_at=0.0, failures=0)
            assert state.claim(account, "worker-dead", time.time(), 1.0)
        polled: list[int] = []
        wait_for(lambda: polled.append(container.scheduler.run_due()) or sum(polled) == 2,
                 "the dead worker's leases to be taken over")
    taken = [  # by the poller's claims (SyncNow's wait for the dead lease logs its own, from sync_state)
        r for r in caplog.records if r.name == "adapters.icloud.poller" and getattr(r, "event", "") == "sync.lease_taken_over"
    ]
    assert sorted(r.fields["account_id"] for r in taken) == sorted([first, third])
    assert {r.fields["previous_holder"] for r in taken} == {"worker-dead"}


def test_a_throttled_host_is_left_alone_while_other_hosts_are_polled(radicale: CalDAVTestServer, tmp_path: Path) -> None:
    with FaultProxy.for_server(radicale) as proxy:
        with settings_for("sqlite", tmp_path, caldav_url=proxy.url, caldav_timeout=20, sync_enabled=False) as settings:
            container = bootstrap(settings)
            container.start()
            try:
                accounts = []
                for partition in (True, False):  # one home on the partition host, one on the first
                    proxy.partition_redirect(partition)
                    user, password = new_account(radicale)
                    radicale.create_calendar(user, password, "home", "Home")
                    connection = container.connections.connect(ConnectAccount("loc-1", "u1", user, password)).connection
                    container.configurations.add_conflict(
                        "loc-1", "u1", str(connection.id), connection.calendar_list()[0].calendar_id
                    )
                    accounts.append(str(connection.account_id))
                    assert container.follower.wait_for(container.app.head_position(), 20)
                    container.scheduler.sync_now(accounts[-1], wait=10)
                throttled, other = accounts
                assert str(container.sync_state.home_of(throttled)).startswith(str(proxy.partition_url))
                assert str(container.sync_state.home_of(other)).startswith(proxy.url)
                proxy.fail_with(429, headers={"Retry-After": "120"}, match=lambda r: r.listener == "partition", times=1)
                first = container.scheduler.poll(throttled)
                assert first is not None and first.throttled_for == 120 and first.requests == 1
                proxy.reset_log()
                again = container.scheduler.poll(throttled)
                assert again is not None and again.throttled_for is not None and 100 < again.throttled_for <= 120
                assert again.requests == 0 and proxy.requests == [], "the host is not asked again before its time"
                polled = container.scheduler.poll(other)
                assert polled is not None and polled.throttled_for is None and not polled.errors
                assert [r.listener for r in proxy.requests] == ["primary"], "another host is polled as usual"
            finally:
                container.close()


def test_an_account_that_changed_lately_is_polled_on_the_shorter_interval(faulty: Faulty) -> None:
    faulty.put("a.ics", "uid-a")
    faulty.sync()
    poll(faulty)
    state = faulty.container.sync_state
    quiet_due = state.lease_of(faulty.account_id)[0] - time.time()
    assert 55 < quiet_due <= 63, "nothing changed lately: the interval (60 s, +-5%)"
    faulty.put("b.ics", "uid-b")  # an edit in iCloud, or the echo of a booking written there
    poll(faulty)
    active_due = state.lease_of(faulty.account_id)[0] - time.time()
    assert 25 < active_due <= 31.5, "CALSYNC_SYNC_ACTIVE_INTERVAL (30 s)"
    poll(faulty)
    assert state.lease_of(faulty.account_id)[0] - time.time() <= 31.5, "still active, though quiet now"
    memo = state.memo(faulty.account_id)  # CALSYNC_SYNC_ACTIVE_FOR later
    state.remember(faulty.account_id, dataclasses.replace(memo, changed_at=time.time() - 3601))
    poll(faulty)
    assert state.lease_of(faulty.account_id)[0] - time.time() > 55


def test_a_quiet_poll_keeps_the_account_calendars_fresh(faulty: Faulty) -> None:
    """Before, only a REPORT marked a calendar synced: one nobody edited read as out
    of date past the stale time although every poll had found it unchanged."""
    faulty.put("a.ics", "uid-a")
    faulty.sync()
    state = faulty.container.sync_state
    [calendar_id] = state.health(faulty.account_id)
    long_ago = time.time() - 3600
    state._tables().execute(  # noqa: SLF001 - the last REPORT was an hour ago
        "UPDATE {t}sync_health SET last_success_at = %(at)s", {"at": long_ago}
    )
    assert poll(faulty) == [("PROPFIND", "ctags")]  # quiet: no REPORT
    assert state.health(faulty.account_id)[calendar_id].last_success_at > long_ago + 3000
    # a calendar whose last sync failed is not made fresh by a quiet poll
    state.failed(faulty.account_id, calendar_id, "boom")
    state._tables().execute("UPDATE {t}sync_health SET last_success_at = %(at)s", {"at": long_ago})  # noqa: SLF001
    state.confirmed(faulty.account_id, time.time(), time.time())
    assert state.health(faulty.account_id)[calendar_id].last_success_at == long_ago
