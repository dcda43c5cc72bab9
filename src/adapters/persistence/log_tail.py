"""One follower of the head of the log, shared by every live history stream.

A stream first replays what it missed from the database, in pages, and then
reads new events from this tail's buffer in memory, so a thousand streams cost
one reader of the log, not a thousand pollers. On PostgreSQL the tail uses the
library's ``recorder.subscribe()`` (LISTEN/NOTIFY), which also sees writes of
other processes at once; SQLite's recorder has no subscriptions, so there it
polls at an interval and wakes at once on every save in this process.

The buffer holds the latest events (all of them, every tenant's); a stream
whose position falls behind it (a slow client) goes back to paging the database,
so nothing is ever skipped, only served from further away.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from calendar_domain.history import RecordedEvent, Scope
from calendar_domain.history_service import HistoryService

log = logging.getLogger(__name__)

_READ_BATCH = 500


@dataclass(frozen=True)
class StreamBatch:
    """Events for one stream, in order; ``position``: the log position the stream
    has reached (resume after it). ``caught_up`` marks the first batch at the head.
    ``shared``: the events are the tail's, which every live stream sends (worth
    converting once for all); a replay's are this stream's own."""

    events: list[RecordedEvent]
    position: int
    caught_up: bool = False
    shared: bool = False


class LogTail:
    def __init__(
        self,
        app: Any,
        history: HistoryService,
        *,
        subscribe: bool,
        poll_interval: float = 1.0,
        capacity: int = 10_000,
        replay_batch: int = 500,
    ) -> None:
        self._app = app
        self._history = history
        self._subscribe = subscribe
        self._poll_interval = poll_interval
        self._capacity = capacity
        self._replay_batch = replay_batch
        self._changed = threading.Condition()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        # The buffer holds every event with floor < position <= head, in order.
        self._floor = 0
        self._head = 0
        self._events: list[RecordedEvent] = []
        self._positions: list[int] = []
        self._followers = 0
        self._subscription: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._floor = self._head = self._app.head_position()
        self._thread = threading.Thread(target=self._run, name="history-tail", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        self.nudge()

    def wake(self, _position: int = 0) -> None:
        """Called after each save in this process."""
        self._wake.set()

    def nudge(self) -> None:
        """Wakes every waiting stream to look at its state (a cancelled call)."""
        with self._changed:
            self._changed.notify_all()

    @property
    def followers(self) -> int:
        return self._followers

    def wait_for_followers(self, count: int, timeout: float) -> bool:
        """True once exactly ``count`` streams follow (e.g. 0: every stream ended)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._followers == count, timeout)

    # -- streams ---------------------------------------------------------------------------

    def follow(self, after: int, scope: Scope, active: Callable[[], bool], wait: float = 1.0) -> Iterator[StreamBatch]:
        """Replays the events after ``after`` that the scope admits, then follows
        new ones live, until ``active()`` turns false or the tail stops."""
        with self._changed:
            self._followers += 1
            self._changed.notify_all()
        try:
            # Caught up means: everything recorded before the stream began was sent.
            start_head = self._app.head_position()
            position, announced = after, False
            while active() and not self._stopping.is_set():
                live = self._after(position, scope) if position >= start_head else None
                if live is None:  # behind the buffer: page through the database
                    page = self._history.read(position, self._replay_batch, scope)
                    position = page.position
                    if page.events:
                        yield StreamBatch(page.events, position)
                    continue
                events, position = live
                if events:
                    yield StreamBatch(events, position, shared=True)
                    continue
                if not announced:
                    announced = True
                    yield StreamBatch([], position, caught_up=True)
                    continue
                with self._changed:
                    self._changed.wait_for(
                        lambda: self._head > position or self._stopping.is_set() or not active(), wait
                    )
        finally:
            with self._changed:
                self._followers -= 1
                self._changed.notify_all()

    def _after(self, position: int, scope: Scope) -> tuple[list[RecordedEvent], int] | None:
        """The buffered events after ``position`` (a batch of them) that the scope
        admits, and the position they reach; None when the buffer starts later."""
        with self._changed:
            if position < self._floor:
                return None
            start = bisect.bisect_right(self._positions, position)
            chunk = self._events[start : start + self._replay_batch]
            if not chunk:
                return [], max(position, self._head)
            return [e for e in chunk if scope.admits(e)], chunk[-1].position

    # -- following the log --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._subscribe:
                    self._follow_subscription()
                else:
                    self._poll()
            except Exception:
                log.exception("the history tail failed; following again")
                self._stopping.wait(self._poll_interval)

    def _poll(self) -> None:
        while not self._stopping.is_set():
            batch = self._app.recorder.select_notifications(
                start=self._head, limit=_READ_BATCH, inclusive_of_start=False
            )
            self._take(batch)
            if len(batch) < _READ_BATCH:
                self._wake.wait(self._poll_interval)
                self._wake.clear()

    def _follow_subscription(self) -> None:
        with self._app.recorder.subscribe(gt=self._head) as subscription:
            self._subscription = subscription
            try:
                if self._stopping.is_set():
                    return
                for notification in subscription:
                    self._take([notification])
            finally:
                self._subscription = None

    def _take(self, notifications: Any) -> None:
        if not notifications:
            return
        # Nobody follows live: move on without decoding; a stream that starts
        # later reads these from the database.
        records = self._history.records(notifications, after=self._head) if self._followers else []
        with self._changed:
            if records:
                self._events.extend(records)
                self._positions.extend(r.position for r in records)
            else:
                self._events, self._positions = [], []
                self._floor = notifications[-1].id
            self._head = notifications[-1].id
            excess = len(self._events) - self._capacity
            if excess > self._capacity // 4:  # trim in steps, not on every event
                self._floor = self._positions[excess - 1]
                del self._events[:excess], self._positions[:excess]
            self._changed.notify_all()
