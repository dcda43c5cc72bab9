"""Bookings as a user's calendar grows, and beside other work (parts of bookings.py).

(c) sizes: BookAppointment one at a time for users whose schedules hold
    (imported events, past appointments) = (0, 0), (10000, 0), (0, 2000),
    (10000, 2000), seeded into the store before the server starts (imports
    recorded as a sync records them, through ``ScheduleService.record_changes``;
    past appointments as the booking service records them), all in the past so
    that no booking meets one. Rounds alternate the users; reported per size:
    p50 and p99 latency, server CPU per call, and each size's p50 over the empty
    schedule's (goal: at most 1.3 for the largest).
(d) concurrent: 50 client threads book distinct times for ONE user (connected,
    with a primary calendar, so the push process records on the same schedule)
    for a few seconds per round: calls/s and ABORTED (goal: at most 1%).
(e) during-sync: one user books one at a time (override, distinct times) while
    a first sync of 10,000 events (Radicale) is recorded, once for another
    tenant and once for the same user; latency before and during, the longest
    stall, and the failures.
"""

from __future__ import annotations

import collections
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import requests

from adapters.icloud.resources import imported_series
from bench.availability import resources, store
from bench.grpc_unary import CALL_TIMEOUT, BenchError, ServerProcess, percentile, running_server, wait_until_idle
from calendar_domain.bookings import AppointmentDetails
from calendar_domain.schedule import CalendarChanges, ImportedSeries
from calendar_domain.schedule_service import SyncTarget
from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import appointments_pb2_grpc
from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import configuration_pb2_grpc
from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import connection_pb2_grpc
from calendarintegration.v1 import sync_pb2 as sy
from calendarintegration.v1 import sync_pb2_grpc
from server.bootstrap import bootstrap
from server.config import Settings
from tests.support.caldav_servers import RadicaleServer
from tests.support.fixtures import new_account

SUB = "loc-1"
GOAL_GROWTH, GOAL_ABORTED = 1.3, 0.01


def size_user(imported: int, past: int) -> str:
    return f"size-{imported}-{past}"


# --- seeding -------------------------------------------------------------------------


def sizes_of(imported: int, past: int) -> tuple[tuple[int, int], ...]:
    return ((0, 0), (imported, 0), (0, past), (imported, past))


def seed_sizes(settings: Settings, sizes: tuple[tuple[int, int], ...]) -> int:
    """Records each size's imports and past appointments; returns the log head."""
    container = bootstrap(settings)
    try:
        now = datetime.now(UTC)
        for imported, past in sizes:
            user = size_user(imported, past)
            seed_imports(container, user, imported, now)
            seed_past_appointments(container, user, past, now)
        return int(container.app.head_position())
    finally:
        container.close()


def seed_imports(container: Any, user: str, count: int, now: datetime, batch: int = 500) -> None:
    """``count`` single events over the two years before the last month, recorded
    as a sync records them (one save per ``batch``)."""
    rng = random.Random(count)
    body = list(resources(count, 0, now - timedelta(days=400), 700, rng))
    target = SyncTarget(SUB, user, "bench-connection", "bench-calendar", "/bench/", None, {}, "Europe/Berlin")
    for start in range(0, len(body), batch):
        series = [
            imported_series(f"/bench/{name}", f'"{name}"', text, "Europe/Berlin", now)
            for name, text in body[start : start + batch]
        ]
        assert all(isinstance(s, ImportedSeries) for s in series)
        changes = CalendarChanges("bench-calendar", series, [], [], f"token-{start}", now)  # type: ignore[arg-type]
        container.schedules.record_changes([(target, changes)])


def seed_past_appointments(container: Any, user: str, count: int, now: datetime, batch: int = 100) -> None:
    """``count`` half-hour appointments on the days before today (as the booking
    service records them; no primary calendar, nothing to push)."""
    first = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=count // 16 + 2)
    for start in range(0, count, batch):
        schedule = container.appointments.schedule(SUB, user)
        for i in range(start, min(count, start + batch)):
            begin = first + timedelta(days=i // 16, hours=8 + (i % 16) // 2, minutes=30 * (i % 2))
            schedule.book(f"{uuid.UUID(int=i + 1)}", begin, begin + timedelta(minutes=30),
                          AppointmentDetails(title=f"Client {i}"), {}, [])
        container.app.record(schedule)


# --- calls ---------------------------------------------------------------------------


@dataclass
class Booker:
    """Books the next free 10-minute slot of one user (days ahead from tomorrow,
    08:00 UTC on), one call at a time or from many threads."""

    user: str
    metadata: tuple[tuple[str, str], ...]
    counter: Iterator[int] = field(default_factory=lambda: iter(range(10**9)))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self) -> ap.BookAppointmentRequest:
        with self.lock:
            n = next(self.counter)
        day = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=1 + n // 60)
        start = day + timedelta(minutes=10 * (n % 60))
        request = ap.BookAppointmentRequest(sub_account_id=SUB, user_id=self.user, title=f"Booking {n}", override=True)
        request.start_time.FromDatetime(start)
        request.end_time.FromDatetime(start + timedelta(minutes=10))
        return request

    def book(self, stub: appointments_pb2_grpc.AppointmentServiceStub) -> tuple[float, str]:
        """(seconds, "" or the failure's status code name)."""
        request = self.request()
        started = time.perf_counter()
        try:
            stub.BookAppointment(request, metadata=self.metadata, timeout=CALL_TIMEOUT)
            return time.perf_counter() - started, ""
        except grpc.RpcError as error:
            return time.perf_counter() - started, error.code().name


def _stats(latencies: list[float]) -> dict[str, float]:
    return {
        "calls": len(latencies),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * percentile(latencies, 0.99) if latencies else float("nan"),
        "max_ms": 1000 * max(latencies) if latencies else float("nan"),
    }


# --- (c) sizes -----------------------------------------------------------------------


def sizes_part(args: Any, workdir: Path, radicale: RadicaleServer, token: str) -> dict[str, Any]:
    metadata = (("authorization", f"Bearer {token}"),)
    sizes = sizes_of(args.imported, args.past)
    with store(args.store, workdir) as (settings, env):
        started = time.perf_counter()
        head = seed_sizes(settings, sizes)
        print(f"(c) seeded {', '.join(f'{i}/{p}' for i, p in sizes)} (imported/past) for 4 users: "
              f"log head {head} in {time.perf_counter() - started:.1f}s")
        with running_server(args.store, radicale.base_url, token, workdir, env) as server:
            print(f"(c) server idle {wait_until_idle(server):.1f}s after serving")
            bookers = {size: Booker(size_user(*size), metadata) for size in sizes}
            latencies: dict[tuple[int, int], list[float]] = collections.defaultdict(list)
            cpu: dict[tuple[int, int], float] = collections.defaultdict(float)
            failures: dict[tuple[int, int], collections.Counter[str]] = collections.defaultdict(collections.Counter)
            with grpc.insecure_channel(server.address) as channel:
                stub = appointments_pb2_grpc.AppointmentServiceStub(channel)
                for size in sizes:  # warm-up: the first call of each loads its schedule
                    for _ in range(3):
                        bookers[size].book(stub)
                print(f"{'round':>5} {'imported':>8} {'past':>5} {'p50 ms':>8} {'p99 ms':>8} {'srv cpu ms/call':>15}")
                for number in range(1, args.rounds + 1):
                    for size in sizes if number % 2 else sizes[::-1]:
                        taken, before = [], server.cpu_seconds()
                        for _ in range(args.calls_per_round):
                            took, failed = bookers[size].book(stub)
                            if failed:
                                failures[size][failed] += 1
                            else:
                                taken.append(took)
                        spent = server.cpu_seconds() - before
                        latencies[size].extend(taken)
                        cpu[size] += spent
                        print(f"{number:>5} {size[0]:>8} {size[1]:>5} {1000 * statistics.median(taken):>8.1f} "
                              f"{1000 * percentile(taken, 0.99):>8.1f} {1000 * spent / max(1, len(taken)):>15.2f}")
    results = {}
    for size in sizes:
        s = _stats(latencies[size])
        s["server_cpu_ms_per_call"] = 1000 * cpu[size] / max(1, len(latencies[size]))
        s["failures"] = dict(failures[size])
        results[f"{size[0]}/{size[1]}"] = s
    base = results["0/0"]["p50_ms"]
    for key, s in results.items():
        s["p50_over_empty"] = s["p50_ms"] / base
    return results


# --- (d) one user's concurrent bookings ----------------------------------------------


def connect_calendar(address: str, metadata: Any, account: tuple[str, str], user: str, name: str, primary: bool) -> Any:
    """Connects ``account`` for ``user``; its calendar ``name`` becomes the primary
    one or a conflict (blocking) one. Returns that calendar."""
    with grpc.insecure_channel(address) as channel:
        answer = connection_pb2_grpc.ConnectionServiceStub(channel).ConnectAccount(
            pb.ConnectAccountRequest(sub_account_id=SUB, user_id=user, apple_id=account[0], app_password=account[1]),
            metadata=metadata, timeout=60,
        )
        calendar = next(c for c in answer.calendars if c.display_name == name)
        ref = cfg.CalendarRef(connection_id=calendar.connection_id, calendar_id=calendar.calendar_id)
        configurations = configuration_pb2_grpc.CalendarConfigurationServiceStub(channel)
        if primary:
            configurations.SetPrimaryCalendar(
                cfg.SetPrimaryCalendarRequest(sub_account_id=SUB, user_id=user, calendar=ref), metadata=metadata, timeout=30
            )
        else:
            configurations.AddConflictCalendar(
                cfg.AddConflictCalendarRequest(sub_account_id=SUB, user_id=user, calendar=ref), metadata=metadata, timeout=30
            )
    return calendar


def connect_primary(address: str, metadata: Any, radicale: RadicaleServer, user: str) -> tuple[tuple[str, str], str]:
    """A new Radicale account for ``user``, connected, its Home calendar made
    primary; returns the account and the calendar's path."""
    account = new_account(radicale)
    path = radicale.create_calendar(*account, "home", "Home")
    connect_calendar(address, metadata, account, user, "Home", primary=True)
    return account, path


def concurrent_part(args: Any, server: ServerProcess, radicale: RadicaleServer, metadata: Any) -> dict[str, Any]:
    connect_primary(server.address, metadata, radicale, "concurrent")
    booker = Booker("concurrent", metadata)
    channels = [grpc.insecure_channel(server.address, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(args.concurrent)]
    rates, outcomes = [], collections.Counter[str]()
    try:
        stubs = [appointments_pb2_grpc.AppointmentServiceStub(c) for c in channels]
        for number in range(1, args.rounds + 1):
            counts = collections.Counter[str]()
            lock = threading.Lock()
            barrier = threading.Barrier(args.concurrent + 1)
            deadline = [0.0]

            def worker(stub: Any) -> None:
                barrier.wait()
                while time.perf_counter() < deadline[0]:
                    _, failed = booker.book(stub)
                    with lock:
                        counts[failed or "OK"] += 1

            threads = [threading.Thread(target=worker, args=(s,)) for s in stubs]
            for t in threads:
                t.start()
            started = time.perf_counter()
            deadline[0] = started + args.seconds_per_round
            barrier.wait()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
            rates.append(counts["OK"] / elapsed)
            outcomes.update(counts)
            print(f"(d) round {number}: {args.concurrent} threads, one user: {counts['OK'] / elapsed:.1f} booked/s, "
                  f"{dict(counts)}")
    finally:
        for c in channels:
            c.close()
    total = sum(outcomes.values())
    return {
        "threads": args.concurrent, "median_booked_per_s": statistics.median(rates), "outcomes": dict(outcomes),
        "aborted_share": outcomes["ABORTED"] / total if total else 0.0,
    }


# --- (e) bookings during a first sync of 10,000 events --------------------------------


def load_calendar(radicale: RadicaleServer, events: int) -> tuple[tuple[str, str], str]:
    """An account whose "Big" calendar holds ``events`` generated events (written
    into Radicale's storage, then read once so that its caches are warm)."""
    from bench.sync import generate, render

    account = new_account(radicale)
    radicale.create_calendar(*account, "big", "Big")
    folder = radicale.workdir / "collections" / "collection-root" / account[0] / "big"
    if not (folder / ".Radicale.props").is_file():
        raise BenchError(f"Radicale's storage folder for the calendar is not where expected: {folder}")
    for spec in generate(events, events // 16):
        (folder / spec.name).write_bytes(render(spec).encode("utf-8"))
    path = f"{radicale.home_path(account[0])}big/"
    query = (
        b'<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        b'<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>'
    )
    warm = requests.request(  # Radicale builds its item cache on the first REPORT
        "REPORT", radicale.base_url.rstrip("/") + path, data=query, auth=account, timeout=900,
        headers={"Depth": "1", "Content-Type": "application/xml"},
    )
    if warm.status_code != 207:
        raise BenchError(f"REPORT on the big calendar answered {warm.status_code}")
    return account, path


def first_sync(address: str, metadata: Any, account: tuple[str, str], user: str) -> Callable[[], tuple[float, str]]:
    """Connects ``account`` for ``user`` with its Big calendar blocking; returns a
    call that syncs it (the first sync) and gives its seconds."""
    big = connect_calendar(address, metadata, account, user, "Big", primary=False)

    def run() -> tuple[float, str]:
        """(seconds, "" or why the sync failed)."""
        started = time.perf_counter()
        with grpc.insecure_channel(address) as channel:
            answer = sync_pb2_grpc.SyncServiceStub(channel).SyncNow(
                sy.SyncNowRequest(sub_account_id=SUB, connection_id=big.connection_id), metadata=metadata, timeout=900,
            )
        failed = "; ".join(answer.errors) or "failed" if answer.calendars_failed or answer.calendars_synced < 1 else ""
        return time.perf_counter() - started, failed

    return run


def during_sync_part(args: Any, server: ServerProcess, radicale: RadicaleServer, metadata: Any) -> dict[str, Any]:
    started = time.perf_counter()
    account, _ = load_calendar(radicale, args.sync_events)
    print(f"(e) Radicale holds {args.sync_events} events ({time.perf_counter() - started:.1f}s to write and warm)")
    results: dict[str, Any] = {}
    booker = Booker("booking-while-syncing", metadata)
    for case, syncing_user in (("another tenant", "tenant-syncing"), ("the same user", "booking-while-syncing")):
        sync = first_sync(server.address, metadata, account, syncing_user)
        wait_until_idle(server)
        with grpc.insecure_channel(server.address) as channel, ThreadPoolExecutor(1) as pool:
            stub = appointments_pb2_grpc.AppointmentServiceStub(channel)
            before = [booker.book(stub) for _ in range(args.calls_per_round)]
            running = pool.submit(sync)
            during: list[tuple[float, str]] = []
            while not running.done():
                during.append(booker.book(stub))
            sync_seconds, sync_failed = running.result()
        ok_before = [t for t, f in before if not f]
        ok_during = [t for t, f in during if not f]
        results[case] = {
            "sync_seconds": sync_seconds, "sync_failed": sync_failed,
            "before": _stats(ok_before), "during": _stats(ok_during),
            "failures_during": dict(collections.Counter(f for _, f in during if f)),
        }
        r = results[case]
        print(f"(e) first sync of {args.sync_events} for {case}: {sync_seconds:.1f}s "
              f"{'FAILED: ' + sync_failed if sync_failed else 'recorded'}; bookings before p50 "
              f"{r['before']['p50_ms']:.1f} ms, during p50 {r['during']['p50_ms']:.1f} ms p99 {r['during']['p99_ms']:.1f} "
              f"max {r['during']['max_ms']:.1f} ms over {len(during)} calls, failed {r['failures_during'] or 'none'}")
    return results
