"""Command line: `calendar-integration serve` (the default), `project` (only the
read-model projections, as their own process), `push` (only the writing of
appointments to iCloud, as its own process), `sync` (only the polling of iCloud,
as its own process) and `rebuild availability`."""

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

from server.app import serve, start_when_reachable
from adapters.persistence.parallel_catch_up import ParallelCatchUp
from adapters.persistence.model_lock import ModelInUse
from adapters.persistence.stored_imports import read_range
from calendar_domain.application import CalendarIntegration
from calendar_domain.availability_projection import AvailabilityProjection
from server.bootstrap import Container, application_env, bootstrap
from server.config import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="calendar-integration", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve gRPC, run the projections (default)")
    sub.add_parser("project", help="only follow the log into the read models, until SIGTERM")
    sub.add_parser("push", help="only write appointments to iCloud, until SIGTERM")
    sub.add_parser("sync", help="only poll iCloud accounts (the sync poller), until SIGTERM")
    rebuild = sub.add_parser("rebuild", help="drop a read model and rebuild it from the log")
    rebuild.add_argument("read_model", choices=["availability"])
    rebuild.add_argument(
        "--processes", type=_non_negative, default=min(4, os.cpu_count() or 1),
        help="processes reading the log side by side (default: the cores, at most 4; 0: read it in this one)",
    )
    options = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # what the process does names it in PostgreSQL (pg_stat_activity.application_name)
    settings = replace(settings, process_kind=options.command or "serve")
    if options.command == "rebuild":
        return rebuild_availability(settings, options.processes)
    if options.command == "project":
        project(settings)
        return 0
    if options.command == "push":
        push(settings)
        return 0
    if options.command == "sync":
        sync(settings)
        return 0
    if not settings.auth_tokens:
        print(
            "configuration error: CALSYNC_AUTH_TOKENS is empty; no caller could reach the service",
            file=sys.stderr,
        )
        return 2
    if options.command in (None, "serve"):
        serve(settings)
    return 0



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
    _run_until_stopped(settings, lambda c: c.start_projections(), "following the log into the read models")


def push(settings: Settings) -> None:
    _run_until_stopped(settings, lambda c: c.start_push(standalone=True), "writing appointments to iCloud")


def sync(settings: Settings) -> None:
    _run_until_stopped(settings, lambda c: c.start_sync(), "polling iCloud accounts")


def _run_until_stopped(settings: Settings, start: Callable[[Container], None], doing: str) -> None:
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    container = start_when_reachable(settings, stopping)  # waits for the database, retrying
    if container is None:
        return
    start(container)
    logging.getLogger(__name__).info(doing)
    stopping.wait()
    container.close()


if __name__ == "__main__":
    sys.exit(main())
