"""A fleet on one PostgreSQL, as real processes: 2 servers, 2 sync processes,
2 push processes and a projection process. Bookings from both servers never
double-book; every appointment is written to the calendar server exactly once;
killing any one process (SIGKILL) loses nothing and its work is taken over; the
account is polled once per interval, not once per sync process; and the
connections each kind holds stay within its processes' pools."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import appointments_pb2_grpc
from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import configuration_pb2_grpc
from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import connection_pb2_grpc
from server.config import Settings
from tests.e2e.test_appointments import MONDAY, SUB, USER, at, book_request, calendar_events
from tests.support.caldav_servers import RadicaleServer
from tests.support.fault_proxy import FaultProxy
from tests.support.pg_activity import HeldConnections
from tests.support.processes import process_env
from tests.support.proxy_plumbing import LoggedRequest, Match
from tests.support.stores import POSTGRES_URL, settings_for
from tests.support.waiting import wait_for

pytestmark = pytest.mark.postgres

TOKEN = "fleet-" + uuid.uuid4().hex
POOL = 4  # the least pool size: the bound is tight
SYNC_INTERVAL = 1.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Process:
    kind: str
    popen: subprocess.Popen[str]
    port: int = 0
    lines: list[str] = field(default_factory=list)

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def said(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))


class Fleet:
    def __init__(self, settings: Settings, tmp_path: Path, prefix: str) -> None:
        self._settings = settings
        self._tmp_path = tmp_path
        self.prefix = prefix
        self.processes: list[Process] = []

    def start(self, kind: str, **env: str) -> Process:
        port = _free_port() if kind == "serve" else 0
        environment = process_env(
            self._settings,
            CALSYNC_AUTH_TOKENS=f'{{"{TOKEN}": ["*"]}}',
            CALSYNC_LISTEN=f"127.0.0.1:{port}",
            CALSYNC_DB_POOL_SIZE=str(POOL),
            CALSYNC_DB_APPLICATION_PREFIX=self.prefix,
            CALSYNC_EMBEDDED_PROJECTIONS="false",
            CALSYNC_EMBEDDED_PUSH="false",
            CALSYNC_SYNC_ENABLED="false",
            CALSYNC_SYNC_INTERVAL=str(SYNC_INTERVAL),
            # long enough that only freeing the dead one's leases at start lets the next
            # push process write its appointments before the test's patience runs out
            CALSYNC_PUSH_LEASE="60",
            **env,
        )
        popen = subprocess.Popen(
            [sys.executable, "-m", "server.cli", kind], env=environment, cwd=self._tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        process = Process(kind, popen, port)
        threading.Thread(target=lambda: process.lines.extend(iter(popen.stderr.readline, "")),  # type: ignore[union-attr]
                         daemon=True).start()
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()


@contextmanager
def fleet_of(settings: Settings, tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet(settings, tmp_path, f"fleet{uuid.uuid4().hex[:8]}")
    try:
        yield fleet
    finally:
        fleet.stop()
        for process in fleet.processes:  # shown when the test fails
            print(f"--- {process.kind} (exit {process.popen.returncode})", *process.lines[-60:], sep="\n")


class Client:
    """A server of the fleet, over gRPC."""

    def __init__(self, process: Process) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{process.port}")
        self.appointments = appointments_pb2_grpc.AppointmentServiceStub(self.channel)
        self.connections = connection_pb2_grpc.ConnectionServiceStub(self.channel)
        self.configurations = configuration_pb2_grpc.CalendarConfigurationServiceStub(self.channel)
        self._health = health_pb2_grpc.HealthStub(self.channel)

    def serving(self) -> bool:
        try:
            answer = self._health.Check(health_pb2.HealthCheckRequest(), timeout=2)
        except grpc.RpcError:
            return False
        return answer.status == health_pb2.HealthCheckResponse.SERVING

    def call(self, method: Any, request: Any) -> Any:
        """The call, retried while the answer is a retryable UNAVAILABLE/ABORTED
        (the client's part of the contract); any other error is raised."""
        deadline = time.monotonic() + 30
        while True:
            try:
                return method(request, metadata=[("authorization", f"Bearer {TOKEN}")], timeout=30)
            except grpc.RpcError as error:
                retryable = error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED)
                if not retryable or time.monotonic() > deadline:
                    raise
                threading.Event().wait(0.1)

    def book(self, hour: int, day: date = MONDAY) -> str | None:
        """The appointment id, or None when the time was taken (BOOKING_CONFLICT)."""
        request = book_request(at(hour, day=day), at(hour + 1, day=day))
        try:
            return str(self.call(self.appointments.BookAppointment, request).appointment.appointment_id)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
            return None

    def get(self, appointment_id: str) -> ap.Appointment:
        return self.call(
            self.appointments.GetAppointment,
            ap.GetAppointmentRequest(sub_account_id=SUB, user_id=USER, appointment_id=appointment_id),
        ).appointment


def _holder(process: Process) -> str:
    line = wait_for(lambda: next((x for x in process.lines if "sync.poller_started" in x), None), "the poller's start")
    return line.split("holder=")[1].split()[0]


def _lease_holder(db: psycopg.Connection[Any], settings: Settings) -> str:
    row = db.execute(
        f'SELECT holder FROM "{settings.postgres_schema}".sync_lease WHERE leased_until > extract(epoch from now())'
    ).fetchone()
    return str(row[0]) if row else ""


def _polls(requests: list[LoggedRequest]) -> int:
    """Polls of the account (the only one): one depth-1 PROPFIND of its calendar home
    each, asking the calendars' ctags (a REPORT follows only where one moved)."""
    return sum(
        1 for r in requests
        if r.method == "PROPFIND" and r.headers.get("Depth") == "1" and b"getctag" in r.body
    )


def test_a_fleet_on_one_postgresql_loses_nothing_when_any_process_is_killed(
    tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    with FaultProxy.for_server(radicale) as caldav, \
            settings_for("postgres", tmp_path / "data", caldav_url=caldav.url, caldav_timeout=10) as settings, \
            fleet_of(settings, tmp_path) as fleet, HeldConnections(POSTGRES_URL, fleet.prefix + "-") as held:
        projection = fleet.start("project")
        servers = [fleet.start("serve"), fleet.start("serve")]
        syncs = [fleet.start("sync"), fleet.start("sync")]
        pusher = fleet.start("push")
        a, b = Client(servers[0]), Client(servers[1])
        for client in (a, b):
            wait_for(client.serving, "both servers to serve", 60)

        connected = a.call(a.connections.ConnectAccount, pb.ConnectAccountRequest(
            sub_account_id=SUB, user_id=USER, apple_id=account[0], app_password=account[1],
        ))
        home = next(c for c in connected.calendars if c.display_name == "Home")
        ref = cfg.CalendarRef(connection_id=home.connection_id, calendar_id=home.calendar_id)
        a.call(a.configurations.SetPrimaryCalendar, cfg.SetPrimaryCalendarRequest(
            sub_account_id=SUB, user_id=USER, calendar=ref))
        a.call(a.configurations.AddConflictCalendar, cfg.AddConflictCalendarRequest(
            sub_account_id=SUB, user_id=USER, calendar=ref))

        # two sync processes poll the account once per interval between them
        first_poll = wait_for(lambda: _polls(caldav.requests), "a first poll", 30)
        watch_from = time.monotonic()
        wait_for(lambda: _polls(caldav.requests) >= first_poll + 4, "polls", 30)
        polls = _polls(caldav.requests) - first_poll
        assert polls <= (time.monotonic() - watch_from) / SYNC_INTERVAL + 2, polls

        # the first push is held on its way to the calendar server: its process dies
        # with the lease on its appointments
        caldav.delay(60, match=Match(method="PUT"))
        hours = list(range(9, 17))
        with ThreadPoolExecutor(16) as callers:
            attempts = list(callers.map(lambda job: job[0].book(job[1]), [(c, h) for h in hours for c in (a, b)]))
        booked = [appointment for appointment in attempts if appointment is not None]
        assert len(booked) == len(hours)  # each hour once, from one server or the other
        caldav.wait_until_held(1)
        pusher.kill()
        caldav.release()  # the dead process's write reaches the server; it was never recorded
        second = fleet.start("push")
        wait_for(lambda: second.said("push.leases_freed"), "the new push process to free the dead one's leases", 40)

        # any one server, sync process and the projection process killed: work goes on
        servers[0].kill()
        # A sync process is killed while the other one syncs the account (the
        # takeover of a dead sync process's own lease belongs to the poller's leases).
        holder = _holder(syncs[1])
        with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
            wait_for(lambda: _lease_holder(db, settings) == holder, "the other sync process to sync", 30, every=0.002)
            syncs[0].kill()
        polls_before = _polls(caldav.requests)
        projection.kill()
        fleet.start("project")
        tuesday = MONDAY + timedelta(days=1)
        late = b.book(10, tuesday)  # needs the read model the new projection process keeps
        assert late is not None and b.book(10, tuesday) is None
        booked.append(late)

        def all_written() -> bool:
            return all(b.get(i).push.status == ap.PUSH_STATUS_WRITTEN for i in booked)

        wait_for(all_written, "every appointment to be written", 60)
        # exactly once: one event per appointment, and one creation each
        events = calendar_events(radicale, account)
        assert sorted(str(e["UID"]) for e in events.values()) == sorted(b.get(i).uid for i in booked)
        created = Counter(r.path for r in caldav.requests if r.method == "PUT" and r.status == 201)
        assert len(created) == len(booked) and set(created.values()) == {1}
        # polled on by the sync process left
        wait_for(lambda: _polls(caldav.requests) >= polls_before + 2, "polls to go on", 30)

    # connections held by each kind stayed within its processes' pools
    most = {name.removeprefix(fleet.prefix + "-"): count for name, count in held.most.items()}
    assert most["serve"] <= 2 * POOL and most["sync"] <= 2 * POOL, most
    assert most["push"] <= 2 * POOL and most["project"] <= 2 * POOL, most
    assert most["serve"] >= 2  # the sampling saw them
    print("connections held at most, by kind:", most)
