"""What a poll of an account costs the server, against Radicale and Xandikos behind
the fault proxy: one PROPFIND of the calendar home when nothing changed, a
sync-collection REPORT (Depth: 0) only for a calendar whose ctag moved, and the
REPORT regardless where the ctag is missing or lies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.persistence.sync_state import AccountMemo
from server.bootstrap import bootstrap
from tests.integration.test_sync import event
from tests.integration.test_sync_faults import HOME_CTAGS, SYNC_REPORT, Faulty, faulty_world
from tests.support.caldav_servers import CalDAVTestServer
from tests.support.fault_proxy import Match

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
    assert poll(faulty) == [("PROPFIND", "ctags")]
    home = [r for r in faulty.proxy.requests if HOME_CTAGS(r)][0]
    assert home.headers.get("Depth") == "1"
    faulty.put("b.ics", "uid-b")
    made = poll(faulty)
    assert made[:2] == [("PROPFIND", "ctags"), ("REPORT", "sync")], made
    assert faulty.uids() == {"uid-a", "uid-b"}
    report = [r for r in faulty.proxy.requests if SYNC_REPORT(r)][0]
    assert report.headers.get("Depth") == "0", "RFC 6578 3.2: sync-collection goes with Depth: 0"
    assert poll(faulty) == [("PROPFIND", "ctags")], "and quiet again"


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
