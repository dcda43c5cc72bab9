"""Event history: catch-up of a stream over a long log, live latency, and log
followers at start.

Against ONE running server, started as a separate process exactly as a user would
(`calendar-integration serve`, see grpc_unary.py), whose store was first filled with
`--events` events (default 100,000: user schedules whose first syncs import 999
Apple-style blocked slots each, as a real first sync records them), once the
server is idle (its log followers done with the log; it prints how long that took),
this measures

  (a) catch-up: StreamEvents from position 0 until the stream says it has caught up,
      in events per second received by a Python client (median of `--runs`), and
      the server's CPU time per event;
  (b) live latency: with 1 + `--extra-streams` streams (default 64, the default
      CALSYNC_MAX_STREAMS) following from the head, `--changes` bookings one after
      another; for each, the time from the booking's response to its event reaching
      each stream (median, p90, min and max over every booking and stream). A
      negative time means the event arrived before the response did.

Then (c), in this process: the service as `serve` wires it, started over a log of
`--follower-events` events (100 connections, then users who booked 100 appointments
each) that its followers have not read; the seconds until each follower (connections,
push queue, availability) reached the head.

Run from the repository root:

    .venv/bin/python bench/history.py                    # SQLite
    .venv/bin/python bench/history.py --store postgres   # PostgreSQL on 127.0.0.1:5432

It exits 0 when the bench ran, 1 if it failed. A JSON copy of the results goes to
bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for bench and tests.support (the package itself is installed)

import grpc  # noqa: E402

from bench.grpc_unary import (  # noqa: E402
    POSTGRES_URL,
    RESULTS_DIR,
    BenchError,
    percentile,
    positive_int,
    postgres_schema,
    random_key,
    running_server,
    wait_until_idle,
)
from calendar_domain.application import CalendarIntegration  # noqa: E402
from calendar_domain.bookings import AppointmentDetails  # noqa: E402
from calendar_domain.schedule import CalendarChanges, ImportedSeries, UserSchedule  # noqa: E402
from calendarintegration.v1 import appointments_pb2 as ap  # noqa: E402
from calendarintegration.v1 import appointments_pb2_grpc, history_pb2_grpc  # noqa: E402
from calendarintegration.v1 import history_pb2 as hi  # noqa: E402
from server.bootstrap import application_env, bootstrap  # noqa: E402
from server.config import Settings  # noqa: E402
from tests.integration.test_connection_view import connection  # noqa: E402

SUB_ACCOUNT = "loc-bench"
PER_SCHEDULE = 999  # imported slots per first sync; with Started and CalendarSynced, 1,001 events
ZONES = ["Europe/Berlin", "America/New_York"]
WAIT = 120.0
# Nothing answers here; the server has no connections, so it never calls it.
NO_CALDAV = "http://127.0.0.1:9/"


def ical(uid: str, start: datetime) -> str:
    end = start + timedelta(hours=1)
    stamp = "%Y%m%dT%H%M%S"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 14.5//EN\r\n"
        "BEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID=Europe/Berlin:{start.strftime(stamp)}\r\n"
        f"DTEND;TZID=Europe/Berlin:{end.strftime(stamp)}\r\n"
        "SUMMARY:Planning with the team\r\nLOCATION:Room 4\r\nTRANSP:OPAQUE\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def fill_store(env: dict[str, str], events: int) -> int:
    """Records about ``events`` events straight into the server's store (before it
    starts) through the application, as first syncs would; returns how many."""
    settings = Settings.from_env(env)
    app = CalendarIntegration(env=application_env(settings))
    started = time.perf_counter()
    try:
        base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        for user in range(max(1, round(events / (PER_SCHEDULE + 2)))):
            schedule = UserSchedule(SUB_ACCOUNT, f"user-{user}")
            found = []
            for n in range(PER_SCHEDULE):
                uid = f"{uuid.uuid4()}"
                start = base + timedelta(hours=n)
                found.append(
                    ImportedSeries(
                        href=f"/calendars/home/{uid}.ics", etag=f'"{n}"', uid=uid, summary="Planning with the team",
                        location="Room 4", recurring=False, all_day=False, first_start=start,
                        last_end=start + timedelta(hours=1), ical=ical(uid, start),
                    )
                )
            schedule.apply(
                str(uuid.uuid4()),
                CalendarChanges("home", found, [], [], f"token-{user}", base),
            )
            app.save(schedule)
        recorded = app.head_position()
    finally:
        app.close()
    print(f"store: {recorded} events recorded in {time.perf_counter() - started:.1f}s")
    return recorded


def catch_up(address: str, token: str) -> tuple[int, float]:
    """Streams from position 0 until caught up: (events received, seconds)."""
    metadata = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(address) as channel:
        stub = history_pb2_grpc.HistoryServiceStub(channel)
        started = time.perf_counter()
        call = stub.StreamEvents(hi.StreamEventsRequest(after_position=0), metadata=metadata, timeout=600)
        received = 0
        last = 0
        for message in call:
            for event in message.events:
                if event.position <= last:
                    raise BenchError(f"out of order: {event.position} after {last}")
                last = event.position
            received += len(message.events)
            if message.caught_up:
                took = time.perf_counter() - started
                call.cancel()
                return received, took
    raise BenchError("the stream ended before it caught up")


class LiveFollower:
    """A caught-up stream in a thread, noting when each position arrives."""

    def __init__(self, channel: grpc.Channel, token: str, after: int) -> None:
        stub = history_pb2_grpc.HistoryServiceStub(channel)
        # Follows every event from ``after`` on (the head: a stream that follows from now).
        self.call = stub.StreamEvents(
            hi.StreamEventsRequest(after_position=after), metadata=(("authorization", f"Bearer {token}"),)
        )
        self.arrivals: queue.Queue[tuple[int, float]] = queue.Queue()
        self.caught_up = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for message in self.call:
                now = time.perf_counter()
                for event in message.events:
                    self.arrivals.put((event.position, now))
                if message.caught_up:
                    self.caught_up.set()
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self.arrivals.put((-1, 0.0))

    def arrival_of(self, position: int) -> float:
        while True:
            got, at = self.arrivals.get(timeout=WAIT)
            if got < 0:
                raise BenchError("the live stream failed")
            if got == position:
                return at

    def close(self) -> None:
        self.call.cancel()
        self.thread.join(10)


def live_latency(address: str, token: str, changes: int, extra_streams: int, head: int) -> list[float]:
    """For each of ``changes`` bookings made one after another, the time from its
    response to its event's arrival at each of the streams (one entry per booking
    and stream)."""
    metadata = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(address) as channel:
        followers = [LiveFollower(channel, token, head) for _ in range(1 + extra_streams)]
        try:
            for follower in followers:
                if not follower.caught_up.wait(WAIT):
                    raise BenchError("a live stream did not catch up")
            bookings = appointments_pb2_grpc.AppointmentServiceStub(channel)
            first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
            latencies = []
            for n in range(changes):
                start = first + timedelta(minutes=30 * n)
                request = ap.BookAppointmentRequest(
                    sub_account_id=SUB_ACCOUNT, user_id="live", title=f"Booking {n}", override=True,
                    request_id=uuid.uuid4().hex,
                )
                request.start_time.FromDatetime(start)
                request.end_time.FromDatetime(start + timedelta(minutes=25))
                answer = bookings.BookAppointment(request, metadata=metadata, timeout=30)
                responded = time.perf_counter()
                latencies += [follower.arrival_of(answer.position) - responded for follower in followers]
            return latencies
        finally:
            for follower in followers:
                follower.close()


def fill_bookings(settings: Settings, events: int) -> int:
    """About ``events`` events for the followers of connections and of the push
    queue: 100 connections (Connected, CalendarsDiscovered) and users who booked
    100 appointments each. Returns the log's head."""
    app = CalendarIntegration(env=application_env(settings))
    try:
        app.save(*[connection(SUB_ACCOUNT, f"user-{n}") for n in range(100)])
        base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        for user in range(max(1, (events - 200) // 101)):
            schedule = UserSchedule(SUB_ACCOUNT, f"booker-{user}")
            for n in range(100):
                start = base + timedelta(hours=n)
                schedule.book(f"a-{n}", start, start + timedelta(minutes=30), AppointmentDetails(f"Client {n}"), {}, [])
            app.save(schedule)
        return app.head_position()
    finally:
        app.close()


@contextmanager
def follower_store(store: str, workdir: Path) -> Iterator[Settings]:
    """Settings of an empty store for the followers' bench (no sync, no pushes out)."""
    common: dict[str, Any] = {"data_dir": workdir / "data", "sync_enabled": False, "caldav_url": NO_CALDAV}
    if store == "sqlite":
        yield Settings(**common)
        return
    with postgres_schema() as schema:
        yield Settings(
            event_store="postgres", postgres_url=POSTGRES_URL, postgres_schema=schema or "",
            cipher_key=random_key(), vault_key=random_key(), **common,
        )


def followers_at_start(store: str, events: int) -> dict[str, float]:
    """Starts the service (in this process, as ``serve`` wires it) over a log of
    about ``events`` events that its followers have not read, and returns the
    seconds each took to reach the log's head."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-followers-"))
    try:
        with follower_store(store, workdir) as settings:
            head = fill_bookings(settings, events)
            print(f"followers: {head} events recorded (100 connections, bookings of 100 each)")
            container = bootstrap(settings)
            followers = {
                "connections": container.follower,
                "push queue": container.push_follower,
                "availability": container.availability_follower,
            }
            took: dict[str, float] = {}
            started = time.perf_counter()
            container.start()
            try:
                while len(took) < len(followers):  # a bench may poll: each is timed to 20 ms
                    if time.perf_counter() - started > WAIT * 5:
                        raise BenchError(f"followers still behind {head}: {sorted(set(followers) - set(took))}")
                    for name, follower in followers.items():
                        if name not in took and follower.position >= head:
                            took[name] = time.perf_counter() - started
                    time.sleep(0.02)
            finally:
                container.close()
        return {"log_events": head, **took}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--events", type=positive_int, default=100_000)
    parser.add_argument("--runs", type=positive_int, default=3, help="catch-up runs")
    parser.add_argument("--changes", type=positive_int, default=200, help="commands timed live")
    parser.add_argument("--extra-streams", type=int, default=63, help="other live followers meanwhile")
    parser.add_argument(
        "--follower-events", type=int, default=50_000, help="log events for the followers at start (0: skip)"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    token = "bench-" + uuid.uuid4().hex
    workdir = Path(tempfile.mkdtemp(prefix="bench-history-"))
    print(
        f"history: store={args.store} events={args.events} runs={args.runs} changes={args.changes} "
        f"extra streams={args.extra_streams} cpus={os.cpu_count()} grpcio={grpc.__version__}"
    )
    recorded = 0

    def fill(env: dict[str, str]) -> None:
        nonlocal recorded
        env["CALSYNC_SYNC_ENABLED"] = "false"
        recorded = fill_store(env, args.events)

    try:
        with running_server(args.store, NO_CALDAV, token, workdir, before_start=fill) as server:
            settled = wait_until_idle(server)
            print(f"the server's log followers were done with the log {settled:.1f}s after it was serving")
            rates, server_cpu = [], []
            for run in range(1, args.runs + 1):
                cpu_before = server.cpu_seconds()
                received, took = catch_up(server.address, token)
                if received != recorded:
                    raise BenchError(f"caught up after {received} events, not {recorded}")
                rates.append(received / took)
                server_cpu.append((server.cpu_seconds() - cpu_before) / received * 1e6)
                print(
                    f"catch-up run {run}: {received} events in {took:.2f}s = {received / took:,.0f} events/s"
                    f" (server CPU {server_cpu[-1]:.1f} us/event)"
                )
            latencies = live_latency(server.address, token, args.changes, args.extra_streams, recorded)
        started = followers_at_start(args.store, args.follower_events) if args.follower_events else {}
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    result = {
        "bench": "history",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "store": args.store,
        "events": recorded,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "catch_up_events_per_second": [round(r) for r in rates],
        "catch_up_median_events_per_second": statistics.median(rates),
        "catch_up_server_cpu_us_per_event": statistics.median(server_cpu),
        "followers_done_seconds": settled,
        "live_streams": 1 + args.extra_streams,
        "live_latency_median_ms": 1000 * statistics.median(latencies),
        "live_latency_p90_ms": 1000 * percentile(latencies, 0.9),
        "live_latency_min_ms": 1000 * min(latencies),
        "live_latency_max_ms": 1000 * max(latencies),
        "followers_at_start_seconds": started,
    }
    print()
    print(
        f"catch-up from 0: median {result['catch_up_median_events_per_second']:,.0f} events/s over {recorded} events"
        f" (server CPU {result['catch_up_server_cpu_us_per_event']:.1f} us/event)"
    )
    print(
        f"live: booking response -> its event at each of {result['live_streams']} streams: "
        f"median {result['live_latency_median_ms']:.2f} ms, p90 {result['live_latency_p90_ms']:.2f} ms, "
        f"min {result['live_latency_min_ms']:.2f} ms, max {result['live_latency_max_ms']:.2f} ms "
        f"over {args.changes} bookings x {result['live_streams']} streams"
    )
    if started:
        print(
            f"followers at start over {started['log_events']:,.0f} events: "
            + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in started.items() if name != "log_events")
        )
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"history-{args.store}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
