"""The cost of polling subscribed feeds with nothing changed: polls a second, CPU and
requests per poll, events recorded.

A feed server of ours (an asyncio HTTP/1.1 keep-alive server on 127.0.0.1, in a child
process so that its CPU is not the service's) serves ``--feeds`` feeds (default 1,000)
at ``/feed/<n>.ics``, each a VCALENDAR of ``--events`` events (default 20: a holiday /
rental feed, all-day stays and timed events, some yearly or weekly series), with a
strong ETag and a Last-Modified, answering 304 to a matching If-None-Match (or, without
one, to an If-Modified-Since not older than the feed). It counts requests by status and
the TCP connections it accepted (``/_stats``); ``/_control`` switches it to answer 200
with the full body every time, no validators (a server that ignores conditional GET).

The service runs in this process (``server.bootstrap.bootstrap``, its periodic sync off,
its followers on): ``--feeds`` users (``u<n>``, sub-account ``bench``) subscribe one feed
each through ``container.connections.subscribe``, and every feed is synced once (its
events recorded, the availability model waited for). Then each phase, ``--rounds`` times
(default 3), makes every feed account due and runs the poller (``scheduler.run_due()``,
``--concurrency`` polls in flight, default 64) until each was polled once:

1. quiet, with validators: every poll a conditional GET answered 304;
2. no validators: every poll a 200 with the same body; the service digests it, finds
   the digest it read last, and records nothing.

For each (median of the rounds): polls a second, this process's CPU (user + system,
every thread, from ``resource.getrusage``) per poll, HTTP requests per poll and their
statuses, new TCP connections per poll, events recorded (log positions, goal 0), the
feed server's CPU per request and, with PostgreSQL, the database's transactions per
poll and rows written per poll (``pg_stat_database``: the whole database, anything else using it counts too).
Every feed is on one host, and the service's request rate (``CALSYNC_CALDAV_RATE``, 400 a
second over every host, feeds and iCloud alike) bounds polls a second unless ``--rate``
says otherwise (0: no limit). The parse pool (``--parse-processes``, default 0: parsing in this process) has nothing
to parse in either phase. Each round also notes the load average and how many cores
other processes used meanwhile.

    .venv/bin/python bench/feeds.py                          # 1,000 feeds, SQLite
    .venv/bin/python bench/feeds.py --store postgres         # PostgreSQL at 127.0.0.1:5432/test (schema created and dropped)
    .venv/bin/python bench/feeds.py --rate 0                 # polls a second bound by this process's CPU
    .venv/bin/python bench/feeds.py --feeds 200 --events 50 --rounds 5 --concurrency 16

A JSON copy goes to bench/results/. Exits 0 whether goals are met or missed, 1 if the
bench itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import hashlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

SUB_ACCOUNT = "bench"
# the figures of a quiet iCloud poll in bench/README.md (poll.py, SQLite, 10,000 accounts)
ICLOUD_QUIET = {"cpu_ms_per_poll": 2.78, "requests_per_poll": 1.00}
CLK_TCK = os.sysconf("SC_CLK_TCK")

# -- the feed server -------------------------------------------------------------------------


def feed_body(n: int, events: int, today: date) -> bytes:
    """Feed ``n``: a rental's calendar and its country's holidays. One event in five is a
    series (yearly holidays, a weekly cleaning); the rest are stays (all day, several
    nights) and timed check-ins over the next months."""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//rental feed//EN", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", f"X-WR-CALNAME:Rental {n}", "X-WR-TIMEZONE:Europe/Berlin",
    ]
    for i in range(events):
        uid = f"{n}-{i}@feeds.bench.test"
        start = today + timedelta(days=(n * 7 + i * 11) % 180)
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z"]
        if i % 5 == 0:  # a series: a public holiday every year, or a weekly cleaning
            if i % 10 == 0:
                lines += [f"DTSTART;VALUE=DATE:{start:%Y%m%d}", f"DTEND;VALUE=DATE:{start + timedelta(days=1):%Y%m%d}",
                          "RRULE:FREQ=YEARLY", f"SUMMARY:Holiday {i}", "TRANSP:OPAQUE"]
            else:
                lines += [f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%d}T100000",
                          f"DTEND;TZID=Europe/Berlin:{start:%Y%m%d}T130000",
                          "RRULE:FREQ=WEEKLY;COUNT=26", f"EXDATE;TZID=Europe/Berlin:{start + timedelta(weeks=2):%Y%m%d}T100000",
                          "SUMMARY:Cleaning"]
        elif i % 2:
            nights = 2 + (n + i) % 6
            lines += [f"DTSTART;VALUE=DATE:{start:%Y%m%d}", f"DTEND;VALUE=DATE:{start + timedelta(days=nights):%Y%m%d}",
                      "SUMMARY:Reserved", f"DESCRIPTION:Reservation URL: https://rentals.bench.test/r/{n}x{i}\\n"
                      f"Phone number (last 4 digits): {1000 + (n * 31 + i) % 9000}"]
        else:
            lines += [f"DTSTART:{start:%Y%m%d}T140000Z", f"DTEND:{start:%Y%m%d}T160000Z",
                      "SUMMARY:Check-in", "LOCATION:Hauptstrasse 1\\, Berlin"]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


class Feeds:
    """The feeds' bodies and validators, and what was asked of them (one event loop, no locks)."""

    def __init__(self, feeds: int, events: int) -> None:
        today = datetime.now(UTC).date()
        self.bodies = [feed_body(n, events, today) for n in range(feeds)]
        self.etags = [f'"{hashlib.sha256(b).hexdigest()[:32]}"' for b in self.bodies]
        self.modified = datetime(2026, 1, 1, tzinfo=UTC)
        self.last_modified = email.utils.format_datetime(self.modified, usegmt=True)
        self.validators = True
        self.statuses: Counter[int] = Counter()
        self.conditional = 0  # requests that carried If-None-Match or If-Modified-Since
        self.connections = 0

    def answer(self, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        path = target.split("?", 1)[0]
        if not (path.startswith("/feed/") and path.endswith(".ics") and path[6:-4].isdigit()):
            return 404, {}, b""
        n = int(path[6:-4])
        if n >= len(self.bodies):
            return 404, {}, b""
        if "if-none-match" in headers or "if-modified-since" in headers:
            self.conditional += 1
        if not self.validators:
            return 200, {"Content-Type": "text/calendar; charset=utf-8"}, self.bodies[n]
        validators = {"ETag": self.etags[n], "Last-Modified": self.last_modified}
        if self._fresh(n, headers):
            return 304, validators, b""
        return 200, {**validators, "Content-Type": "text/calendar; charset=utf-8"}, self.bodies[n]

    def _fresh(self, n: int, headers: dict[str, str]) -> bool:
        if "if-none-match" in headers:  # RFC 9110: If-Modified-Since is ignored when this is sent
            return any(tag.strip().removeprefix("W/") == self.etags[n] for tag in headers["if-none-match"].split(","))
        if "if-modified-since" in headers:
            try:
                since = email.utils.parsedate_to_datetime(headers["if-modified-since"])
            except (TypeError, ValueError):
                return False
            return since is not None and since.tzinfo is not None and since >= self.modified
        return False


REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found"}


async def _serve_connection(feeds: Feeds, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    feeds.connections += 1
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = header.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            await reader.readexactly(int(headers.get("content-length", "0") or 0))
            extra: dict[str, str] = {"Content-Type": "application/json"}
            if target.startswith("/_control"):
                feeds.validators = headers.get("x-validators", "1" if feeds.validators else "0") == "1"
                status, payload = 200, b"{}"
            elif target.startswith("/_stats"):
                status, payload = 200, json.dumps({
                    "statuses": {str(k): v for k, v in feeds.statuses.items()}, "conditional": feeds.conditional,
                    "connections": feeds.connections, "cpu": _own_cpu(),
                }).encode()
            else:
                status, extra, payload = feeds.answer(target, headers)
                feeds.statuses[status] += 1
            head = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
            length = f"Content-Length: {len(payload)}\r\n" if status != 304 else ""
            body = payload if method != "HEAD" and status != 304 else b""
            writer.write(f"HTTP/1.1 {status} {REASONS[status]}\r\n{head}{length}\r\n".encode() + body)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        return
    finally:
        writer.close()


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve(feeds: int, events: int, port_file: str) -> None:
    async def main() -> None:
        state = Feeds(feeds, events)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _serve_connection(state, reader, writer)

        server = await asyncio.start_server(handle, sock=listener, backlog=1024)
        Path(port_file).write_text(str(listener.getsockname()[1]))
        await server.serve_forever()

    asyncio.run(main())


@contextmanager
def feed_server(feeds: int, events: int) -> Iterator[tuple[int, int]]:
    """(port, pid) of the feed server in a child process."""
    with tempfile.TemporaryDirectory() as scratch:
        port_file = Path(scratch) / "port"
        child = subprocess.Popen([sys.executable, __file__, "--serve", "--feeds", str(feeds), "--events", str(events),
                                  "--port-file", str(port_file)])
        try:
            deadline = time.monotonic() + 60
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError("the feed server did not start")
                time.sleep(0.05)
            yield int(port_file.read_text()), child.pid
        finally:
            child.terminate()
            child.wait(10)


def ask(port: int, path: str, **headers: str) -> dict[str, Any]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, headers=headers)
        answer: dict[str, Any] = json.loads(conn.getresponse().read())
        return answer
    finally:
        conn.close()


# -- the service ------------------------------------------------------------------------------


def setup(container: Any, port: int, feeds: int) -> list[str]:
    """Subscribes user u<n> to feed n (8 at a time), syncs every feed once; returns the
    feed account ids."""
    from calendar_domain.subscriptions import SubscribeCalendar
    from tests.support.waiting import wait_for

    def subscribe(n: int) -> str:
        outcome = container.connections.subscribe(SubscribeCalendar(
            SUB_ACCOUNT, f"u{n}", url=f"http://127.0.0.1:{port}/feed/{n}.ics", request_id=f"bench-sub-{n}",
        ))
        return str(outcome.connection.account_id)

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        accounts = list(pool.map(subscribe, range(feeds)))
    subscribed = time.monotonic() - started
    print(f"setup: {feeds} subscriptions in {subscribed:.1f} s ({1000 * subscribed / feeds:.1f} ms each, 8 at a time)",
          flush=True)
    head = container.app.head_position()
    wait_for(lambda: container.follower.position >= head, "the connections model to read every subscription", 300)
    started = time.monotonic()
    for account_id in accounts:
        container.sync_state.due_now(account_id, time.time(), wake=False)
    synced = container.scheduler.run_due()
    head = container.app.head_position()
    wait_for(lambda: container.availability_follower.position >= head, "the availability model to read the feeds", 600)
    first = time.monotonic() - started
    print(f"setup: first sync of {synced} feeds in {first:.1f} s (availability model included); log head {head}",
          flush=True)
    if synced != feeds:
        raise RuntimeError(f"the first sync polled {synced} feeds, not {feeds}")
    return accounts


def other_busy(own_pids: list[int]) -> tuple[int, int]:
    """(jiffies every CPU was busy, jiffies of the given processes) now."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
    own = 0
    for pid in own_pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        own += int(stat[11]) + int(stat[12])  # utime, stime
    return busy, own


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").glob("[0-9]*/comm"):
        try:
            if entry.read_text().strip().startswith("postgres"):
                pids.append(int(entry.parent.name))
        except (OSError, ValueError):
            continue
    return pids


def pg_stats(pg: Any) -> tuple[int, int]:
    """(transactions, rows inserted, updated or deleted) of the whole database so far."""
    if pg is None:
        return 0, 0
    row = pg.execute("SELECT xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted "
                     "FROM pg_stat_database WHERE datname = current_database()").fetchone()
    pg.execute("SELECT pg_stat_clear_snapshot()")
    return int(row[0]), int(row[1])


def feed_polls_by_outcome() -> dict[str, float]:
    from adapters import metrics

    return {s.labels["outcome"]: s.value for m in metrics.FEED_POLLS.collect() for s in m.samples
            if s.name.endswith("_total")}


def one_round(container: Any, accounts: list[str], port: int, server_pid: int, pg: Any) -> dict[str, Any]:
    now = time.time()
    for account_id in accounts:
        container.sync_state.due_now(account_id, now, wake=False)
    own_pids = [os.getpid(), server_pid] + (postgres_pids() if pg is not None else [])
    stats_before = ask(port, "/_stats")
    outcomes_before = feed_polls_by_outcome()
    head_before = container.app.head_position()
    db_before = pg_stats(pg)
    busy_before, own_before = other_busy(own_pids)
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    polls = container.scheduler.run_due()
    wall = time.monotonic() - started
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    busy_after, own_after = other_busy(own_pids)
    db_after = pg_stats(pg)
    head_after = container.app.head_position()
    outcomes = {k: v - outcomes_before.get(k, 0) for k, v in feed_polls_by_outcome().items()}
    stats = ask(port, "/_stats")
    statuses = {k: v - stats_before["statuses"].get(k, 0) for k, v in stats["statuses"].items()}
    requests = sum(statuses.values())
    cpu = (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)
    per = max(polls, 1)
    return {
        "polls": polls, "wall_s": round(wall, 3), "polls_per_s": round(polls / wall, 1),
        "cpu_ms_per_poll": round(1000 * cpu / per, 3),
        "requests_per_poll": round(requests / per, 3),
        "statuses": {k: v for k, v in statuses.items() if v},
        "conditional_requests": stats["conditional"] - stats_before["conditional"],
        "new_connections_per_poll": round((stats["connections"] - stats_before["connections"]) / per, 3),
        "server_cpu_ms_per_request": round(1000 * (stats["cpu"] - stats_before["cpu"]) / max(requests, 1), 3),
        "events_recorded": head_after - head_before,
        "outcomes": {k: int(v) for k, v in outcomes.items() if v},
        **({"db_transactions_per_poll": round((db_after[0] - db_before[0]) / per, 2),
            "db_rows_written_per_poll": round((db_after[1] - db_before[1]) / per, 2)} if pg is not None else {}),
        "other_cores": round(max(0, (busy_after - busy_before) - (own_after - own_before)) / CLK_TCK / wall, 2),
        "load": [round(v, 2) for v in os.getloadavg()],
    }


def phase(name: str, rounds: int, container: Any, accounts: list[str], port: int, server_pid: int,
          pg: Any) -> dict[str, Any]:
    runs = []
    for i in range(rounds):
        run = one_round(container, accounts, port, server_pid, pg)
        print(f"{name}, round {i + 1}: {json.dumps(run)}", flush=True)
        runs.append(run)
    keys = ["polls_per_s", "cpu_ms_per_poll", "requests_per_poll", "new_connections_per_poll",
            "server_cpu_ms_per_request", "other_cores"]
    keys += ["db_transactions_per_poll", "db_rows_written_per_poll"] if pg is not None else []
    median = {k: statistics.median(r[k] for r in runs) for k in keys}
    summary = {"phase": name, **median, "events_recorded": sum(r["events_recorded"] for r in runs),
               "polls": [r["polls"] for r in runs], "rounds": runs}
    print(f"{name}: " + ", ".join(f"{k} {v:g}" for k, v in median.items())
          + f", events recorded {summary['events_recorded']}", flush=True)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20, help="events in each feed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64, help="CALSYNC_SYNC_CONCURRENCY")
    parser.add_argument("--rate", type=float, default=None,
                        help="CALSYNC_CALDAV_RATE: requests a second over every host (default: the setting's, 400; 0: none)")
    parser.add_argument("--parse-processes", type=int, default=0, help="CALSYNC_PARSE_PROCESSES (0: in this process)")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.feeds, args.events, args.port_file)
        return 0

    from server.bootstrap import bootstrap
    from tests.support.stores import settings_for

    load_at_start = os.getloadavg()
    overrides: dict[str, Any] = {
        "sync_enabled": False, "feed_allow_private": True, "sync_concurrency": args.concurrency,
        "parse_processes": args.parse_processes, "sync_interval": 3600, "sync_active_interval": 3600,
    }
    if args.rate is not None:
        overrides["caldav_rate"] = args.rate
    results: list[dict[str, Any]] = []
    with feed_server(args.feeds, args.events) as (port, server_pid), tempfile.TemporaryDirectory() as scratch:
        with settings_for(args.store, Path(scratch), **overrides) as settings:
            container = bootstrap(settings)
            container.start()
            pg = None
            try:
                accounts = setup(container, port, args.feeds)
                if args.store == "postgres":
                    import psycopg

                    pg = psycopg.connect(settings.postgres_url, autocommit=True)
                ask(port, "/_control", **{"X-Validators": "1"})
                results.append(phase("quiet, validators (304)", args.rounds, container, accounts, port, server_pid, pg))
                ask(port, "/_control", **{"X-Validators": "0"})
                results.append(phase("no validators (200, same body)", args.rounds, container, accounts, port,
                                     server_pid, pg))
            finally:
                if pg is not None:
                    pg.close()
                container.close()
    goals: dict[str, bool] = {}
    for result in results:
        goals[f"{result['phase']}: requests per poll == 1.0"] = result["requests_per_poll"] == 1.0
        goals[f"{result['phase']}: events recorded == 0"] = result["events_recorded"] == 0
    print(f"for reference, a quiet iCloud poll (bench/README.md): {ICLOUD_QUIET['cpu_ms_per_poll']} ms CPU, "
          f"{ICLOUD_QUIET['requests_per_poll']:.2f} requests")
    for goal, met in goals.items():
        print(f"{goal}: {'goal met' if met else 'goal missed'}")
    load_at_end = os.getloadavg()
    print(f"load average at start {load_at_start[0]:.1f}, at end {load_at_end[0]:.1f}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out / f"feeds-{args.store}-{stamp}.json").write_text(json.dumps(
        {"args": vars(args), "results": results, "goals": goals, "icloud_quiet_reference": ICLOUD_QUIET,
         "load_at_start": load_at_start, "load_at_end": load_at_end}, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as failure:  # noqa: BLE001 - the bench itself failed
        print(f"bench failed: {failure!r}", file=sys.stderr)
        sys.exit(1)
