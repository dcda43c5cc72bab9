"""Rebuilding a read model with the log read in other processes.

A rebuild goes through the whole log, and most of its time goes to reading it:
decrypting, decompressing and decoding each event, then working out its rows.
None of that depends on the events before it, so worker processes do it for
consecutive ranges of the log, side by side, and hand back what ``read_range``
made of each stored event in its range (for the availability projection: an
import's rows, or the event itself). This
process applies the ranges strictly in log order, a few ranges' rows and their
tracking position in one transaction, as the follower would: the model built is
the same, only sooner.

Workers are forked when this process runs no other thread (the rebuild command
starts them before it opens its stores: they start at once); otherwise they are
spawned, which is slower to start but never copies another thread's locks.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

# What a reader hands back for the events of the given topics in (start, stop] of
# the application's log, in log order: one item each.
ReadRange = Callable[[Application[Any], int, int, tuple[str, ...]], list[Any]]

# In a worker: the application it reads the log with, the topics, and ``read_range``.
_worker: tuple[Application[Any], tuple[str, ...], ReadRange] | None = None


def _start_worker(
    app_class: type[Application[Any]], env: dict[str, str], topics: tuple[str, ...], read_range: ReadRange
) -> None:
    global _worker
    # readers only: creating the tables from several processes at once races (PostgreSQL)
    _worker = (app_class(env={**env, "CREATE_TABLE": "n"}), topics, read_range)


def _read_range(start: int, stop: int) -> list[Any]:
    assert _worker is not None, "only in a worker"
    app, topics, read_range = _worker
    return read_range(app, start, stop, topics)


class ParallelCatchUp:
    """Brings a projection's view up to the log head with ``processes`` readers.

    ``start`` the readers first where this process has no other thread yet (a
    command, before it opens its stores), so that they are forked."""

    def __init__(
        self,
        app_class: type[Application[Any]],
        env: dict[str, str],
        topics: tuple[str, ...],
        read_range: ReadRange,
        *,
        processes: int,
        batch_size: int = 500,
        transaction_size: int = 10_000,
        start_method: str | None = None,  # by default as the module says
    ) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self._initargs = (app_class, env, topics, read_range)
        self._processes = processes
        self._batch_size = batch_size
        self._start_method = start_method
        self._transaction_size = transaction_size
        self._pool: ProcessPoolExecutor | None = None
        self._started: list[Future[bool]] = []
        # Ranges asked for before ``run`` (``prefetch``): where they start, and each
        # range's end with its future.
        self._prefetched: tuple[int, deque[tuple[int, Future[list[Any]]]]] | None = None

    def start(self) -> ParallelCatchUp:
        if self._pool is None:
            method = self._start_method or ("fork" if threading.active_count() == 1 else "spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=self._processes, mp_context=multiprocessing.get_context(method),
                initializer=_start_worker, initargs=self._initargs,
            )
            # Forked now, while nothing else runs here (with fork, the first task
            # starts every process); each connects to the store on its own while
            # this process goes on opening its stores.
            self._started = [self._pool.submit(_ready) for _ in range(self._processes)]
        return self

    def ready(self) -> None:
        """Waits until every reader has started; raises if one could not (its store
        unreachable, say): a rebuild asks before it drops the model."""
        for started in self.start()._started:
            started.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> ParallelCatchUp:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    def _ahead(self) -> int:
        # ranges read ahead of the one being applied: a transaction's worth, and more
        return max(1, self._transaction_size // self._batch_size) + 2 * self._processes

    def prefetch(self, start: int, head: int) -> None:
        """Starts reading the log after ``start`` up to ``head`` now, for a ``run``
        that will start there (a rebuild: while the model is being dropped). A run
        that starts elsewhere drops what was read."""
        pool = self.start()._pool
        assert pool is not None
        ranges: deque[tuple[int, Future[list[Any]]]] = deque()
        for low in range(start, head, self._batch_size)[: self._ahead()]:
            high = min(low + self._batch_size, head)
            ranges.append((high, pool.submit(_read_range, low, high)))
        self._prefetched = (start, ranges)

    def run(self, app: Application[Any], projection: Any) -> int:
        """Processes the log from the view's position to the head; returns the head."""
        name = app.name
        position = projection.view.max_tracking_id(name) or 0
        head = app.recorder.max_notification_id() or 0
        pending: deque[tuple[int, Future[list[Any]]]] = deque()
        if self._prefetched is not None:
            start, prefetched = self._prefetched
            self._prefetched = None
            if start == position:
                pending = prefetched
            else:
                for _, future in prefetched:
                    future.cancel()
        read_from = pending[-1][0] if pending else position
        ranges = deque((low, min(low + self._batch_size, head)) for low in range(read_from, head, self._batch_size))
        if not ranges and not pending:
            return position
        pool = self.start()._pool
        assert pool is not None
        # Ranges are read a transaction's worth ahead of the one being applied
        # (not the whole log in memory); one transaction takes several ranges,
        # so that an index page is written once for many rows. It takes each
        # range as soon as it is read: this process writes one range's rows while
        # the readers read the next ones.
        per_transaction = max(1, self._transaction_size // self._batch_size)
        ahead = self._ahead()

        def read_ahead() -> None:
            while ranges and len(pending) < ahead:
                low, high = ranges.popleft()
                pending.append((high, pool.submit(_read_range, low, high)))

        def items(count: int) -> Iterator[tuple[Any, Tracking]]:
            for _ in range(count):
                high, future = pending.popleft()
                read_ahead()
                # the transaction records its own position: each event carries its range's
                range_end = Tracking(name, high)
                for event in future.result():
                    yield event, range_end

        while ranges or pending:
            read_ahead()
            count = min(per_transaction, len(pending))
            high = pending[count - 1][0]
            projection.process_batch(items(count), after=position, tracking=Tracking(name, high))
            position = high
        return head


def _ready() -> bool:
    return True
