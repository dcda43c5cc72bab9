"""Availability: free slots through gRPC, and rebuilding the read model.

A user connects (through the public API) an account on a local Radicale with three
calendars, all three blocking. Their imported events are then written into the
store the way a sync records them (``UserSchedule.apply`` with resources parsed by
the iCloud adapter), since putting 50,000 events through Radicale would measure
Radicale: 5,000 events (200 of them weekly series, some for ever, some with
EXDATEs; the rest single events, some all-day or transparent) spread over the
two years around today, plus the appointments and CRM blocked slots said below.
The calendars' sync health is set to "just synced".

Then, against one `calendar-integration serve` process:

(a) ListFreeSlots for a 7-day window (30-minute slots, 09:00-17:00 Europe/Berlin)
    against Health.Check, in alternating rounds: calls/s, ratio (goal >= 0.5),
    median and p99 latency; measured once the server is idle (its read model at
    the log head and its other log followers done with the seeded events, which
    otherwise take CPU from both kinds of call for a while after it starts);
(b) `calendar-integration rebuild availability` (default readers): events per second over the whole
    log (goal >= 20,000/s), the median of --rebuilds runs (each drops the model and
    builds it again; timed by the command itself, without opening its stores);
(c) (a) again for a user with 50,000 events: the same 5,000 plus 45,000 in the
    ten years before (outside the window). Goal: (a) does not grow with the total.
(d) ListBusyTimes of the user for the same 7-day window (provenance of every busy
    time, what does not block included, titles for the user) against ListFreeSlots,
    in alternating rounds: calls/s, p50 latency, intervals per answer, and the ratio
    (no goal: it says what a free/busy answer costs next to free slots).

Run from the repository root:

    .venv/bin/python bench/availability.py                    # SQLite
    .venv/bin/python bench/availability.py --store postgres   # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python bench/availability.py --sizes 5000       # skip the 50,000 case

The user also has 300 appointments and 50 CRM blocked slots on distinct
half-hours of the working days of the next eight weeks (the window included).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402

from adapters.icloud.resources import imported_series  # noqa: E402
from bench.grpc_unary import (  # noqa: E402
    CALL_TIMEOUT,
    POSTGRES_URL,
    BenchError,
    Load,
    health_call,
    measure_rounds,
    postgres_schema,
    random_key,
    running_server,
    server_command,
    summarize,
    wait_until_idle,
)
from calendar_domain.bookings import AppointmentDetails  # noqa: E402
from calendar_domain.schedule import CalendarChanges, ImportedSeries, UserSchedule  # noqa: E402
from calendarintegration.v1 import availability_pb2 as av  # noqa: E402
from calendarintegration.v1 import availability_pb2_grpc  # noqa: E402
from calendarintegration.v1 import configuration_pb2 as cfg  # noqa: E402
from calendarintegration.v1 import configuration_pb2_grpc  # noqa: E402
from calendarintegration.v1 import connection_pb2 as pb  # noqa: E402
from calendarintegration.v1 import connection_pb2_grpc  # noqa: E402
from server.bootstrap import bootstrap  # noqa: E402
from server.config import Settings  # noqa: E402
from tests.support.caldav_servers import RadicaleServer  # noqa: E402
from tests.support.fixtures import new_account  # noqa: E402

SUB, USER = "loc-1", "u1"
FREE, HEALTH, BUSY = "ListFreeSlots", "Health.Check", "ListBusyTimes"
GOAL_RATIO, GOAL_REBUILD = 0.5, 20_000
CALENDARS = ("home", "work", "family")
APPOINTMENTS, CRM_BLOCKS = 300, 50
QUIET_KEEP = 40  # in an ordinary week (--week ordinary), one event in this many stays
RESULTS_DIR = ROOT / "bench" / "results"


def vevent(uid: str, lines: list[str]) -> str:
    body = "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z", *lines, "END:VEVENT"])
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n{body}\r\nEND:VCALENDAR\r\n"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def resources(
    count: int, recurring: int, around: datetime, spread_days: int, rng: random.Random,
    quiet: tuple[datetime, datetime] | None = None,
) -> Iterator[tuple[str, str]]:
    """(name, iCalendar text) of ``count`` events starting within ``spread_days``
    around ``around`` (``recurring`` of them weekly series). ``quiet``: a window
    where only one event in QUIET_KEEP stays (single events starting there are left
    out, series skip their occurrence there with an EXDATE), so that it holds an
    ordinary week's free time."""
    for i in range(count):
        uid = f"bench-{uuid.UUID(int=rng.getrandbits(128))}"
        day = around + timedelta(days=rng.randrange(-spread_days // 2, spread_days // 2))
        start = day.replace(hour=rng.randrange(7, 19), minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0)
        end = start + timedelta(minutes=rng.choice((30, 45, 60, 90, 120)))
        kept = quiet is None or i % QUIET_KEEP == 0
        if not kept and i >= recurring and quiet[0] - timedelta(days=1) <= start < quiet[1]:  # type: ignore[index]
            continue
        when = [f"DTSTART;TZID=Europe/Berlin:{stamp(start)}", f"DTEND;TZID=Europe/Berlin:{stamp(end)}"]
        if i < recurring:
            rule = "RRULE:FREQ=WEEKLY" + ("" if i % 3 == 0 else f";COUNT={rng.randrange(10, 80)}")
            skipped = [start + timedelta(weeks=2)]
            if not kept and start < quiet[1]:  # type: ignore[index]
                weeks = max(0, -(-(quiet[0] - timedelta(days=1) - start).days // 7))  # type: ignore[index]
                skipped += [start + timedelta(weeks=weeks + w) for w in (0, 1)]
            lines = [*when, rule, *(f"EXDATE;TZID=Europe/Berlin:{stamp(s)}" for s in skipped)]
        elif i % 25 == 0:
            lines = [f"DTSTART;VALUE=DATE:{start.strftime('%Y%m%d')}"]
        elif i % 10 == 0:
            lines = [*when, "TRANSP:TRANSPARENT"]
        else:
            lines = when
        yield f"{uid}.ics", vevent(uid, [*lines, f"SUMMARY:Event {i}"])


def seed(
    settings: Settings, connection_id: str, calendar_ids: list[str], batches: list[list[tuple[str, str]]],
    quiet: tuple[datetime, datetime] | None = None,
) -> int:
    """Records the resources as a sync would (one save per 500); returns the log head."""
    container = bootstrap(settings)
    try:
        fetched_at = datetime.now(UTC)
        for batch in batches:
            for c, calendar_id in enumerate(calendar_ids):
                mine = batch[c :: len(calendar_ids)]
                for start in range(0, len(mine), 500):
                    series = [
                        imported_series(f"/{calendar_id}/{name}", f'"{name}"', body, "Europe/Berlin", fetched_at)
                        for name, body in mine[start : start + 500]
                    ]
                    assert all(isinstance(s, ImportedSeries) for s in series)
                    schedule = container.schedules.schedule(SUB, USER)
                    token = f"token-{uuid.uuid4().hex}"
                    schedule.apply(connection_id, CalendarChanges(calendar_id, series, [], [], token, fetched_at))  # type: ignore[arg-type]
                    container.app.record(schedule)
        book_ahead(container, datetime.now(UTC), random.Random(len(batches)), quiet)
        connection = container.connections.get(SUB, connection_id)
        account = str(connection.account_id)
        container.sync_state.ensure_accounts([account], time.time())
        for calendar_id in calendar_ids:
            container.sync_state.started(account, calendar_id, time.time())
            container.sync_state.succeeded(account, calendar_id, time.time() + 3600)  # fresh throughout
        return container.app.head_position()
    finally:
        container.close()


def book_ahead(
    container: Any, now: datetime, rng: random.Random, quiet: tuple[datetime, datetime] | None = None
) -> None:
    """APPOINTMENTS appointments and CRM_BLOCKS CRM blocked slots on distinct
    half-hours of the working days of the next eight weeks, recorded as the
    booking service records them (no primary calendar: nothing to push); in
    ``quiet`` only one in QUIET_KEEP of those that fall there."""
    first = (now + timedelta(days=1)).date()
    starts = sorted(
        datetime.combine(first + timedelta(days=d), datetime.min.time(), UTC) + timedelta(hours=h, minutes=m)
        for d in range(56) for h in range(7, 16) for m in (0, 30)
        if (first + timedelta(days=d)).weekday() < 5
    )
    chosen = rng.sample(starts, APPOINTMENTS + CRM_BLOCKS)
    if quiet is not None:
        chosen = [s for i, s in enumerate(chosen) if not quiet[0] <= s < quiet[1] or i % QUIET_KEEP == 0]
    for at in range(0, len(chosen), 50):
        schedule = container.schedules.schedule(SUB, USER)
        for i, start in enumerate(chosen[at : at + 50], start=at):
            end = start + timedelta(minutes=30)
            if i < APPOINTMENTS:
                schedule.book(f"{uuid.UUID(int=i + 1)}", start, end, AppointmentDetails(title=f"Client {i}"), {}, [])
            else:
                schedule.create_block(f"{uuid.UUID(int=10**6 + i)}", start, end, f"Hold {i}")
        container.app.record(schedule)


def connect(address: str, token: str, apple_id: str, password: str, day: tuple[int, int] = (540, 1020)) -> tuple[str, list[str]]:
    """Connects the account, all calendars blocking; working hours Monday to Friday,
    ``day`` (minutes from midnight, Europe/Berlin)."""
    metadata = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(address) as channel:
        answer = connection_pb2_grpc.ConnectionServiceStub(channel).ConnectAccount(
            pb.ConnectAccountRequest(sub_account_id=SUB, user_id=USER, apple_id=apple_id, app_password=password),
            metadata=metadata, timeout=60,
        )
        configurations = configuration_pb2_grpc.CalendarConfigurationServiceStub(channel)
        for calendar in answer.calendars:
            configurations.AddConflictCalendar(
                cfg.AddConflictCalendarRequest(
                    sub_account_id=SUB, user_id=USER,
                    calendar=cfg.CalendarRef(connection_id=calendar.connection_id, calendar_id=calendar.calendar_id),
                ),
                metadata=metadata, timeout=30,
            )
        availability = availability_pb2_grpc.AvailabilityServiceStub(channel)
        hours = av.WorkingHours(
            weekly=[av.WeeklyHours(iso_weekday=d, windows=[av.DayWindow(start_minute=day[0], end_minute=day[1])]) for d in range(1, 6)]
        )
        availability.SetWorkingHours(
            av.SetWorkingHoursRequest(sub_account_id=SUB, user_id=USER, working_hours=hours, time_zone="Europe/Berlin"),
            metadata=metadata, timeout=30,
        )
        availability.SetBookingRules(
            av.SetBookingRulesRequest(sub_account_id=SUB, user_id=USER, booking_rules=av.BookingRules(slot_minutes=30)),
            metadata=metadata, timeout=30,
        )
    return answer.connection.connection_id, [c.calendar_id for c in answer.calendars]


def free_slots_call(token: str, window: tuple[datetime, datetime], min_position: int) -> Callable[[grpc.Channel], Callable[[], Any]]:
    request = av.ListFreeSlotsRequest(sub_account_id=SUB, user_id=USER, window=time_window(window), min_position=min_position)
    return availability_call(token, "ListFreeSlots", request)


def busy_times_call(token: str, window: tuple[datetime, datetime], min_position: int) -> Callable[[grpc.Channel], Callable[[], Any]]:
    request = av.ListBusyTimesRequest(
        sub_account_id=SUB, user_ids=[USER], window=time_window(window),
        include_not_blocking=True, viewer_user_id=USER, min_position=min_position,
    )
    return availability_call(token, "ListBusyTimes", request)


def time_window(window: tuple[datetime, datetime]) -> av.TimeWindow:
    start, end = Timestamp(), Timestamp()
    start.FromDatetime(window[0])
    end.FromDatetime(window[1])
    return av.TimeWindow(start_time=start, end_time=end)


def availability_call(token: str, method: str, request: Any) -> Callable[[grpc.Channel], Callable[[], Any]]:
    """A factory of calls of one AvailabilityService method with one request, per channel."""
    metadata = (("authorization", f"Bearer {token}"),)

    def make(channel: grpc.Channel) -> Callable[[], Any]:
        call = getattr(availability_pb2_grpc.AvailabilityServiceStub(channel), method)
        return lambda: call(request, metadata=metadata, timeout=CALL_TIMEOUT)

    return make


@contextmanager
def store(kind: str, workdir: Path) -> Iterator[tuple[Settings, dict[str, str]]]:
    if kind == "sqlite":
        settings = Settings(data_dir=workdir / "data")
        # no polling: the seeded events are not on the CalDAV server, a sync would remove them
        yield settings, {"CALSYNC_DATA_DIR": str(settings.data_dir), "CALSYNC_SYNC_ENABLED": "false"}
        return
    with postgres_schema() as schema:
        cipher, vault = random_key(), random_key()
        settings = Settings(
            event_store="postgres", postgres_url=POSTGRES_URL, postgres_schema=schema or "",
            cipher_key=cipher, vault_key=vault, data_dir=workdir / "data",
        )
        yield settings, {
            "CALSYNC_DATA_DIR": str(settings.data_dir), "CALSYNC_EVENT_STORE": "postgres",
            "CALSYNC_POSTGRES_URL": POSTGRES_URL, "CALSYNC_POSTGRES_SCHEMA": schema or "",
            "CALSYNC_CIPHER_KEY": cipher, "CALSYNC_VAULT_KEY": vault, "CALSYNC_SYNC_ENABLED": "false",
        }


def one_size(args: argparse.Namespace, total: int, radicale: RadicaleServer) -> dict[str, Any]:
    token = "bench-" + uuid.uuid4().hex
    workdir = Path(tempfile.mkdtemp(prefix="bench-availability-"))
    rng = random.Random(total)
    now = datetime.now(UTC)
    try:
        with store(args.store, workdir) as (settings, env):
            apple_id, password = new_account(radicale)
            for name in CALENDARS:
                radicale.create_calendar(apple_id, password, name, name.title())
            with running_server(args.store, radicale.base_url, token, workdir, env) as server:
                # ordinary: 08:00-18:00, twenty half-hours a day
                day = (480, 1080) if args.week == "ordinary" else (540, 1020)
                connection_id, calendar_ids = connect(server.address, token, apple_id, password, day)
            monday = (now + timedelta(days=7 - now.weekday())).date()
            window = (datetime.combine(monday, datetime.min.time(), UTC), datetime.combine(monday + timedelta(days=7), datetime.min.time(), UTC))
            quiet = window if args.week == "ordinary" else None
            near = list(resources(min(total, 5000), 200, now, 730, rng, quiet))
            batches = [near]
            if total > 5000:  # the rest in the ten years before: outside every window asked
                far = list(resources(total - 5000, 0, now - timedelta(days=6 * 365), 9 * 365, rng))
                batches.append(far)
            started = time.perf_counter()
            head = seed(settings, connection_id, calendar_ids, batches, quiet)
            print(f"[{total}] seeded {sum(map(len, batches))} events (log head {head}) in {time.perf_counter() - started:.1f}s")

            with running_server(args.store, radicale.base_url, token, workdir, env) as server:
                load = Load(server.address, args.threads, "per-thread", {
                    FREE: free_slots_call(token, window, head), HEALTH: health_call,
                    BUSY: busy_times_call(token, window, head),
                })
                try:
                    caught_up = wait_caught_up(server.address, token, window, head)
                    print(f"[{total}] the server's read model reached the log head {caught_up:.1f}s after it was serving")
                    settled = wait_until_idle(server)
                    print(f"[{total}] the server's other log followers were done {settled:.1f}s later")
                    sample = load.calls[FREE][0]()
                    print(f"[{total}] {len(sample.slots)} free slots in the window, read model at {sample.as_of.position}")
                    windows = measure_rounds(load, server, (HEALTH, FREE), args)
                    intervals = len(load.calls[BUSY][0]().users[0].busy_times)
                    print(f"[{total}] {intervals} busy times in the window")
                    busy_windows = measure_rounds(load, server, (FREE, BUSY), args)
                finally:
                    load.close()
            rebuilds = []
            for _ in range(args.rebuilds):
                rebuilds.append(run_rebuild(env, workdir, head))
                print(f"[{total}] rebuild: {head} events in {rebuilds[-1]:.3f}s = {head / rebuilds[-1]:,.0f} events/s")
            rebuild = statistics.median(rebuilds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    free, health = summarize(windows, FREE), summarize(windows, HEALTH)
    busy, free_beside = summarize(busy_windows, BUSY), summarize(busy_windows, FREE)
    return {
        "events": total, "log_events": head, "slots_in_window": len(sample.slots),
        "free_slots": free, "health": health,
        "ratio": free["median_rate"] / health["median_rate"] if health["median_rate"] else 0.0,
        "busy_times": busy, "busy_times_in_window": intervals,
        "busy_vs_free": busy["median_rate"] / free_beside["median_rate"] if free_beside["median_rate"] else 0.0,
        "rebuild_seconds": rebuild, "rebuild_events_per_second": head / rebuild,
        "rebuild_runs_seconds": rebuilds,
    }


def wait_caught_up(address: str, token: str, window: tuple[datetime, datetime], head: int) -> float:
    """Seconds until the server's read model (built at start) has reached ``head``."""
    started = time.perf_counter()
    with grpc.insecure_channel(address) as channel:
        call = free_slots_call(token, window, 0)(channel)
        while call().as_of.position < head:
            if time.perf_counter() - started > 900:
                raise BenchError("the read model did not catch up within 900s")
            time.sleep(0.05)
    return time.perf_counter() - started


def run_rebuild(env: dict[str, str], workdir: Path, head: int) -> float:
    command = [*server_command()[:-1], "rebuild", "availability"]
    result = subprocess.run(
        command, env={**os.environ, **env, "CALSYNC_LOG_LEVEL": "WARNING"}, cwd=workdir,
        capture_output=True, text=True, timeout=600,
    )
    found = re.search(r"up to log position (\d+) in ([\d.]+)s", result.stdout)
    if result.returncode != 0 or found is None or int(found.group(1)) != head:
        raise BenchError(f"rebuild failed: {result.stdout}\n{result.stderr}")
    return float(found.group(2))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds-per-round", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--week", choices=("ordinary", "busy"), default="ordinary",
                        help="the measured week: an ordinary one (about 100 free slots) or as busy as the rest (one)")
    parser.add_argument("--rebuilds", type=int, default=5, help="rebuilds per size (their median is reported)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"availability: store={args.store} sizes={args.sizes} rounds={args.rounds} threads={args.threads} cpus={os.cpu_count()}")
    results = []
    try:
        with RadicaleServer() as radicale:
            for total in args.sizes:
                results.append(one_size(args, total, radicale))
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    print()
    for r in results:
        f, h = r["free_slots"], r["health"]
        print(
            f"{r['events']:>6} events: ListFreeSlots {f['median_rate']:.0f}/s (p50 {f['median_latency_ms']:.2f} ms, "
            f"p99 {f['p99_latency_ms']:.2f} ms) vs Health {h['median_rate']:.0f}/s -> ratio {r['ratio']:.2f} "
            f"(goal >= {GOAL_RATIO}: {'met' if r['ratio'] >= GOAL_RATIO else 'missed'}); rebuild "
            f"{r['rebuild_events_per_second']:,.0f} events/s, median of {len(r['rebuild_runs_seconds'])} "
            f"({min(r['log_events'] / t for t in r['rebuild_runs_seconds']):,.0f}-"
            f"{max(r['log_events'] / t for t in r['rebuild_runs_seconds']):,.0f}) (goal >= {GOAL_REBUILD:,}: "
            f"{'met' if r['rebuild_events_per_second'] >= GOAL_REBUILD else 'missed'})"
        )
    for r in results:
        b = r["busy_times"]
        print(
            f"{r['events']:>6} events: ListBusyTimes {b['median_rate']:.0f}/s (p50 {b['median_latency_ms']:.2f} ms, "
            f"{r['busy_times_in_window']} busy times) = x{r['busy_vs_free']:.2f} the rate of ListFreeSlots beside it"
        )
    if len(results) > 1:
        small, large = results[0], results[-1]
        growth = small["free_slots"]["median_latency_ms"] and large["free_slots"]["median_latency_ms"] / small["free_slots"]["median_latency_ms"]
        print(f"p50 latency {large['events']} vs {small['events']} events: x{growth:.2f} (goal: does not grow with the total)")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"availability-{args.store}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"bench": "availability", "store": args.store, "results": results}, indent=2, default=str) + "\n")
    print(f"results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
