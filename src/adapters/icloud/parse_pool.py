"""Parsing fetched resources on the machine's other cores.

Reading iCalendar with icalendar is pure Python: a first sync of thousands of
resources spends most of its time there, on one core, under one GIL. A large
fetch is therefore handed, in chunks as its multiget batches arrive, to worker
processes (started with ``spawn``: the server's gRPC threads must not be forked),
while this process goes on fetching. A small fetch (the usual incremental sync)
is parsed in place: shipping it would cost more than it saves.

Each chunk gives exactly what parsing in place gives (``imported_series`` is the
one function either way); a failure in a worker fails the sync as it would here.

Workers die with their parent, however it dies (SIGKILL included): each watches
its parent and ends when it is gone. (``PR_SET_PDEATHSIG`` would fire when the
parent's *thread* that started the worker ends, which in a threaded server is any
sync thread.) With the workers gone, multiprocessing's resource tracker reads
the end of its pipe and ends too.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime

from adapters.icloud.resources import imported_series
from calendar_domain.schedule import ImportedSeries, SkippedResource

log = logging.getLogger(__name__)

Parsed = dict[tuple[str, str], ImportedSeries | SkippedResource]  # (href, time zone) -> result
POOL_MINIMUM = 64  # resources in one fetch below which parsing stays in this process
CHUNK = 40  # resources per task: small enough to keep every worker busy to the end
REPORT_EVERY = 200  # resources parsed between two progress reports of a large fetch


def parse_chunk(
    chunk: list[tuple[str, str, str]], zones: list[str], fetched_at: datetime
) -> list[tuple[str, str, ImportedSeries | SkippedResource]]:
    """(href, zone, result) of every resource in every zone (runs in a worker)."""
    return [(href, zone, imported_series(href, etag, body, zone, fetched_at)) for href, etag, body in chunk for zone in zones]


# How often a worker looks whether its parent is still there.
PARENT_WATCH_INTERVAL = 0.5


def die_with_parent(parent: int) -> None:
    """Runs in each worker as it starts: a thread that ends the worker once
    ``parent`` is no longer its parent (it died; the worker was given to init or
    a subreaper)."""

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(PARENT_WATCH_INTERVAL)
        os._exit(0)  # noqa: SLF001 - nothing of the worker's is worth finishing

    if os.getppid() != parent:
        os._exit(0)
    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


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
        self,
        resources: Iterable[tuple[str, str, str]],
        zones: list[str],
        fetched_at: datetime,
        expected: int,
        progress: Callable[[int], None] | None = None,
    ) -> Parsed:
        """Every (href, etag, body) read in every zone. ``expected``: how many
        resources the fetch asked for (decides where they are parsed).
        ``progress``: told how many resources are parsed so far, a chunk at a time."""
        report = progress or (lambda _done: None)
        parsed: Parsed = {}
        if not self._processes or expected < (POOL_MINIMUM if self._minimum is None else self._minimum):
            done = 0
            for href, etag, body in resources:
                for zone in zones:
                    parsed[(href, zone)] = imported_series(href, etag, body, zone, fetched_at)
                done += 1
                if done % REPORT_EVERY == 0:
                    report(done)
            if done % REPORT_EVERY:
                report(done)
            return parsed
        pool = self._executor()
        futures: list[tuple[int, Future[list[tuple[str, str, ImportedSeries | SkippedResource]]]]] = []
        chunk: list[tuple[str, str, str]] = []
        collected = 0  # futures whose results are in ``parsed``, in order
        done = reported = 0

        def collect() -> None:
            nonlocal collected, done, reported
            while collected < len(futures) and futures[collected][1].done():
                count, future = futures[collected]
                for href, zone, result in future.result():
                    parsed[(href, zone)] = result
                collected += 1
                done += count
            if done - reported >= REPORT_EVERY or (done > reported and collected == len(futures)):
                report(done)
                reported = done

        try:
            for resource in resources:
                chunk.append(resource)
                if len(chunk) == CHUNK:
                    futures.append((len(chunk), pool.submit(parse_chunk, chunk, zones, fetched_at)))
                    chunk = []
                    collect()
            if chunk:
                futures.append((len(chunk), pool.submit(parse_chunk, chunk, zones, fetched_at)))
            while collected < len(futures):
                futures[collected][1].result()  # the next chunk in order, then any done after it
                collect()
            return parsed
        finally:
            for _, future in futures:
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
                    max_workers=self._processes, mp_context=multiprocessing.get_context("spawn"),
                    initializer=die_with_parent, initargs=(os.getpid(),),
                )
            return self._pool


def _log_failure(future: Future[bool]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("a parser process did not start: %s", future.exception())
