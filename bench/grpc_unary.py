"""Unary gRPC throughput: GetConnection (a connection read) against Health.Check.

Against ONE running server, started as a separate process exactly as a user would
(`calendar-integration serve`, configured by CALSYNC_* environment variables), with a
real Radicale CalDAV server standing in for iCloud, this measures unary calls per
second of GetConnection and of Health.Check side by side, in interleaved rounds (the
order alternates every round so machine noise hits both alike), and prints both, their
ratio (GetConnection / Health) and median and p99 latency of each.

Goal (from the issue): the ratio is at least 0.5. The script exits 0 whether the goal
is met or missed (it prints which); it exits 1 only if the bench itself failed, e.g.
the server did not start or did not exit cleanly on SIGTERM.

Run from the repository root:

    .venv/bin/python bench/grpc_unary.py                    # SQLite
    .venv/bin/python bench/grpc_unary.py --store postgres   # PostgreSQL on 127.0.0.1:5432

A JSON copy of the results goes to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.support (the package itself is installed)

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from calendarintegration.v1 import connection_pb2 as pb  # noqa: E402
from calendarintegration.v1 import connection_pb2_grpc  # noqa: E402
from tests.support.caldav_servers import RadicaleServer, free_port  # noqa: E402
from tests.support.fixtures import new_account  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
RESULTS_DIR = ROOT / "bench" / "results"
SUB_ACCOUNT = "loc-1"
USER_ID = "u1"
GOAL_RATIO = 0.5
STARTUP_DEADLINE = 60.0
SHUTDOWN_DEADLINE = 30.0
CALL_TIMEOUT = 10.0
GET, HEALTH = "GetConnection", "Health.Check"


class BenchError(RuntimeError):
    """The bench could not run (not a missed goal)."""


# --- the server process ------------------------------------------------------------


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    address: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        # after the ")" field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(server: ServerProcess, *, below: float = 0.05, window: float = 0.5, limit: float = 900.0) -> float:
    """Waits until the server uses less than ``below`` of a core over two windows in
    a row (its log followers have caught up with what was recorded before it
    started); returns the seconds waited. Measuring before that measures them too."""
    started = time.perf_counter()
    quiet = 0
    while quiet < 2:
        if time.perf_counter() - started > limit:
            raise BenchError(f"the server was still busy after {limit:.0f}s")
        before = server.cpu_seconds()
        time.sleep(window)
        quiet = quiet + 1 if (server.cpu_seconds() - before) / window < below else 0
    return time.perf_counter() - started


def server_command() -> list[str]:
    script = Path(sys.executable).parent / "calendar-integration"
    if not script.exists():
        found = shutil.which("calendar-integration")
        if not found:
            raise BenchError("the calendar-integration console script is not installed")
        script = Path(found)
    return [str(script), "serve"]


@contextmanager
def postgres_schema() -> Iterator[str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as db:
            db.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as error:
        raise BenchError(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}") from None
    try:
        yield schema
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as db:
            db.execute(f'DROP SCHEMA "{schema}" CASCADE')


def random_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@contextmanager
def running_server(
    store: str,
    caldav_url: str,
    token: str,
    workdir: Path,
    store_env: dict[str, str] | None = None,
    before_start: Callable[[dict[str, str]], None] | None = None,
) -> Iterator[ServerProcess]:
    """Starts `calendar-integration serve`, waits until Health says SERVING, and on exit
    sends SIGTERM and checks that the process exits (status 0) within a deadline.

    ``store_env``: the CALSYNC_* settings of an existing store to serve (else a new one).
    ``before_start`` gets the server's environment first (to fill its store)."""
    with (postgres_schema() if store == "postgres" and store_env is None else _no_schema()) as schema:
        port = free_port()
        env = {
            **os.environ,
            "CALSYNC_LISTEN": f"127.0.0.1:{port}",
            "CALSYNC_DATA_DIR": str(workdir / "data"),
            "CALSYNC_CALDAV_URL": caldav_url,
            "CALSYNC_AUTH_TOKENS": json.dumps({token: ["*"]}),
            "CALSYNC_LOG_LEVEL": "WARNING",
        }
        if store_env is not None:
            env.update(store_env)
        elif store == "postgres":
            env.update(
                CALSYNC_EVENT_STORE="postgres",
                CALSYNC_POSTGRES_URL=POSTGRES_URL,
                CALSYNC_POSTGRES_SCHEMA=schema or "",
                CALSYNC_CIPHER_KEY=random_key(),
                CALSYNC_VAULT_KEY=random_key(),
            )
        if before_start is not None:
            before_start(env)
        log_path = workdir / "server.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                server_command(), env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT
            )
        server = ServerProcess(process, f"127.0.0.1:{port}", log_path)
        try:
            wait_until_serving(server)
            yield server
        finally:
            stop_server(server)


@contextmanager
def _no_schema() -> Iterator[None]:
    yield None


def wait_until_serving(server: ServerProcess) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    with grpc.insecure_channel(server.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if server.process.poll() is not None:
                raise BenchError(
                    f"the server exited with status {server.process.returncode} while starting:\n"
                    + server.log_tail()
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"the server did not report SERVING within {STARTUP_DEADLINE:g}s:\n" + server.log_tail())
            try:
                # wait_for_ready blocks (bounded) until the port accepts connections
                answer = stub.Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=min(1.0, remaining), wait_for_ready=True
                )
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError as error:
                if error.code() not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE):
                    raise BenchError(f"Health.Check failed while starting: {error.code()} {error.details()}") from None


def stop_server(server: ServerProcess) -> None:
    process = server.process
    if process.poll() is not None:
        raise BenchError(f"the server had already exited with status {process.returncode}:\n" + server.log_tail())
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=SHUTDOWN_DEADLINE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise BenchError(
            f"the server did not exit within {SHUTDOWN_DEADLINE:g}s of SIGTERM (killed):\n" + server.log_tail()
        ) from None
    took = time.monotonic() - started
    if code != 0:
        raise BenchError(f"the server exited with status {code} after SIGTERM:\n" + server.log_tail())
    print(f"server: SIGTERM -> exited with status 0 after {took:.2f}s")


# --- the load ----------------------------------------------------------------------


@dataclass
class Window:
    """One measured window of one call kind."""

    kind: str
    calls: int
    errors: int
    seconds: float
    server_cpu: float
    client_cpu: float
    latencies: list[float] = field(repr=False)

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    @property
    def server_cpu_per_call_ms(self) -> float:
        return 1000 * self.server_cpu / self.calls if self.calls else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def new_channel(address: str, own_connection: bool) -> grpc.Channel:
    # Without a local subchannel pool, channels with equal arguments share one TCP
    # connection through gRPC's global pool; with it, each channel has its own.
    options = [("grpc.use_local_subchannel_pool", 1)] if own_connection else []
    return grpc.insecure_channel(address, options=options)


class Load:
    """N client threads, each calling one unary method in a loop for a fixed time."""

    def __init__(
        self,
        address: str,
        threads: int,
        channel_mode: str,
        calls: dict[str, Callable[[grpc.Channel], Callable[[], Any]]],
    ) -> None:
        """``calls``: per kind, a function making a no-argument call on a channel."""
        self.threads = threads
        if channel_mode == "shared":
            shared = new_channel(address, own_connection=False)
            self.channels = [shared]
            per_thread = [shared] * threads
        else:
            self.channels = [new_channel(address, own_connection=True) for _ in range(threads)]
            per_thread = self.channels
        self.calls: dict[str, list[Callable[[], Any]]] = {
            kind: [make(channel) for channel in per_thread] for kind, make in calls.items()
        }

    def close(self) -> None:
        for channel in self.channels:
            channel.close()

    def run(self, kind: str, seconds: float, server: ServerProcess) -> Window:
        barrier = threading.Barrier(self.threads + 1)
        deadline = [0.0]
        results: list[tuple[list[float], int]] = [([], 0)] * self.threads

        def worker(index: int, call: Callable[[], Any]) -> None:
            latencies: list[float] = []
            errors = 0
            barrier.wait()
            end = deadline[0]
            clock = time.perf_counter
            while True:
                started = clock()
                if started >= end:
                    break
                try:
                    call()
                except grpc.RpcError:
                    errors += 1
                    continue
                latencies.append(clock() - started)
            results[index] = (latencies, errors)

        workers = [
            threading.Thread(target=worker, args=(i, call), name=f"load-{i}")
            for i, call in enumerate(self.calls[kind][: self.threads])
        ]
        for w in workers:
            w.start()
        cpu_before, client_before = server.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        deadline[0] = started + seconds
        barrier.wait()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - started
        cpu_after, client_after = server.cpu_seconds(), time.process_time()
        latencies = [x for lat, _ in results for x in lat]
        errors = sum(e for _, e in results)
        return Window(kind, len(latencies), errors, elapsed, cpu_after - cpu_before, client_after - client_before, latencies)


def health_call(channel: grpc.Channel) -> Callable[[], Any]:
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest(service="")
    return lambda: stub.Check(request, timeout=CALL_TIMEOUT)


def measure_rounds(load: Load, server: ServerProcess, kinds: tuple[str, str], args: argparse.Namespace) -> list[Window]:
    """Warm-up, then ``args.rounds`` rounds of both kinds, the order alternating."""
    windows: list[Window] = []
    for kind in kinds:
        warm = load.run(kind, args.warmup, server)
        if warm.errors:
            raise BenchError(f"{warm.errors} {kind} calls failed during warm-up")
    print(f"{'round':>5} {'kind':<14} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'srv cpu ms/call':>15} {'client cpu':>10} {'errors':>6}")
    for number in range(1, args.rounds + 1):
        order = kinds if number % 2 else kinds[::-1]
        for kind in order:
            w = load.run(kind, args.seconds_per_round, server)
            windows.append(w)
            print(
                f"{number:>5} {kind:<14} {w.rate:>9.0f} {1000 * percentile(w.latencies, 0.5):>8.2f} "
                f"{1000 * percentile(w.latencies, 0.99):>8.2f} {w.server_cpu_per_call_ms:>15.3f} "
                f"{w.client_cpu / w.seconds:>9.0%} {w.errors:>6}"
            )
    return windows


# --- setup through the public API -------------------------------------------------


def connect_account(address: str, token: str, apple_id: str, password: str) -> str:
    metadata = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(address) as channel:
        stub = connection_pb2_grpc.ConnectionServiceStub(channel)
        answer = stub.ConnectAccount(
            pb.ConnectAccountRequest(
                sub_account_id=SUB_ACCOUNT, user_id=USER_ID, apple_id=apple_id, app_password=password
            ),
            metadata=metadata,
            timeout=60,
        )
        connection_id = answer.connection.connection_id
        # read-your-write once, so the measured reads find the connection in the read model
        read = stub.GetConnection(
            pb.GetConnectionRequest(
                sub_account_id=SUB_ACCOUNT, connection_id=connection_id, min_position=answer.position
            ),
            metadata=metadata,
            timeout=30,
        )
        if read.connection.connection_id != connection_id:
            raise BenchError("GetConnection returned another connection")
        return connection_id


# --- main --------------------------------------------------------------------------


def positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=positive_int, default=5)
    parser.add_argument("--seconds-per-round", type=positive_float, default=3.0, help="per call kind")
    parser.add_argument("--threads", type=positive_int, default=8, help="concurrent client threads")
    parser.add_argument(
        "--channel",
        choices=["shared", "per-thread"],
        default="shared",
        help="one channel for all threads (default: loaded the server most in trials) "
        "or one channel with its own connection per thread",
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured calls per kind first")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def summarize(windows: list[Window], kind: str) -> dict[str, Any]:
    mine = [w for w in windows if w.kind == kind]
    latencies = [x for w in mine for x in w.latencies]
    return {
        "rates": [round(w.rate, 1) for w in mine],
        "median_rate": statistics.median(w.rate for w in mine),
        "median_latency_ms": 1000 * percentile(latencies, 0.5),
        "p99_latency_ms": 1000 * percentile(latencies, 0.99),
        "server_cpu_ms_per_call": statistics.median(w.server_cpu_per_call_ms for w in mine),
        "calls": sum(w.calls for w in mine),
        "errors": sum(w.errors for w in mine),
    }


def write_results(results_dir: Path, bench: str, store: str, fields: dict[str, Any]) -> Path:
    """Writes a run's results, with when and on what it ran, as JSON to
    ``results_dir/<bench>-<store>-<time>.json`` and prints where."""
    result = {
        "bench": bench,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "store": store,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        **fields,
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{bench}-{store}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    token = "bench-" + uuid.uuid4().hex
    workdir = Path(tempfile.mkdtemp(prefix="bench-grpc-unary-"))
    print(
        f"grpc_unary: store={args.store} rounds={args.rounds} seconds/round={args.seconds_per_round:g} "
        f"threads={args.threads} channel={args.channel} cpus={os.cpu_count()} grpcio={grpc.__version__}"
    )
    windows: list[Window] = []
    try:
        with RadicaleServer() as radicale:
            apple_id, password = new_account(radicale)
            radicale.create_calendar(apple_id, password, "home", "Home")
            with running_server(args.store, radicale.base_url, token, workdir) as server:
                print(f"server: pid {server.process.pid} serving on {server.address}")
                connection_id = connect_account(server.address, token, apple_id, password)
                metadata = (("authorization", f"Bearer {token}"),)
                get_request = pb.GetConnectionRequest(sub_account_id=SUB_ACCOUNT, connection_id=connection_id)

                def get(channel: grpc.Channel) -> Callable[[], Any]:
                    stub = connection_pb2_grpc.ConnectionServiceStub(channel)
                    return lambda: stub.GetConnection(get_request, metadata=metadata, timeout=CALL_TIMEOUT)

                load = Load(server.address, args.threads, args.channel, {GET: get, HEALTH: health_call})
                try:
                    windows = measure_rounds(load, server, (HEALTH, GET), args)
                finally:
                    load.close()
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    get, health = summarize(windows, GET), summarize(windows, HEALTH)
    ratio = get["median_rate"] / health["median_rate"] if health["median_rate"] else 0.0
    met = ratio >= GOAL_RATIO
    print()
    for kind, s in ((HEALTH, health), (GET, get)):
        print(
            f"{kind:<14} median {s['median_rate']:8.0f} calls/s   latency p50 {s['median_latency_ms']:.2f} ms  "
            f"p99 {s['p99_latency_ms']:.2f} ms   server CPU {s['server_cpu_ms_per_call']:.3f} ms/call   "
            f"errors {s['errors']}"
        )
    print(f"ratio GetConnection/Health = {ratio:.3f} (goal >= {GOAL_RATIO}): {'goal met' if met else 'goal missed'}")

    result = {
        "rounds": args.rounds,
        "seconds_per_round": args.seconds_per_round,
        "threads": args.threads,
        "channel": args.channel,
        "health": health,
        "get_connection": get,
        "ratio": ratio,
        "goal_ratio": GOAL_RATIO,
        "goal_met": met,
    }
    write_results(args.results_dir, "grpc_unary", args.store, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
