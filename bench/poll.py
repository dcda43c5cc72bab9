"""The poller at scale: account polls per second, requests and CPU per quiet poll.

A simulated iCloud of ours (an asyncio HTTP/1.1 server in a child process, answering
the CalDAV requests the service makes) holds ``--accounts`` accounts (default 10,000).
As on iCloud, the principal answers on one host and the calendar home lives on a
partition host (a second listener); every home holds two event calendars, whose
``getctag`` equals their sync token. The accounts whose index falls in the changed
share (``--changed``) get a new event in their first calendar at every poll of the
home. Every answer waits ``--latency`` seconds (default 0.3, iCloud's recorded
0.25-0.45 s); the setup runs with no latency.

Setup: the accounts are connected through the service (discovery against the
simulated iCloud), their first calendar made blocking, and every account synced
once. Then each phase makes every account due and runs ``calendar-integration``'s
poller (``SyncScheduler``, ``CALSYNC_SYNC_CONCURRENCY`` polls in flight) in a
worker process until every account was polled once:

1. quiet: no account changed;
2. ``--changed`` (default 1 %) of the accounts changed;
3. with ``--store postgres``: two worker processes on the one PostgreSQL.

For each: account polls per second (goal >= 167, i.e. 10,000 a minute), CalDAV
requests per account poll as the simulated iCloud counted them (goal 1 when quiet),
and the worker's CPU (user + system, all its threads) per account poll (goal <= 3 ms).
With PostgreSQL, the database's transactions and rows fetched per poll come from
``pg_stat_database`` (the whole server: other users of the machine count too).

    .venv/bin/python bench/poll.py                                  # 10,000 accounts, SQLite
    .venv/bin/python bench/poll.py --store postgres                 # + 2 processes on PostgreSQL
    .venv/bin/python bench/poll.py --accounts 2000 --latency 0.1 --concurrency 64

A JSON copy goes to bench/results/. Exits 0 whether goals are met or missed, 1 if
the bench itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

PASSWORD = "abcd-efgh-ijkl-mnop"
CALENDARS = ("home", "work")

# -- the simulated iCloud ------------------------------------------------------------------


class SimulatedICloud:
    """The state and answers of the simulated iCloud (one event loop, no locks)."""

    def __init__(self, accounts: int, partition_origin: str) -> None:
        self.accounts = accounts
        self.partition = partition_origin
        self.latency = 0.0
        self.changed = 0  # accounts 0 .. changed-1 change at every poll of their home
        self.requests = 0
        self.versions: dict[tuple[int, str], int] = {}

    def version(self, account: int, calendar: str) -> int:
        return self.versions.get((account, calendar), 1)

    def answer(self, method: str, path: str, user: str, body: bytes) -> tuple[int, bytes]:
        self.requests += 1
        match = re.fullmatch(r"acct(\d+)@bench\.test", user)
        if match is None or int(match.group(1)) >= self.accounts:
            return 401, b""
        n = int(match.group(1))
        if method == "PROPFIND" and b"current-user-principal" in body:
            return 207, _multistatus(f"<d:response><d:href>{path}</d:href><d:propstat><d:prop><d:current-user-principal>"
                                     f"<d:href>/{n}/principal/</d:href></d:current-user-principal></d:prop>"
                                     "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>")
        if method == "PROPFIND" and b"calendar-home-set" in body:
            return 207, _multistatus(f"<d:response><d:href>{path}</d:href><d:propstat><d:prop><c:calendar-home-set>"
                                     f"<d:href>{self.partition}{n}/calendars/</d:href></c:calendar-home-set></d:prop>"
                                     "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>")
        if method == "PROPFIND" and path == f"/{n}/calendars/":
            if n < self.changed:
                self.versions[(n, "home")] = self.version(n, "home") + 1
            return 207, self._home(n)
        calendar = path.split("/")[3] if path.count("/") >= 4 else ""
        if method == "REPORT" and calendar in CALENDARS and b"sync-collection" in body:
            return 207, self._sync(n, calendar, body)
        if method == "REPORT" and calendar in CALENDARS and b"calendar-multiget" in body:
            hrefs = [h.decode() for h in re.findall(rb"<[\w:]*href>([^<]+)</", body)]
            return 207, _multistatus("".join(self._member(h, with_data=True) for h in hrefs))
        return 404, b""

    def _home(self, n: int) -> bytes:
        entries = [f"<d:response><d:href>/{n}/calendars/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/>"
                   "</d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"]
        for name in CALENDARS:
            token = f"http://bench.test/sync/{n}-{name}-{self.version(n, name)}"
            entries.append(
                f"<d:response><d:href>/{n}/calendars/{name}/</d:href><d:propstat><d:prop>"
                "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
                f"<d:displayname>{name.title()}</d:displayname>"
                '<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>'
                "<d:current-user-privilege-set><d:privilege><d:all/></d:privilege></d:current-user-privilege-set>"
                f"<cs:getctag>{token}</cs:getctag><d:sync-token>{token}</d:sync-token>"
                "</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
            )
        return _multistatus("".join(entries))

    def _sync(self, n: int, calendar: str, body: bytes) -> bytes:
        """Changes since the token: every version's event after it (one per version)."""
        current = self.version(n, calendar)
        found = re.search(rb"<[\w:]*sync-token>[^<]*-(\d+)</", body)
        since = int(found.group(1)) if found else 0
        with_data = b"calendar-data" in body
        members = "".join(
            self._member(f"/{n}/calendars/{calendar}/ev-{v}.ics", with_data) for v in range(since + 1, current + 1)
        )
        return _multistatus(members + f"<d:sync-token>http://bench.test/sync/{n}-{calendar}-{current}</d:sync-token>")

    @staticmethod
    def _member(href: str, with_data: bool) -> str:
        version = re.search(r"ev-(\d+)", href)
        v = int(version.group(1)) if version else 0
        data = f"<c:calendar-data>{_ics(href, v)}</c:calendar-data>" if with_data else ""
        return (f'<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:getetag>"{v}"</d:getetag>{data}'
                "</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>")


def _ics(href: str, version: int) -> str:
    day = 1 + version % 27
    return (
        "BEGIN:VCALENDAR&#13;\nVERSION:2.0&#13;\nPRODID:-//bench//EN&#13;\nBEGIN:VEVENT&#13;\n"
        f"UID:{href.rsplit('/', 1)[-1]}&#13;\nDTSTAMP:20260101T000000Z&#13;\n"
        f"DTSTART:202603{day:02d}T090000Z&#13;\nDTEND:202603{day:02d}T093000Z&#13;\n"
        "SUMMARY:Busy&#13;\nEND:VEVENT&#13;\nEND:VCALENDAR&#13;\n"
    )


def _multistatus(inner: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><d:multistatus xmlns:d="DAV:" '
            'xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">'
            f"{inner}</d:multistatus>").encode()


async def _serve_connection(sim: SimulatedICloud, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
            body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
            if target.startswith("/_control"):
                sim.latency = float(headers.get("x-latency", sim.latency))
                sim.changed = int(headers.get("x-changed", sim.changed))
                status, payload = 200, json.dumps({"requests": sim.requests}).encode()
            else:
                user = base64.b64decode(headers.get("authorization", "Basic ")[6:] or b"").decode().partition(":")[0]
                status, payload = sim.answer(method, target, user, body)
                if sim.latency:
                    await asyncio.sleep(sim.latency)
            reason = {200: "OK", 207: "Multi-Status", 401: "Unauthorized", 404: "Not Found"}[status]
            extra = 'WWW-Authenticate: Basic realm="bench"\r\n' if status == 401 else ""
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml; charset=utf-8\r\n{extra}"
                f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload
            )
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        return
    finally:
        writer.close()


def serve(accounts: int, ports_file: str) -> None:
    async def main() -> None:
        primary = socket.socket()
        primary.bind(("127.0.0.1", 0))
        partition = socket.socket()
        partition.bind(("127.0.0.1", 0))
        sim = SimulatedICloud(accounts, f"http://127.0.0.1:{partition.getsockname()[1]}/")

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _serve_connection(sim, reader, writer)

        servers = [await asyncio.start_server(handle, sock=s, backlog=1024) for s in (primary, partition)]
        Path(ports_file).write_text(json.dumps([primary.getsockname()[1], partition.getsockname()[1]]))
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


def control(port: int, **values: Any) -> dict[str, Any]:
    import requests

    headers = {f"X-{k.title()}": str(v) for k, v in values.items()}
    answer: dict[str, Any] = requests.post(f"http://127.0.0.1:{port}/_control", headers=headers, timeout=10).json()
    return answer


@contextmanager
def simulated_icloud(accounts: int) -> Iterator[int]:
    with tempfile.TemporaryDirectory() as scratch:
        ports = Path(scratch) / "ports.json"
        child = subprocess.Popen([sys.executable, __file__, "--serve", "--accounts", str(accounts), "--ports-file", str(ports)])
        try:
            deadline = time.monotonic() + 30
            while not ports.exists() or not ports.read_text():
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError("the simulated iCloud did not start")
                time.sleep(0.05)
            yield json.loads(ports.read_text())[0]
        finally:
            child.terminate()
            child.wait(10)


# -- the service -----------------------------------------------------------------------------


def setup(settings: Any, accounts: int) -> None:
    """Connects every account, makes its first calendar blocking, syncs it once."""
    from calendar_domain.connection_service import ConnectAccount
    from server.bootstrap import bootstrap

    container = bootstrap(settings)
    container.start()
    try:
        def connect(n: int) -> None:
            outcome = container.connections.connect(ConnectAccount("loc-1", f"u{n}", f"acct{n}@bench.test", PASSWORD))
            home = [c for c in outcome.connection.calendar_list() if c.display_name == "Home"][0]
            container.configurations.add_conflict("loc-1", f"u{n}", str(outcome.connection.id), home.calendar_id)

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(connect, range(accounts)))
        print(f"setup: {accounts} accounts connected in {time.monotonic() - started:.0f} s", flush=True)
        started = time.monotonic()
        container.scheduler.run_due()
        print(f"setup: first sync of every account in {time.monotonic() - started:.0f} s", flush=True)
    finally:
        container.close()


def worker(settings_file: str, accounts: int) -> None:
    """One poller process: polls until no account is due from before it started."""
    from server.bootstrap import bootstrap
    from server.config import Settings

    settings = Settings(**{**json.loads(Path(settings_file).read_text()), "data_dir": Path(json.loads(Path(settings_file).read_text())["data_dir"])})
    container = bootstrap(settings)
    state = container.sync_state
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    mark = time.time()
    container.scheduler.start()
    while True:
        due, _, leased = state.counts(mark, 0.0)
        if due == 0 and leased == 0:
            break
        time.sleep(0.2)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    container.close()
    from adapters import metrics

    polls = sum(s.value for m in metrics.SYNCS.collect() for s in m.samples if s.name.endswith("_total"))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"wall": wall, "cpu": cpu, "polls": polls}), flush=True)


def phase(name: str, settings_file: Path, port: int, accounts: int, processes: int, pg: Any) -> dict[str, Any]:
    make_all_due(settings_file)
    requests_before = control(port)["requests"]
    db_before = pg_stats(pg)
    children = [
        subprocess.Popen([sys.executable, __file__, "--worker", str(settings_file), "--accounts", str(accounts)],
                         stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    results = [json.loads(child.communicate(timeout=3600)[0].strip().splitlines()[-1]) for child in children]
    requests = control(port)["requests"] - requests_before
    db = {k: pg_stats(pg)[k] - v for k, v in db_before.items()} if pg else {}
    polls = sum(r["polls"] for r in results)
    wall = max(r["wall"] for r in results)
    cpu = sum(r["cpu"] for r in results)
    figures = {
        "phase": name, "processes": processes, "polls": polls, "wall_s": round(wall, 2),
        "polls_per_s": round(polls / wall, 1), "polls_per_s_per_process": round(polls / wall / processes, 1),
        "requests_per_poll": round(requests / max(polls, 1), 3),
        "cpu_ms_per_poll": round(1000 * cpu / max(polls, 1), 2),
        **{f"db_{k}_per_poll": round(v / max(polls, 1), 2) for k, v in db.items()},
    }
    print(json.dumps(figures), flush=True)
    return figures


def make_all_due(settings_file: Path) -> None:
    from server.bootstrap import operational_database
    from server.config import Settings

    raw = json.loads(settings_file.read_text())
    settings = Settings(**{**raw, "data_dir": Path(raw["data_dir"])})
    db = operational_database(settings, "sync")
    db.execute("UPDATE {t}sync_lease SET next_due_at = 0, leased_until = 0, holder = ''")
    db.close()


def pg_stats(pg: Any) -> dict[str, int]:
    if pg is None:
        return {}
    row = pg.execute("SELECT xact_commit + xact_rollback, tup_fetched, tup_inserted + tup_updated + tup_deleted "
                     "FROM pg_stat_database WHERE datname = current_database()").fetchone()
    pg.execute("SELECT pg_stat_clear_snapshot()")
    return {"transactions": int(row[0]), "rows_read": int(row[1]), "rows_written": int(row[2])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--concurrency", type=int, default=0, help="CALSYNC_SYNC_CONCURRENCY (default: the setting's)")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ports-file", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.accounts, args.ports_file)
        return 0
    if args.worker:
        worker(args.worker, args.accounts)
        return 0

    from tests.support.stores import settings_for

    results: list[dict[str, Any]] = []
    overrides: dict[str, Any] = {"sync_enabled": False, "parse_processes": 0, "caldav_timeout": 60, "sync_interval": 3600}
    if args.concurrency:
        overrides["sync_concurrency"] = args.concurrency
    with simulated_icloud(args.accounts) as port, tempfile.TemporaryDirectory() as scratch:
        with settings_for(args.store, Path(scratch), caldav_url=f"http://127.0.0.1:{port}/", **overrides) as settings:
            settings_file = Path(scratch) / "settings.json"
            settings_file.write_text(json.dumps(dataclasses.asdict(settings), default=str))
            setup(settings, args.accounts)
            pg = None
            if args.store == "postgres":
                import psycopg

                pg = psycopg.connect(settings.postgres_url, autocommit=True)
            control(port, latency=args.latency, changed=0)
            results.append(phase("quiet", settings_file, port, args.accounts, 1, pg))
            control(port, changed=int(args.accounts * args.changed))
            results.append(phase(f"{args.changed:.0%} changed", settings_file, port, args.accounts, 1, pg))
            if pg is not None:
                control(port, changed=0)
                results.append(phase("quiet, 2 processes", settings_file, port, args.accounts, 2, pg))
                pg.close()
    quiet = results[0]
    goals = {
        "quiet polls/s per process >= 167": quiet["polls_per_s_per_process"] >= 167,
        "requests per quiet poll == 1": quiet["requests_per_poll"] <= 1.0,
        "CPU ms per quiet poll <= 3": quiet["cpu_ms_per_poll"] <= 3,
    }
    for goal, met in goals.items():
        print(f"{goal}: {'goal met' if met else 'goal missed'}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out / f"poll-{args.store}-{stamp}.json").write_text(json.dumps(
        {"args": vars(args), "results": results, "goals": goals, "load": os.getloadavg()}, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as failure:  # noqa: BLE001 - the bench itself failed
        print(f"bench failed: {failure!r}", file=sys.stderr)
        sys.exit(1)
