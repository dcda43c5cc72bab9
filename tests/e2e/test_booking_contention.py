"""Bookings that do not fight: many for one user at once take turns inside a
process (none comes back ABORTED), two server processes on one store still never
double-book, and a booking waits only for what concerns its own user."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from calendar_domain.schedule import CalendarChanges, ImportedSeries, UserSchedule
from calendarintegration.v1 import appointments_pb2 as ap
from tests.e2e.test_appointments import at, book_request, connect, stub, ts
from tests.support.caldav_servers import RadicaleServer
from tests.support.grpc_service import Service, auth, failure, running_service
from tests.support.stores import STORES, settings_for

CALLERS = 50


def _all_at_once(book: Callable[[int], Any]) -> list[Any]:
    """``book(i)`` for i in 0..49 from 50 threads released together: each appointment
    id, or the status code of its failure."""
    outcomes: list[Any] = [None] * CALLERS
    start = threading.Barrier(CALLERS)

    def call(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = book(index).appointment.appointment_id
        except grpc.RpcError as error:
            outcomes[index] = error.code()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return outcomes


def _listed(service: Service) -> list[str]:
    answer = stub(service).ListAppointments(
        ap.ListAppointmentsRequest(sub_account_id="crm-1", user_id="u1", start_time=ts(at(0)), end_time=ts(at(23))),
        metadata=auth(),
    )
    return sorted(a.appointment_id for a in answer.appointments)


def test_fifty_concurrent_bookings_of_distinct_times_for_one_user_all_succeed(
    service: Service, account: tuple[str, str]
) -> None:
    """Without turns, a quarter of them ran out of retries (ABORTED)."""
    connect(service, account)

    def book(index: int) -> Any:  # ten-minute slots from 09:00, none overlapping
        start = at(9 + index * 10 // 60, index * 10 % 60)
        end = at(9 + (index * 10 + 10) // 60, (index * 10 + 10) % 60) if index < CALLERS - 1 else at(17, 20)
        return stub(service).BookAppointment(book_request(start, end, override=True), metadata=auth(), timeout=120)

    outcomes = _all_at_once(book)
    assert [o for o in outcomes if not isinstance(o, str)] == []
    assert _listed(service) == sorted(outcomes)


@pytest.mark.parametrize("store", STORES)
def test_two_server_processes_on_one_store_never_double_book(
    store: str, tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    """The second server has its own turns (as another process would) and reads the
    availability model the first one keeps; every request overlaps every other."""
    with settings_for(store, tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        with running_service(settings) as first:
            other = replace(settings, embedded_projections=False, embedded_push=False, sync_enabled=False, read_wait_timeout=30)
            with running_service(other) as second:
                assert first.container.app.command_locks is not second.container.app.command_locks
                connect(first, account)
                servers = (first, second)

                def book(index: int) -> Any:
                    minute = index % 30
                    request = book_request(at(10, minute), at(11, minute), title=f"Booking {index}")
                    return stub(servers[index % 2]).BookAppointment(request, metadata=auth(), timeout=120)

                outcomes = _all_at_once(book)
                winners = [o for o in outcomes if isinstance(o, str)]
                assert len(winners) == 1
                assert {o for o in outcomes if not isinstance(o, str)} <= {
                    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED
                }
                assert _listed(first) == winners == _listed(second)


@pytest.mark.parametrize("store", STORES)
def test_a_booking_waits_for_its_own_users_events_not_for_another_tenants(
    store: str, tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    """The availability model stops following the log (as it would behind another
    tenant's first sync of thousands of events); a booking for a user whose events
    it has read still goes through, and one for the tenant it has not read waits and
    is UNAVAILABLE (before, every booking waited for the whole log)."""
    with settings_for(
        # no pusher and no poller: the pusher's record of the first booking's write, and
        # the poller's first sync of the new connection (a CalendarSynced of the primary
        # calendar, due at once, recorded whenever the poller comes by), are more events
        # of the user's, which the stopped model would never read
        store, tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10, read_wait_timeout=1,
        embedded_push=False, sync_enabled=False,
    ) as settings:
        with running_service(settings) as service:
            connect(service, account)
            first = stub(service).BookAppointment(book_request(at(9), at(10), override=True), metadata=auth())
            container = service.container
            assert container.availability_follower.wait_for(first.position, 30)
            container.availability_follower.stop()
            other = UserSchedule("crm-2", "busy-tenant")
            other.apply("conn", CalendarChanges("cal", [_series(i) for i in range(50)], [], [], "t1", datetime.now(UTC)))
            container.app.record(other)
            assert container.availability_follower.position < container.app.head_position()

            mine = stub(service).BookAppointment(book_request(at(11), at(12), override=True), metadata=auth())
            assert mine.appointment.appointment_id and mine.position > first.position

            theirs = failure(
                stub(service).BookAppointment,
                ap.BookAppointmentRequest(
                    sub_account_id="crm-2", user_id="busy-tenant", start_time=ts(at(9)), end_time=ts(at(10)),
                    title="Consultation", override=True,
                ),
            )
            assert theirs.code == grpc.StatusCode.UNAVAILABLE and theirs.reason == "READ_MODEL_BEHIND"


def _series(i: int) -> ImportedSeries:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2, hours=i)
    return ImportedSeries(
        f"/c/e{i}.ics", f'"{i}"', f"uid-{i}", "", "", False, False, start, start + timedelta(minutes=30),
        "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    )
