"""Bookings: BookAppointment throughput, and how soon a booking is on the calendar.

Against ONE running server (`calendar-integration serve`, see grpc_unary.py) with a
local Radicale standing in for iCloud, users connect an account each through the
public API (ConnectAccount, then SetPrimaryCalendar on its "Home" calendar, so every
booking is also written to CalDAV by the server's push process). Periodic sync is
off (CALSYNC_SYNC_ENABLED=false) so that background polling of 100+ accounts does not
blur the figures. Then:

(a) throughput: `--threads` client threads (one channel each) call BookAppointment
    in a loop, every call a new 5-minute slot nobody holds (override=True, spread
    over the next eight weeks, whole minutes): once all for ONE user (every call
    contends on that user's one UserSchedule aggregate; version conflicts are
    retried server-side; the push process records on the same aggregate), once
    spread round-robin over `--users` users. The two kinds alternate in rounds.
    Reported: calls/s (median over rounds), p50 and p99 latency, server CPU per
    successful call, and failed calls by status code; each round's line also says
    how many appointments each user of that kind held before it ("held"). After
    each window the bench waits until every booking of the window is written
    (GetAppointment says WRITTEN) so that no push backlog carries into the next
    window; that wait is printed as well.
(b) push latency: bookings one at a time (`--samples` per round, for a user of
    their own); for each, the time from the BookAppointment response to a GET of
    `<calendar path><appointment_id>.ics` on Radicale answering 200 (polled every
    `--poll` seconds, so the figure is an upper bound by at most one poll and one
    GET). Median and p90 over all rounds.

Run from the repository root:

    .venv/bin/python bench/bookings.py                    # SQLite
    .venv/bin/python bench/bookings.py --store postgres   # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python bench/bookings.py --rounds 3 --users 20 --samples 5

It exits 0 when the bench ran, 1 if it failed. A JSON copy of the results goes to
bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for bench and tests.support (the package itself is installed)

import grpc  # noqa: E402
import requests  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402

from bench import booking_growth as growth  # noqa: E402
from bench.availability import store  # noqa: E402
from bench.grpc_unary import (  # noqa: E402
    CALL_TIMEOUT,
    RESULTS_DIR,
    BenchError,
    Load,
    ServerProcess,
    Window,
    percentile,
    positive_float,
    positive_int,
    running_server,
    summarize,
    write_results,
)
from calendarintegration.v1 import appointments_pb2 as ap  # noqa: E402
from calendarintegration.v1 import appointments_pb2_grpc  # noqa: E402
from tests.support.caldav_servers import RadicaleServer  # noqa: E402

SUB = "loc-1"
SOLO, LATENCY_USER = "solo", "push-latency"
DAYS = 56  # slots from tomorrow on, inside the default 60-day horizon
PUSH_DEADLINE = 300.0  # seconds a window's bookings may take to be written
PARTS = ("throughput", "sizes", "concurrent", "during-sync")


@dataclass(frozen=True)
class User:
    user_id: str
    account: tuple[str, str]
    calendar_path: str  # the primary calendar's collection on Radicale


class Slots:
    """Distinct slots of one user: the n-th starts on day n % DAYS (from tomorrow,
    00:00 UTC), at minute (n // DAYS) * length of that day."""

    def __init__(self, minutes: int) -> None:
        self.length = timedelta(minutes=minutes)
        self.capacity = DAYS * (1440 // minutes)
        tomorrow = datetime.now(UTC).date() + timedelta(days=1)
        self.first_day = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)

    def span(self, n: int) -> tuple[Timestamp, Timestamp]:
        if n >= self.capacity:
            raise BenchError(f"a user ran out of slots ({self.capacity}); use longer ones or fewer rounds")
        start = self.first_day + timedelta(days=n % DAYS) + (n // DAYS) * self.length
        begin, end = Timestamp(), Timestamp()
        begin.FromDatetime(start)
        end.FromDatetime(start + self.length)
        return begin, end


@dataclass
class Bookings:
    """What one kind of load books: the next (user, slot) of each call comes from
    one counter shared by all threads, so no two calls ask for the same time."""

    users: list[str]
    slots: Slots
    metadata: tuple[tuple[str, str], ...]
    counter: Iterator[int] = field(default_factory=itertools.count)
    booked: list[tuple[str, str]] = field(default_factory=list)  # (user, appointment id) of this window
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    total: int = 0  # booked in all windows taken so far

    def request(self) -> ap.BookAppointmentRequest:
        n = next(self.counter)  # atomic under the GIL
        user = self.users[n % len(self.users)]
        start, end = self.slots.span(n // len(self.users))
        return ap.BookAppointmentRequest(
            sub_account_id=SUB, user_id=user, start_time=start, end_time=end, title=f"Booking {n}",
            attendees=[ap.Attendee(email=f"client-{n}@example.com", name=f"Client {n}")],
            override=True, request_id=uuid.uuid4().hex,
        )

    def call(self, channel: grpc.Channel) -> Callable[[], Any]:
        stub = appointments_pb2_grpc.AppointmentServiceStub(channel)

        def book() -> Any:
            request = self.request()
            try:
                answer = stub.BookAppointment(request, metadata=self.metadata, timeout=CALL_TIMEOUT)
            except grpc.RpcError as error:
                with self.lock:
                    self.failures[error.code().name] += 1
                raise  # Load counts it as an error
            self.booked.append((request.user_id, answer.appointment.appointment_id))
            return answer

        return book

    def take(self) -> tuple[list[tuple[str, str]], dict[str, int]]:
        """The window's bookings and failures by status code (and starts afresh)."""
        with self.lock:
            booked, self.booked = self.booked, []
            failures, self.failures = dict(self.failures), collections.Counter()
            self.total += len(booked)
        return booked, failures


# --- setup through the public API -------------------------------------------------


def connect_users(address: str, metadata: tuple[tuple[str, str], ...], radicale: RadicaleServer, ids: list[str]) -> list[User]:
    """A Radicale account per user, connected, its Home calendar made primary."""

    def connect(user_id: str) -> User:
        account, path = growth.connect_primary(address, metadata, radicale, user_id)
        return User(user_id, account, path)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(connect, ids))


# --- waiting for the pushes ----------------------------------------------------------


def wait_written(stub: appointments_pb2_grpc.AppointmentServiceStub, metadata: Any, booked: list[tuple[str, str]]) -> float:
    """Seconds until GetAppointment says every one of ``booked`` is WRITTEN."""
    started = time.perf_counter()
    pending = collections.deque(booked)
    while pending:
        user, appointment_id = pending[0]
        push = stub.GetAppointment(
            ap.GetAppointmentRequest(sub_account_id=SUB, user_id=user, appointment_id=appointment_id),
            metadata=metadata, timeout=CALL_TIMEOUT,
        ).appointment.push
        if push.status == ap.PUSH_STATUS_WRITTEN:
            pending.popleft()
            continue
        if push.status in (ap.PUSH_STATUS_FAILED, ap.PUSH_STATUS_NO_CALENDAR):
            raise BenchError(f"appointment {appointment_id} was not written: {ap.PushStatus.Name(push.status)} {push.last_error}")
        if time.perf_counter() - started > PUSH_DEADLINE:
            raise BenchError(f"{len(pending)} appointments were not written within {PUSH_DEADLINE:g}s")
        time.sleep(0.02)
    return time.perf_counter() - started


def push_latency(
    stub: appointments_pb2_grpc.AppointmentServiceStub, bookings: Bookings, user: User,
    session: requests.Session, base_url: str, poll: float,
) -> float:
    """One booking; seconds from its response to its event being readable on CalDAV."""
    answer = stub.BookAppointment(bookings.request(), metadata=bookings.metadata, timeout=CALL_TIMEOUT)
    answered = time.perf_counter()
    appointment = answer.appointment
    if appointment.push.status != ap.PUSH_STATUS_PENDING:
        raise BenchError(f"a booking's push status is {ap.PushStatus.Name(appointment.push.status)}, not PENDING")
    url = f"{base_url.rstrip('/')}{user.calendar_path}{appointment.appointment_id}.ics"
    while True:
        response = session.get(url, timeout=10)
        if response.status_code == 200:
            took = time.perf_counter() - answered
            if f"UID:{appointment.uid}" not in response.text.replace("\r\n ", ""):  # unfolded
                raise BenchError(f"{url} does not hold the appointment's UID {appointment.uid}")
            return took
        if response.status_code != 404:
            raise BenchError(f"GET {url} answered {response.status_code}")
        if time.perf_counter() - answered > 60:
            raise BenchError(f"{url} was not written within 60s")
        time.sleep(poll)


# --- rounds -------------------------------------------------------------------------


@dataclass
class Measured:
    windows: list[Window] = field(default_factory=list)
    failures: dict[str, collections.Counter[str]] = field(default_factory=lambda: collections.defaultdict(collections.Counter))
    drains: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    latencies: list[float] = field(default_factory=list)


def run_rounds(
    args: argparse.Namespace, server: ServerProcess, radicale: RadicaleServer,
    kinds: dict[str, Bookings], latency_user: User, latency_bookings: Bookings,
) -> Measured:
    metadata = latency_bookings.metadata
    measured = Measured()
    load = Load(server.address, args.threads, "per-thread", {kind: b.call for kind, b in kinds.items()})
    channel = grpc.insecure_channel(server.address)
    stub = appointments_pb2_grpc.AppointmentServiceStub(channel)
    session = requests.Session()
    session.auth = latency_user.account

    def window(kind: str, seconds: float) -> tuple[Window, dict[str, int], float]:
        w = load.run(kind, seconds, server)
        booked, failures = kinds[kind].take()
        return w, failures, wait_written(stub, metadata, booked)

    def samples(count: int) -> list[float]:
        return [push_latency(stub, latency_bookings, latency_user, session, radicale.base_url, args.poll) for _ in range(count)]

    try:
        for kind in kinds:
            w, failures, drain = window(kind, args.warmup)
            print(f"warm-up {kind}: {w.calls} booked, failed {failures or 'none'}, all written {drain:.2f}s later")
        samples(3)
        print(f"{'round':>5} {'kind':<16} {'held':>5} {'calls/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'srv cpu ms/call':>15} {'written after s':>15}  failures by code")
        names = list(kinds)
        for number in range(1, args.rounds + 1):
            for kind in names if number % 2 else names[::-1]:
                held = kinds[kind].total // len(kinds[kind].users)
                w, failures, drain = window(kind, args.seconds_per_round)
                measured.windows.append(w)
                measured.failures[kind].update(failures)
                measured.drains[kind].append(drain)
                print(
                    f"{number:>5} {kind:<16} {held:>5} {w.rate:>8.1f} {1000 * percentile(w.latencies, 0.5):>8.1f} "
                    f"{1000 * percentile(w.latencies, 0.99):>8.1f} {w.server_cpu_per_call_ms:>15.2f} "
                    f"{drain:>15.2f}  {failures or '-'}"
                )
            taken = samples(args.samples)
            measured.latencies.extend(taken)
            print(f"{number:>5} push latency     median {1000 * statistics.median(taken):.1f} ms, "
                  f"max {1000 * max(taken):.1f} ms over {len(taken)} bookings")
    finally:
        session.close()
        channel.close()
        load.close()
    return measured


# --- main --------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=positive_int, default=5)
    parser.add_argument("--seconds-per-round", type=positive_float, default=3.0, help="per kind of load")
    parser.add_argument("--warmup", type=positive_float, default=1.0, help="seconds of unmeasured bookings per kind first")
    parser.add_argument("--threads", type=positive_int, default=8, help="concurrent client threads")
    parser.add_argument("--users", type=positive_int, default=100, help="users the second kind of load spreads over")
    parser.add_argument("--minutes", type=positive_int, default=5, help="length of each appointment")
    parser.add_argument("--samples", type=positive_int, default=20, help="push latency bookings per round")
    parser.add_argument("--poll", type=positive_float, default=0.005, help="seconds between GETs of a new event")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="(a)+(b) throughput, (c) sizes, (d) concurrent, (e) during-sync")
    parser.add_argument("--calls-per-round", type=positive_int, default=40, help="(c), and (e) before the sync")
    parser.add_argument("--imported", type=positive_int, default=10_000, help="(c) imported events of the largest schedules")
    parser.add_argument("--past", type=positive_int, default=2_000, help="(c) past appointments of the largest schedules")
    parser.add_argument("--concurrent", type=positive_int, default=50, help="(d) client threads for one user")
    parser.add_argument("--sync-events", type=positive_int, default=10_000, help="(e) events of the first sync")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    token = "bench-" + uuid.uuid4().hex
    metadata = (("authorization", f"Bearer {token}"),)
    print(
        f"bookings: store={args.store} parts={' '.join(args.parts)} rounds={args.rounds} "
        f"seconds/round={args.seconds_per_round:g} threads={args.threads} users={args.users} minutes={args.minutes} "
        f"cpus={os.cpu_count()} grpcio={grpc.__version__}"
    )
    results: dict[str, Any] = {"rounds": args.rounds, "seconds_per_round": args.seconds_per_round}
    try:
        with RadicaleServer() as radicale:
            if "throughput" in args.parts:
                results.update(throughput_part(args, radicale, token, metadata))
            if "sizes" in args.parts:
                with _workdir() as workdir:
                    results["sizes"] = growth.sizes_part(args, workdir, radicale, token)
            if "concurrent" in args.parts or "during-sync" in args.parts:
                with _workdir() as workdir, store(args.store, workdir) as (_, env):
                    env = {**env, "CALSYNC_SYNC_NOW_WAIT": "900"}
                    with running_server(args.store, radicale.base_url, token, workdir, env) as server:
                        if "concurrent" in args.parts:
                            results["concurrent"] = growth.concurrent_part(args, server, radicale, metadata)
                        if "during-sync" in args.parts:
                            results["during_sync"] = growth.during_sync_part(args, server, radicale, metadata)
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    print()
    summary(results)
    write_results(args.results_dir, "bookings", args.store, results)
    return 0


@contextmanager
def _workdir() -> Iterator[Path]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-bookings-"))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def throughput_part(
    args: argparse.Namespace, radicale: RadicaleServer, token: str, metadata: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    """(a) and (b)."""
    one, many = "1 user", f"{args.users} users"
    slots = Slots(args.minutes)
    ids = [SOLO, LATENCY_USER, *(f"user-{i:03d}" for i in range(args.users))]
    with _workdir() as workdir, store(args.store, workdir) as (_, env):
        with running_server(args.store, radicale.base_url, token, workdir, env) as server:
            print(f"server: pid {server.process.pid} serving on {server.address}")
            started = time.perf_counter()
            users = connect_users(server.address, metadata, radicale, ids)
            print(f"connected {len(users)} accounts (primary calendar set) in {time.perf_counter() - started:.1f}s")
            kinds = {one: Bookings([SOLO], slots, metadata), many: Bookings(ids[2:], slots, metadata)}
            measured = run_rounds(args, server, radicale, kinds, users[1], Bookings([LATENCY_USER], slots, metadata))
            solo_count = kinds[one].total
    throughput = {}
    for kind in (one, many):
        s = summarize(measured.windows, kind)
        s["failures_by_code"] = dict(measured.failures[kind])
        s["written_after_window_s"] = [round(d, 2) for d in measured.drains[kind]]
        throughput[kind] = s
    latencies = measured.latencies
    latency = {
        "samples": len(latencies),
        "median_ms": 1000 * statistics.median(latencies),
        "p90_ms": 1000 * percentile(latencies, 0.9),
        "min_ms": 1000 * min(latencies),
        "max_ms": 1000 * max(latencies),
    }
    return {
        "threads": args.threads, "users": args.users, "appointment_minutes": args.minutes,
        "throughput": throughput, "push_latency": latency, "solo_appointments": solo_count,
    }


def summary(results: dict[str, Any]) -> None:
    for kind, s in results.get("throughput", {}).items():
        print(
            f"(a) BookAppointment, {kind:<10} median {s['median_rate']:7.1f} calls/s   latency p50 {s['median_latency_ms']:.1f} ms  "
            f"p99 {s['p99_latency_ms']:.1f} ms   server CPU {s['server_cpu_ms_per_call']:.2f} ms/call   "
            f"failed {s['errors']} of {s['calls'] + s['errors']} {s['failures_by_code'] or ''}"
        )
    if "push_latency" in results:
        latency = results["push_latency"]
        print(
            f"(b) response -> event readable on CalDAV: median {latency['median_ms']:.1f} ms, p90 {latency['p90_ms']:.1f} ms "
            f"(min {latency['min_ms']:.1f}, max {latency['max_ms']:.1f}) over {latency['samples']} bookings one at a time"
        )
    for size, s in results.get("sizes", {}).items():
        print(
            f"(c) imported/past {size:>11}: p50 {s['p50_ms']:6.1f} ms  p99 {s['p99_ms']:6.1f} ms  server CPU "
            f"{s['server_cpu_ms_per_call']:6.2f} ms/call  p50 x{s['p50_over_empty']:.2f} of the empty schedule "
            f"(goal <= {growth.GOAL_GROWTH}) failed {s['failures'] or 'none'}"
        )
    if "concurrent" in results:
        c = results["concurrent"]
        print(
            f"(d) {c['threads']} concurrent bookings for one user: median {c['median_booked_per_s']:.1f} booked/s, "
            f"ABORTED {100 * c['aborted_share']:.2f}% (goal <= {100 * growth.GOAL_ABORTED:g}%) {c['outcomes']}"
        )
    for case, r in results.get("during_sync", {}).items():
        print(
            f"(e) during a first sync ({r['sync_seconds']:.1f}s{', FAILED' if r['sync_failed'] else ''}) for {case}: p50 {r['before']['p50_ms']:.1f} -> "
            f"{r['during']['p50_ms']:.1f} ms, p99 {r['during']['p99_ms']:.1f} ms, longest {r['during']['max_ms']:.1f} ms, "
            f"{r['during']['calls']} calls, failed {r['failures_during'] or 'none'}"
        )


if __name__ == "__main__":
    sys.exit(main())
