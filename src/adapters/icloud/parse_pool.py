"""Parsing fetched resources on the machine's other cores.

Reading iCalendar with icalendar is pure Python: a first sync of thousands of
resources spends most of its time there, on one core, under one GIL. A large
fetch is therefore handed, in chunks as its multiget batches arrive, to worker
processes (started with ``spawn``: the server's gRPC threads must not be forked),
while this process goes on fetching. A small fetch (the usual incremental sync)
is parsed in place: shipping it would cost more than it saves.

Each chunk gives exactly what parsing in place gives (``imported_series`` is the
one function either way); a failure in a worker fails the sync as it would here.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime

from adapters.icloud.resources import imported_series
from calendar_domain.schedule import ImportedSeries, SkippedResource

log = logging.getLogger(__name__)

Parsed = dict[tuple[str, str], ImportedSeries | SkippedResource]  # (href, time zone) -> result
POOL_MINIMUM = 64  # resources in one fetch below which parsing stays in this process
CHUNK = 40  # resources per task: small enough to keep every worker busy to the end


def parse_chunk(
    chunk: list[tuple[str, str, str]], zones: list[str], fetched_at: datetime
) -> list[tuple[str, str, ImportedSeries | SkippedResource]]:
    """(href, zone, result) of every resource in every zone (runs in a worker)."""
    return [(href, zone, imported_series(href, etag, body, zone, fetched_at)) for href, etag, body in chunk for zone in zones]


def _ready() -> bool:
    return True


class ResourceParser:
    """Parses the resources of one fetch, in worker processes when it is large."""

    def __init__(self, processes: int, minimum: int | None = None) -> None:
        self._processes = processes
        self._minimum = minimum
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Starts the workers now, if not yet (they take a moment to import the
        parser), so that a large fetch does not wait for them."""
        if self._processes and self._pool is None:
            pool = self._executor()
            for future in [pool.submit(_ready) for _ in range(self._processes)]:
                future.add_done_callback(_log_failure)

    def parse(
        self, resources: Iterable[tuple[str, str, str]], zones: list[str], fetched_at: datetime, expected: int
    ) -> Parsed:
        """Every (href, etag, body) read in every zone. ``expected``: how many
        resources the fetch asked for (decides where they are parsed)."""
        if not self._processes or expected < (POOL_MINIMUM if self._minimum is None else self._minimum):
            return {
                (href, zone): imported_series(href, etag, body, zone, fetched_at)
                for href, etag, body in resources
                for zone in zones
            }
        pool = self._executor()
        futures: list[Future[list[tuple[str, str, ImportedSeries | SkippedResource]]]] = []
        chunk: list[tuple[str, str, str]] = []
        try:
            for resource in resources:
                chunk.append(resource)
                if len(chunk) == CHUNK:
                    futures.append(pool.submit(parse_chunk, chunk, zones, fetched_at))
                    chunk = []
            if chunk:
                futures.append(pool.submit(parse_chunk, chunk, zones, fetched_at))
            parsed: Parsed = {}
            for future in futures:
                for href, zone, result in future.result():
                    parsed[(href, zone)] = result
            return parsed
        finally:
            for future in futures:
                future.cancel()

    def worker_pids(self) -> list[int]:
        """The worker processes running now (for measurements)."""
        pool = self._pool
        processes = getattr(pool, "_processes", None) or {}
        return sorted(pid for pid in processes if pid)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._processes, mp_context=multiprocessing.get_context("spawn")
                )
            return self._pool


def _log_failure(future: Future[bool]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("a parser process did not start: %s", future.exception())
