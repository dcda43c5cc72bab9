"""A fleet on one PostgreSQL: booking throughput with one and with two servers, and
the connections each process holds, idle and under load.

The fleet is real processes of the one binary on a fresh schema of the local
PostgreSQL: two `serve` processes (projections, push and sync off in them), a
`project` process, a `push` process and a `sync` process (polls an hour apart, so
that after the first poll of each account it only holds its connections), with
Radicale standing in for iCloud. Every process has its own
CALSYNC_DB_APPLICATION_PREFIX, so that pg_stat_activity tells them apart.

`--users` users connect an account each (Home made primary: every booking is
also written to CalDAV by the push process). Then, in alternating rounds,
`--threads` client threads (a channel each) call BookAppointment in a loop for
`--seconds-per-round`, each call a new slot of the next user round-robin
(override=True): "1 server" sends every call to the first server, "2 servers"
half of the threads to each. After each window the bench waits until every
booking of it is written, so that no push backlog carries into the next.
Reported: calls/s (median over rounds) and their ratio, p50/p99 latency, failed
calls by status; and per process the connections PostgreSQL shows for it, idle
(started, before any call, sampled for a second), under load (the most seen
while the accounts are connected and the rounds run, sampled every 50 ms), and
`--settle` seconds after the load (the pool closes one unused connection every
10 s), next to its pool size.

    .venv/bin/python bench/fleet.py
    .venv/bin/python bench/fleet.py --rounds 3 --threads 16 --users 20 --pool 10

It exits 0 when the bench ran, 1 if it failed. A JSON copy goes to bench/results/.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for bench and tests.support (the package itself is installed)

import grpc  # noqa: E402

from bench.availability import store  # noqa: E402
from bench.bookings import Bookings, Slots, connect_users, wait_written  # noqa: E402
from bench.grpc_unary import (  # noqa: E402
    RESULTS_DIR,
    POSTGRES_URL,
    BenchError,
    ServerProcess,
    new_channel,
    percentile,
    positive_float,
    positive_int,
    wait_until_serving,
    write_results,
)
from calendarintegration.v1 import appointments_pb2_grpc  # noqa: E402
from tests.support.caldav_servers import RadicaleServer, free_port  # noqa: E402
from tests.support.pg_activity import HeldConnections  # noqa: E402

ONE, TWO = "1 server", "2 servers"


@dataclass
class Member:
    """One process of the fleet."""

    name: str
    kind: str
    process: subprocess.Popen[bytes]
    application_name: str
    address: str = ""


class Fleet:
    def __init__(self, env: dict[str, str], workdir: Path, caldav_url: str, token: str, pool: int) -> None:
        self._env = env
        self._workdir = workdir
        self._caldav_url = caldav_url
        self._token = token
        self._pool = pool
        self.run = uuid.uuid4().hex[:6]
        self.members: list[Member] = []

    def start(self, name: str, kind: str) -> Member:
        prefix = f"bench{self.run}-{name}"
        port = free_port() if kind == "serve" else 0
        env = {
            **os.environ, **self._env,
            "CALSYNC_LISTEN": f"127.0.0.1:{port}",
            "CALSYNC_CALDAV_URL": self._caldav_url,
            "CALSYNC_AUTH_TOKENS": json.dumps({self._token: ["*"]}),
            "CALSYNC_LOG_LEVEL": "WARNING",
            "CALSYNC_DB_POOL_SIZE": str(self._pool),
            "CALSYNC_DB_APPLICATION_PREFIX": prefix,
            "CALSYNC_EMBEDDED_PROJECTIONS": "false",
            "CALSYNC_EMBEDDED_PUSH": "false",
            "CALSYNC_SYNC_ENABLED": "false",
            "CALSYNC_SYNC_INTERVAL": "3600",
            "CALSYNC_PARSE_PROCESSES": "0",
        }
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])  # this checkout's code
        command = [sys.executable, "-m", "server.cli", kind]
        with open(self._workdir / f"{name}.log", "wb") as log:
            process = subprocess.Popen(command, env=env, cwd=self._workdir, stdout=log, stderr=subprocess.STDOUT)
        member = Member(name, kind, process, f"{prefix}-{kind}", f"127.0.0.1:{port}" if port else "")
        self.members.append(member)
        if kind == "serve":
            wait_until_serving(ServerProcess(process, member.address, self._workdir / f"{name}.log"))
        return member

    def stop(self) -> None:
        for member in self.members:
            if member.process.poll() is None:
                member.process.send_signal(signal.SIGTERM)
        for member in self.members:
            try:
                member.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                member.process.kill()
                member.process.wait()


@dataclass
class Round:
    kind: str
    calls: int
    errors: collections.Counter[str]
    seconds: float
    latencies: list[float]
    written_after_s: float

    @property
    def rate(self) -> float:
        return self.calls / self.seconds


def window(addresses: list[str], threads: int, seconds: float, bookings: Bookings) -> tuple[int, list[float], float]:
    """``threads`` clients, spread over ``addresses``, book for ``seconds``."""
    channels = [new_channel(addresses[i % len(addresses)], own_connection=True) for i in range(threads)]
    calls = [bookings.call(channel) for channel in channels]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    deadline = [0.0]

    def client(i: int) -> None:
        start.wait()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            try:
                calls[i]()
            except grpc.RpcError:
                continue
            latencies[i].append(time.perf_counter() - began)

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for worker in workers:
        worker.join()
    took = time.perf_counter() - began
    for channel in channels:
        channel.close()
    done = [x for each in latencies for x in each]
    return len(done), done, took


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=positive_int, default=3, help="rounds of each kind (alternating)")
    parser.add_argument("--seconds-per-round", type=positive_float, default=8.0)
    parser.add_argument("--threads", type=positive_int, default=16)
    parser.add_argument("--users", type=positive_int, default=20)
    parser.add_argument("--minutes", type=positive_int, default=5, help="length of each booked slot")
    parser.add_argument("--pool", type=positive_int, default=10, help="CALSYNC_DB_POOL_SIZE of every process")
    parser.add_argument("--settle", type=positive_float, default=60.0,
                        help="seconds of quiet after the rounds before connections are counted again")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    token = "bench-" + uuid.uuid4().hex
    metadata = (("authorization", f"Bearer {token}"),)
    workdir = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    print(f"fleet: rounds={args.rounds} seconds/round={args.seconds_per_round:g} threads={args.threads} "
          f"users={args.users} pool={args.pool} cpus={os.cpu_count()}")
    rounds: list[Round] = []
    try:
        with RadicaleServer() as radicale, store("postgres", workdir) as (_, env):
            fleet = Fleet(env, workdir, radicale.base_url, token, args.pool)
            try:
                fleet.start("project", "project")  # creates the tables alone, then the others
                time.sleep(2)
                servers = [fleet.start("serve-a", "serve"), fleet.start("serve-b", "serve")]
                fleet.start("push", "push")
                fleet.start("sync", "sync")
                prefix = f"bench{fleet.run}-"
                time.sleep(2)
                with HeldConnections(POSTGRES_URL, prefix, 0.1) as idle:  # started, nothing asked of them yet
                    time.sleep(1.0)
                ids = [f"user-{i:03d}" for i in range(args.users)]
                bookings = Bookings(ids, Slots(args.minutes), metadata)
                stub = appointments_pb2_grpc.AppointmentServiceStub(grpc.insecure_channel(servers[1].address))
                with HeldConnections(POSTGRES_URL, prefix, 0.05) as loaded:
                    connect_users(servers[0].address, metadata, radicale, ids)
                    time.sleep(3)  # the sync process's first polls
                    for _ in range(args.rounds):
                        for kind, addresses in ((ONE, [servers[0].address]), (TWO, [s.address for s in servers])):
                            calls, latencies, seconds = window(addresses, args.threads, args.seconds_per_round, bookings)
                            booked, failures = bookings.take()
                            written = wait_written(stub, metadata, booked)
                            rounds.append(Round(kind, calls, collections.Counter(failures), seconds, latencies, written))
                            print(f"  {kind:<9} {calls / seconds:7.1f} calls/s  p50 {1000 * percentile(latencies, 0.5):6.1f} ms  "
                                  f"p99 {1000 * percentile(latencies, 0.99):6.1f} ms  failed {dict(failures) or 0}  "
                                  f"written {written:.1f}s after")
                time.sleep(args.settle)  # the pools give back what the load opened
                with HeldConnections(POSTGRES_URL, prefix, 0.1) as settled:
                    time.sleep(1.0)
                for member in fleet.members:
                    if member.process.poll() is not None:
                        raise BenchError(f"{member.name} exited with {member.process.returncode}")
            except BaseException:
                for member in fleet.members:
                    lines = (workdir / f"{member.name}.log").read_text(errors="replace").splitlines()
                    print(f"--- {member.name}", *lines[-25:], sep="\n", file=sys.stderr)
                raise
            finally:
                fleet.stop()
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    summary: dict[str, Any] = {}
    for kind in (ONE, TWO):
        mine = [r for r in rounds if r.kind == kind]
        latencies = [x for r in mine for x in r.latencies]
        summary[kind] = {
            "rates": [round(r.rate, 1) for r in mine],
            "median_rate": statistics.median(r.rate for r in mine),
            "p50_ms": 1000 * percentile(latencies, 0.5),
            "p99_ms": 1000 * percentile(latencies, 0.99),
            "failed": dict(sum((r.errors for r in mine), collections.Counter())),
        }
    print()
    for kind in (ONE, TWO):
        s = summary[kind]
        print(f"BookAppointment, {kind:<9} median {s['median_rate']:7.1f} calls/s  p50 {s['p50_ms']:.1f} ms  "
              f"p99 {s['p99_ms']:.1f} ms  failed {s['failed'] or 0}   rounds {s['rates']}")
    ratio = summary[TWO]["median_rate"] / summary[ONE]["median_rate"]
    print(f"2 servers / 1 server: {ratio:.2f}x (machine of {os.cpu_count()} cores, shared)")
    held = {}
    print(f"\nconnections held (pool {args.pool} each):  started  under load  {args.settle:g}s after")
    for member in fleet.members:
        name = member.application_name
        held[member.name] = {
            "kind": member.kind, "started": idle.most.get(name, 0), "load": loaded.most.get(name, 0),
            "settled": settled.most.get(name, 0),
        }
        print(f"  {member.name:<10} {member.kind:<8} {idle.most.get(name, 0):8d} {loaded.most.get(name, 0):10d} "
              f"{settled.most.get(name, 0):10d}")
    write_results(args.results_dir, "fleet", "postgres", {
        "rounds": args.rounds, "seconds_per_round": args.seconds_per_round, "threads": args.threads,
        "users": args.users, "pool": args.pool, "throughput": summary, "ratio_two_to_one": ratio,
        "connections": held,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
