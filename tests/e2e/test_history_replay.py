"""StreamEvents over a log longer than a replay's pages and messages: the replay
gives what the library's domain events say, in order, to each tenant its own,
from any position, then follows live; a stream cancelled mid-replay lets go."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from calendar_domain.history import Scope
from calendar_domain.history_service import HistoryService
from calendar_domain.schedule import CalendarChanges, ImportedSeries, UserSchedule
from calendarintegration.v1 import history_pb2 as hi
from server import history_servicer
from server.history_convert import event_message
from tests.e2e.test_history import all_events, set_time_zone
from tests.e2e.test_history_stream import WAIT, following
from tests.support.grpc_service import TENANT_TOKEN, Service
from tests.support.waiting import wait_for

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROUNDS = 4  # each records 2 x 160 imports: 1,296 events with the schedules' first ones


def record_long_log(service: Service) -> None:
    """Imports for a user of loc-2 (the tenant's) and of loc-9 (not the tenant's),
    saved in turns so that their events interleave in the log."""
    app = service.container.app
    schedules = {sub: UserSchedule(sub, "u1") for sub in ("loc-2", "loc-9")}
    for n in range(ROUNDS):
        for sub, schedule in schedules.items():
            found = []
            for k in range(160):
                uid = f"{sub}-{n}-{k}-{uuid.uuid4()}"
                at = START + timedelta(hours=n * 160 + k)
                found.append(ImportedSeries(
                    href=f"/home/{uid}.ics", etag=f'"{k}"', uid=uid, summary="Planning", location="Room 4",
                    recurring=False, all_day=False, first_start=at, last_end=at + timedelta(hours=1),
                    ical=_ical(uid, at),
                ))
            schedule.apply("conn-1", CalendarChanges("home", found, [], [], f"token-{n}", START))
            app.save(schedule)


def _ical(uid: str, start: datetime) -> str:
    stamp = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 14.5//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start.strftime(stamp)}\r\n"
        f"DTEND:{(start + timedelta(hours=1)).strftime(stamp)}\r\nSUMMARY:Planning\r\n"
        f"DESCRIPTION:{'An agenda of some length. ' * 12}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def by_the_library(service: Service, scope: Scope) -> list[hi.Event]:
    """The log in the scope as the library's domain events make it."""
    history = HistoryService(service.container.app)  # decodes through the library
    return [event_message(r) for r in history.read(0, 100_000, scope, scan_limit=100_000).events]


def test_a_long_replay_is_the_log_in_order_in_several_messages_then_live(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_servicer, "MAX_MESSAGE_BYTES", 1 << 16)
    record_long_log(service)
    head = service.container.app.head_position()
    assert head > 1200
    with following(service) as follower:
        messages = 0
        while not follower.next().caught_up:
            messages += 1
        assert messages > 2 * head // 500  # more than one message per page read
        assert follower.events == by_the_library(service, Scope())
        assert [e.position for e in follower.events] == list(range(1, head + 1))
        live = set_time_zone(service, "loc-2", "Europe/Rome", user="u-live")
        follower.until_position(live)
    assert [e.position for e in follower.events[head:]] == [head + 1, live]  # started, time zone set
    assert follower.events == all_events(service)


def test_a_tenant_replays_only_its_own_events_and_resumes_anywhere(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="server.history_servicer")
    record_long_log(service)
    replayed_before = REGISTRY.get_sample_value("calsync_history_replayed_events_total") or 0
    theirs = by_the_library(service, Scope(frozenset({"loc-1", "loc-2"})))
    assert {e.sub_account_id for e in theirs} == {"loc-2"} and len(theirs) > 600
    with following(service, TENANT_TOKEN) as tenant:
        tenant.until_caught_up()
    assert tenant.events == theirs
    middle = theirs[len(theirs) // 2].position
    with following(service, TENANT_TOKEN, after_position=middle) as resumed:
        resumed.until_caught_up()
    assert resumed.events == [e for e in theirs if e.position > middle]
    # the operator sees each replay end, and counts what replays sent
    ends = [r for r in caplog.records if getattr(r, "event", "") == "history.stream.caught_up"]
    assert [r.fields["events"] for r in ends] == [len(theirs), len(resumed.events)]  # type: ignore[attr-defined]
    replayed = REGISTRY.get_sample_value("calsync_history_replayed_events_total") or 0
    assert replayed - replayed_before == len(theirs) + len(resumed.events)


def test_a_stream_cancelled_during_its_replay_lets_go_of_everything(service: Service) -> None:
    record_long_log(service)
    with following(service) as follower:
        follower.next()  # the replay is under way
        follower.call.cancel()
    assert service.container.log_tail.wait_for_followers(0, WAIT)
    wait_for(
        lambda: not [t for t in threading.enumerate() if t.name == "stream-read-ahead"],
        "the replay's thread to end", WAIT,
    )
    assert service.serving()
