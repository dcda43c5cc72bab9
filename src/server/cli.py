"""Command line: `calendar-integration serve` (the default), `project` (only the
read-model projections, as their own process), `push` (only the writing of
appointments to iCloud, as its own process), `sync` (only the polling of iCloud,
as its own process) and `rebuild availability`; and for operators `keys generate`,
`check`, `status`, `connections list|show` and `sync-now`. Exit codes: 0 all
well, 1 something needs attention (or was not found), 2 the service cannot start
as configured (one line says why). The long-running kinds (serve, project, push,
sync) wait for an unreachable PostgreSQL at start, retrying with capped backoff;
the operator commands say so in one line and exit 2."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from server.app import serve, start_when_reachable
from adapters.persistence.parallel_catch_up import ParallelCatchUp
from adapters.persistence.model_lock import ModelInUse
from adapters.persistence.stored_imports import read_range
from calendar_domain.application import CalendarIntegration
from calendar_domain.availability_projection import AvailabilityProjection
from server.bootstrap import Container, application_env, bootstrap
from server import operator, relay
from server.config import PREFIX, ConfigError, Settings
from server.logs import configure_logging
from server.observability import start_metrics
from calendar_domain.telemetry import happened

log = logging.getLogger("server.cli")  # the same name when run as `python -m server.cli`


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="calendar-integration", description=__doc__, epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("serve", help="serve gRPC, run the projections (default)")
    sub.add_parser("project", help="only follow the log into the read models, until SIGTERM")
    sub.add_parser("push", help="only write appointments to iCloud, until SIGTERM")
    sub.add_parser("sync", help="only poll iCloud accounts (the sync poller), until SIGTERM")
    sub.add_parser("relay", help="publish the event log to NATS JetStream, in order, until SIGTERM")
    rebuild = sub.add_parser("rebuild", help="drop a read model and rebuild it from the log")
    rebuild.add_argument("read_model", choices=["availability"])
    rebuild.add_argument(
        "--processes", type=_non_negative, default=min(4, os.cpu_count() or 1),
        help="processes reading the log side by side (default: the cores, at most 4; 0: read it in this one)",
    )
    _operator_commands(sub)
    options = parser.parse_args(argv)
    if options.command == "keys":
        return operator.generate_keys(sys.stdout)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if options.command in OPERATOR_COMMANDS:
        return _failing_in_one_line(lambda: _operate(options, settings))
    if options.command in (None, "serve") and not settings.auth_tokens:
        print(
            f"configuration error: {PREFIX}AUTH_TOKENS is empty; no caller could reach the service: "
            f"""set it to a JSON object of tokens and the sub-accounts each reaches, e.g. '{{"t0k3n": ["*"]}}'""",
            file=sys.stderr,
        )
        return 2
    command = options.command or "serve"
    # what the process does names it in PostgreSQL (pg_stat_activity.application_name)
    settings = replace(settings, process_kind=command)
    if command == "rebuild":
        return _failing_in_one_line(lambda: _start(settings, command, lambda: rebuild_availability(settings, options.processes)))
    if command == "project":
        return _failing_in_one_line(lambda: _start(settings, command, lambda: project(settings)))
    if command == "push":
        return _failing_in_one_line(lambda: _start(settings, command, lambda: push(settings)))
    if command == "sync":
        return _failing_in_one_line(lambda: _start(settings, command, lambda: sync(settings)))
    if command == "relay":
        return _failing_in_one_line(lambda: _start(settings, command, lambda: relay.run(settings)))
    if command == "serve":
        return _failing_in_one_line(lambda: _start(settings, command, lambda: _serve(settings)))
    return 0


# The kinds that wait for PostgreSQL at start, retrying (the relay waits out a
# store that goes away once it runs, but is started against one that answers).
WAITING_KINDS = ("serve", "project", "push", "sync")


def _start(settings: Settings, command: str, run: Callable[[], int | None]) -> int | None:
    """The checks before a process opens anything, then the settings line, then the process."""
    # A long-running kind waits for PostgreSQL to answer (start_when_reachable);
    # what waiting cannot mend (a key missing, the schema missing, a port in use)
    # still stops it at once in one line.
    operator.preflight(settings, wait_for_database=command in WAITING_KINDS)
    if command != "rebuild":
        operator.free_to_listen(settings, grpc_port=command == "serve")
    happened(log, "settings", logging.INFO, command=command, **settings.public())
    return run()


def _serve(settings: Settings) -> int:
    with operator.startup_errors(settings):
        serve(settings)
    return 0


def _failing_in_one_line(run: Callable[[], int | None]) -> int:
    """A set-up mistake is one line naming the setting and the fix, exit 2."""
    try:
        return run() or 0
    except (ConfigError, operator.StartupError) as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return operator.CANNOT_START


OPERATOR_COMMANDS = ("check", "status", "connections", "sync-now")


def _operator_commands(sub: Any) -> None:
    keys = sub.add_parser("keys", help="generate the cipher and vault keys (PostgreSQL requires them)")
    keys.add_argument("action", choices=["generate"], help="print CALSYNC_CIPHER_KEY and CALSYNC_VAULT_KEY lines")
    sub.add_parser(
        "check", help="validate the settings, reach the store and the CalDAV URL, print the effective configuration"
    )
    status = sub.add_parser(
        "status", help="connections by state, stale calendars, push queue, read-model lag, leases (exit 1: attention)"
    )
    status.add_argument("--json", action="store_true", help="one JSON object")
    connections = sub.add_parser("connections", help="list connections, or show one with its calendars' sync health")
    verbs = connections.add_subparsers(dest="verb", required=True, metavar="list|show")
    listing = verbs.add_parser("list", help="connections of every sub-account, oldest first")
    listing.add_argument("--status", default="", choices=["", "active", "reconnect_required", "disconnected"])
    listing.add_argument("--limit", type=_non_negative, default=100)
    listing.add_argument("--json", action="store_true")
    showing = verbs.add_parser("show", help="one connection, its calendars and their sync health")
    showing.add_argument("connection_id")
    showing.add_argument("--json", action="store_true")
    now = sub.add_parser(
        "sync-now", help="sync an account now (an account id, or a connection id for its account); exit 1 unless ok"
    )
    now.add_argument("target", metavar="ACCOUNT|CONNECTION")


def _operate(options: argparse.Namespace, settings: Settings) -> int:
    out = sys.stdout
    if options.command == "check":
        return operator.check(settings, out)
    if options.command == "status":
        return operator.with_container(settings, lambda c: operator.show_status(c, out, options.json))
    if options.command == "connections" and options.verb == "list":
        return operator.with_container(
            settings, lambda c: operator.list_connections(c, out, options.status, options.limit, options.json)
        )
    if options.command == "connections":
        return operator.with_container(
            settings, lambda c: operator.show_connection(c, out, options.connection_id, options.json)
        )
    return operator.with_container(
        settings, lambda c: operator.sync_now(c, options.target, out, operator.is_terminal(out))
    )


def settings_help() -> str:
    """Every setting with its default (docs/configuration.md says what each means)."""
    defaults = Settings.from_env({}).public()
    defaults.update(SHOWN_DEFAULTS)
    lines = ["settings (environment variables; docs/configuration.md says what each means):"]
    lines += [
        f"  {PREFIX}{name.upper():<28} default: {value or '(none)'}"
        for name, value in defaults.items() if name not in NOT_SETTINGS
    ]
    return "\n".join(lines)


# Defaults worked out at start, said in words.
SHOWN_DEFAULTS = {
    "auth_tokens": "(none: serve refuses to start)",
    "cipher_key": "generated into DATA_DIR/keys with SQLite; required with PostgreSQL",
    "vault_key": "generated into DATA_DIR/keys with SQLite; required with PostgreSQL",
    "parse_processes": "the cores, at most 4",
    "postgres_url": "(none; required with postgres)",
}
# Set by the command, not by the environment (it names the process in PostgreSQL).
NOT_SETTINGS = {"process_kind"}


def rebuild_availability(settings: Settings, processes: int = 0) -> int:
    """Drops the availability read model and rebuilds it from the whole log, with
    ``processes`` worker processes reading the log (0: read in this process).

    It refuses to start while another process uses the model (a server, or a
    projection process): they would answer from a model being emptied. A server
    that starts meanwhile waits for the rebuild to end."""
    started = time.perf_counter()
    readers = None
    if processes:  # forked before any store is opened (and any thread started)
        readers = ParallelCatchUp(
            CalendarIntegration, application_env(settings), AvailabilityProjection.topics, read_range, processes=processes
        ).start()
    try:
        opening = time.perf_counter()
        container = bootstrap(settings)
        started += time.perf_counter() - opening  # timed: the readers' start, the drop and the rebuild
        try:
            try:
                container.availability_lock.take_alone()
            except ModelInUse as error:
                print(f"rebuild refused, nothing dropped: {error}", file=sys.stderr)
                return 1
            view = container.availability_view
            if readers is not None:  # they read the log's start while the model is dropped
                readers.prefetch(0, container.app.recorder.max_notification_id() or 0)
                readers.ready()  # a reader that cannot start stops the rebuild before the drop
            with view.rebuilding():
                if readers is not None:
                    position = readers.run(container.app, container.availability_follower.projection)
                else:
                    position = container.availability_follower.catch_up()
            seconds = time.perf_counter() - started
            print(f"availability rebuilt up to log position {position} in {seconds:.3f}s")
        finally:
            container.close()
    finally:
        if readers is not None:
            readers.close()
    return 0


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def project(settings: Settings) -> None:
    _run_until_stopped(settings, lambda c: c.start_projections(), "project")


def push(settings: Settings) -> None:
    _run_until_stopped(settings, lambda c: c.start_push(standalone=True), "push")


def sync(settings: Settings) -> None:
    _run_until_stopped(settings, lambda c: c.start_sync(), "sync")


def _run_until_stopped(settings: Settings, start: Callable[[Container], None], kind: str) -> None:
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    with operator.startup_errors(settings):
        container = start_when_reachable(settings, stopping)  # waits for the database, retrying
        if container is None:
            return
        start(container)
        endpoint = start_metrics(container, kind)
    happened(log, "process.started", kind=kind)
    stopping.wait()
    if endpoint is not None:
        endpoint.stop()
    container.close()
    happened(log, "process.stopped", kind=kind)


if __name__ == "__main__":
    sys.exit(main())
