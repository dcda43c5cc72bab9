"""Pushing appointments through faults, with a fault-injecting proxy in front of a
real CalDAV server: a throttled write is retried with backoff and lands once; a
refused one is recorded as failed, visible, and tried again on the next change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from calendarintegration.v1 import appointments_pb2 as ap
from tests.e2e.test_appointments import SUB, USER, at, book_request, calendar_events, connect, get, pushed, stub, ts
from tests.support.caldav_servers import RadicaleServer
from tests.support.fault_proxy import FaultProxy
from tests.support.grpc_service import Service, auth, running_service
from tests.support.proxy_plumbing import Match
from tests.support.stores import settings_for
from tests.support.waiting import wait_for


@pytest.fixture
def proxied(tmp_path: Path, radicale: RadicaleServer) -> Iterator[tuple[Service, FaultProxy]]:
    with FaultProxy.for_server(radicale) as proxy:
        with settings_for("sqlite", tmp_path / "data", caldav_url=proxy.url, caldav_timeout=10) as settings:
            with running_service(settings) as service:
                yield service, proxy


def test_a_throttled_write_is_retried_and_lands_once(
    proxied: tuple[Service, FaultProxy], account: tuple[str, str], radicale: RadicaleServer
) -> None:
    service, proxy = proxied
    connect(service, account)
    proxy.fail_with(503, headers={"Retry-After": "1"}, times=1, match=Match(method="PUT"))
    appointment = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment

    def retrying() -> ap.Appointment | None:
        found = get(service, appointment.appointment_id)
        return found if found.push.status == ap.PUSH_STATUS_RETRYING else None

    waiting = wait_for(retrying, "the failed push to be recorded")
    assert waiting.push.attempts == 1 and "503" in waiting.push.last_error
    assert waiting.push.next_attempt_time.ToDatetime(tzinfo=UTC) > at(0).replace(year=2000)
    written = pushed(service, appointment.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
    assert written.push.last_error == ""
    assert proxy.count("PUT") == 2
    assert [str(e["UID"]) for e in calendar_events(radicale, account).values()] == [appointment.uid]


def test_a_refused_write_fails_visibly_and_is_tried_again_on_the_next_change(
    proxied: tuple[Service, FaultProxy], account: tuple[str, str], radicale: RadicaleServer
) -> None:
    service, proxy = proxied
    connect(service, account)
    proxy.fail_with(403, body="forbidden", match=Match(method="PUT"))
    appointment = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment

    def failed() -> ap.Appointment | None:
        found = get(service, appointment.appointment_id)
        return found if found.push.status == ap.PUSH_STATUS_FAILED else None

    failure = wait_for(failed, "the refused push to be recorded as failed")
    assert "403" in failure.push.last_error and not failure.push.HasField("next_attempt_time")
    wait_for(lambda: service.container.push_queue.pending() == 0, "the push queue to give it up")
    assert proxy.count("PUT") == 1 and calendar_events(radicale, account) == {}

    proxy.clear()
    stub(service).RescheduleAppointment(
        ap.RescheduleAppointmentRequest(
            sub_account_id=SUB, user_id=USER, appointment_id=appointment.appointment_id,
            start_time=ts(at(12)), end_time=ts(at(13)),
        ),
        metadata=auth(),
    )
    pushed(service, appointment.appointment_id, ap.PUSH_STATUS_WRITTEN, 2)
    [event] = calendar_events(radicale, account).values()
    assert event.decoded("DTSTART") == at(12)
