"""The event-sourced application: one log for every aggregate, in one order.

One application (not one per aggregate type) keeps a single, totally ordered
history, which is what auditors replay and what other services follow.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, Repository
from eventsourcing.persistence import Recording

from calendar_domain.command_locks import CommandLocks
from calendar_domain.schedule import UserSchedule

APPLICATION_NAME = "CalendarIntegration"
A = TypeVar("A")


class _Repository(Repository[uuid.UUID]):
    """The library's repository, where bringing a cached aggregate up to date and
    copying it for the caller happen under one lock per aggregate. The library
    fast-forwards the cached instance in place under a lock of its own and copies
    it after letting go of that lock, so a copy could meet another thread's
    fast-forward halfway (a schedule's resources changing size while copied)."""

    _STRIPES = 64  # locks shared by aggregate id: bounded, whatever the number of aggregates

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._locks = tuple(threading.Lock() for _ in range(self._STRIPES))

    def get(self, aggregate_id: uuid.UUID, **kwargs: Any) -> Any:
        if self.cache is None or kwargs.get("version") is not None:  # the cache is not involved
            return super().get(aggregate_id, **kwargs)
        with self._locks[hash(aggregate_id) % self._STRIPES]:
            return super().get(aggregate_id, **kwargs)


class CalendarIntegration(Application[uuid.UUID]):
    name = APPLICATION_NAME
    # A user with thousands of imported events: load from a snapshot, not from scratch.
    snapshotting_intervals = {UserSchedule: 200}

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[int], None]] = []
        self._listeners_lock = threading.Lock()
        # Commands on one aggregate take turns in this process (``serialised``).
        self.command_locks = CommandLocks()

    def construct_repository(self) -> Repository[uuid.UUID]:
        library = super().construct_repository()
        cache_maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)  # read as the library reads it
        return _Repository(
            library.event_store, snapshot_store=library.snapshot_store,
            cache_maxsize=int(cache_maxsize) if cache_maxsize else None,
            fastforward=library.fastforward, fastforward_skipping=library.fastforward_skipping,
            deepcopy_from_cache=library.deepcopy_from_cache,
        )

    def serialised(self, *aggregate_ids: uuid.UUID) -> AbstractContextManager[None]:
        """A command's turn on these aggregates in this process: hold it over
        load, change and save (and the retries), so that version conflicts come
        from other processes only."""
        return self.command_locks.serialised(*aggregate_ids)

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """Called with the last position after each save in this process, so that
        in-process followers wake at once instead of waiting for their next poll."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def _take_snapshots(self, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """At most one snapshot per aggregate per save, of the aggregate in hand.

        The library's default takes one for every interval crossed within the save
        (a first sync of 5,000 events crosses 25) and reloads the aggregate from the
        store for each; one of the state just saved is enough.
        """
        if self.snapshots is None:
            return
        for aggregate_id, aggregate in processing_event.aggregates.items():
            interval = self.snapshotting_intervals.get(type(aggregate))
            versions = [e.originator_version for e in processing_event.events if e.originator_id == aggregate_id]
            if interval is None or not versions:
                continue
            if (min(versions) - 1) // interval != max(versions) // interval:
                self.snapshots.put([getattr(type(aggregate), "Snapshot").take(aggregate)])

    def _notify(self, recordings: list[Recording[uuid.UUID]]) -> None:
        if not recordings:
            return
        position = max(r.notification.id for r in recordings)
        for listener in list(self._listeners):
            listener(position)

    def record(self, *aggregates: Any) -> int:
        """Saves the aggregates' new events in one transaction; returns the log
        position of the last one (or the current head if there were none)."""
        recordings = self.save(*aggregates)
        if recordings:
            return max(r.notification.id for r in recordings)
        return self.head_position()

    def find(self, aggregate_id: uuid.UUID, kind: type[A], *, read_only: bool = False) -> A | None:
        """The aggregate of that kind with that id, or None. ``read_only``: the
        cached instance itself, not a copy of it (cheaper for a large aggregate);
        the caller must not change it or trigger events on it."""
        try:
            found: Any = self.repository.get(aggregate_id, deepcopy_from_cache=not read_only)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def aggregate_events(self, aggregate_id: uuid.UUID) -> list[Any]:
        """Every event of one aggregate, in order (for a retried request)."""
        return list(self.events.get(aggregate_id))

    def aggregate_at(self, aggregate_id: uuid.UUID, version: int) -> Any:
        """The aggregate as it was at ``version``."""
        return self.repository.get(aggregate_id, version=version)

    def head_position(self) -> int:
        return self.recorder.max_notification_id() or 0
