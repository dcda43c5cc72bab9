"""Follows the event log and feeds a projection, in a background thread.

SQLite's recorder has no ``subscribe()``, so the follower reads the log with
``select_notifications`` in batches. It polls at an interval, and wakes at
once when the application in this process saves (``wake``), so in the
embedded server the read models trail the log by milliseconds.

Each batch read is written in one transaction: by the projection's
``process_batch``, or, for a projection that takes events one at a time, inside
its view's ``batch``. (One transaction per event made a server started over a
long log spend minutes catching up on PostgreSQL, a commit per event.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from adapters import metrics
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)


class ProjectionFollower:
    def __init__(
        self,
        app: Application[Any],
        projection: Any,
        *,
        poll_interval: float = 1.0,
        batch_size: int = 500,
    ) -> None:
        self._app = app
        self._projection = projection
        self._view = projection.view
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._progress = threading.Condition()
        self._stepping = threading.Lock()
        self._position = 0
        self._waiting = 0
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        # Called with each domain event once the read model holds it (caches).
        self.after_event: list[Callable[[Any], None]] = []
        # When it last stood at the log's head (time.time()); for the lag in seconds.
        self.caught_up_at = time.time()
        self.head_seen = 0
        # (when, from which position) a catch-up started, until it ends (and is logged)
        self._catching_up: tuple[float, int] | None = None

    @property
    def projection(self) -> Any:
        return self._projection

    @property
    def position(self) -> int:
        return self._position

    @property
    def started(self) -> bool:
        """Following (or watching) the log in this process."""
        return self._thread is not None

    def start(self, run: bool = True) -> None:
        """Follows the log in a thread; with ``run=False`` (another process keeps
        the read model) it only reads how far the view is, on ``refresh``."""
        self._position = self._view.max_tracking_id(self._app.name) or 0
        self._catching_up = (time.monotonic(), self._position)  # the first catch-up is logged
        if not run:
            self._thread = threading.Thread(target=self._watch, name=f"watch-{self._projection.name}", daemon=True)
            self._thread.start()
            return
        self._thread = threading.Thread(
            target=self._run, name=f"follow-{self._projection.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._progress:
            self._progress.notify_all()

    def wake(self, _position: int = 0) -> None:
        self._wake.set()

    def catch_up(self) -> int:
        """Processes everything in the log now (in the caller's thread); returns
        the position reached."""
        while self._step():
            pass
        return self._position

    def wait_for(self, position: int, timeout: float) -> bool:
        """True once the read model has processed ``position``; False on timeout."""
        if self._position >= position:  # the usual case, without the lock
            return True
        with self._progress:
            if self._position >= position:
                return True
            self._waiting += 1
            self._wake.set()
            try:
                return self._progress.wait_for(
                    lambda: self._position >= position or self._stopping.is_set(), timeout
                ) and self._position >= position
            finally:
                self._waiting -= 1

    def _watch(self) -> None:
        while not self._stopping.is_set():
            try:
                head = self._app.recorder.max_notification_id() or 0
                done = self._view.max_tracking_id(self._app.name) or 0
                if done >= head:
                    self.caught_up_at = time.time()
            except Exception as error:  # keep watching
                self.error = error
                done = self._position
            if done > self._position:
                with self._progress:
                    self._position = done
                    self._progress.notify_all()
            # quickly while someone waits to read their writes, else at the interval
            self._wake.wait(0.05 if self._waiting else self._poll_interval)
            self._wake.clear()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._step():
                    if self._catching_up is None:
                        self._catching_up = (time.monotonic(), self._position)
                    continue
                self._caught_up()
            except Exception as error:  # keep following; report and back off
                self.error = error
                log.exception("projection %s failed; retrying", self._projection.name)
                self._stopping.wait(self._poll_interval)
                continue
            self._wake.wait(self._poll_interval)
            self._wake.clear()

    def _caught_up(self) -> None:
        if self._catching_up is None:
            return
        started, start = self._catching_up
        self._catching_up = None
        happened(
            log, "projection.caught_up", projection=self._projection.name, position=self._position,
            events=self._position - start, seconds=round(time.monotonic() - started, 3),
        )

    def _step(self) -> bool:
        # One step at a time: ``catch_up`` may be called while the thread follows.
        with self._stepping:
            return self._step_once()

    def _step_once(self) -> bool:
        # Only the projection's topics are read (and decrypted); the rest of the log
        # is skipped in the database. Reading up to the head seen first tells how
        # far the read model is current even when nothing it cares about happened.
        head = self._app.recorder.max_notification_id() or 0
        self.head_seen = max(self.head_seen, head)
        topics = tuple(getattr(self._projection, "topics", ()) or ())
        notifications = self._app.recorder.select_notifications(
            start=self._position, limit=self._batch_size, stop=head, topics=topics, inclusive_of_start=False
        )
        if hasattr(self._projection, "process_batch"):
            taken = self._process_batch(notifications)
        else:
            taken = self._process_each(notifications)
        if not taken:  # another process was further on: read on from where it got to
            self.error = None
            return True
        if len(notifications) < self._batch_size and head > self._position:
            advance = getattr(self._projection, "advance", None)
            if advance is not None:
                # Recorded, so that readers in other processes know how far it is.
                try:
                    advance(Tracking(self._app.name, head), after=self._position)
                except Exception:
                    if (self._view.max_tracking_id(self._app.name) or 0) < head:
                        raise
            with self._progress:
                self._position = head
                self._progress.notify_all()
        if self._position >= head:
            self.caught_up_at = time.time()
        self.error = None
        return len(notifications) == self._batch_size

    def _process_each(self, notifications: Sequence[Any]) -> bool:
        """False if another process had written (part of) them first."""
        batch = getattr(self._view, "batch", None)
        if batch is not None:  # the view can take the events one by one into one transaction
            return self._process_batch(notifications, lambda items, before: self._each_in(batch, items, before))
        for notification in notifications:
            domain_event = self._app.mapper.to_domain_event(notification)
            try:
                self._projection.process_event(domain_event, Tracking(self._app.name, notification.id))
            except Exception:
                # Another process following the same log into the same view may have
                # recorded this event first (its tracking row says so): then it is
                # done, exactly once, and this follower moves on.
                if (self._view.max_tracking_id(self._app.name) or 0) < notification.id:
                    raise
            self._processed([domain_event], notification.id)
        return True

    def _each_in(self, batch: Callable[..., Any], items: list[tuple[Any, Tracking]], before: int) -> None:
        with batch(items[-1][1], after=before):
            for domain_event, tracking in items:
                self._projection.process_event(domain_event, tracking)

    def _process_batch(
        self,
        notifications: Sequence[Any],
        process: Callable[[list[tuple[Any, Tracking]], int], None] | None = None,
    ) -> bool:
        """The whole batch in one transaction (the projection's rows and position):
        by the projection's ``process_batch``, or as ``process`` says. False if
        another process had written (part of) it first: then nothing was, and the
        position moves to where that process got to."""
        if not notifications:
            return True
        items = [
            (self._app.mapper.to_domain_event(n), Tracking(self._app.name, n.id)) for n in notifications
        ]
        before = self._position
        started = time.perf_counter()
        try:
            if process is None:
                self._projection.process_batch(items, after=before)
            else:
                process(items, before)
        except Exception:
            # Another follower got (part of) the batch in first: skip to where it is.
            done = self._view.max_tracking_id(self._app.name) or 0
            if done <= before:
                raise
            happened(log, "projection.behind_another_process", projection=self._projection.name, position=before, ahead=done)
            self._processed([], max(done, self._position))
            return False
        metrics.FOLLOWER_BATCH_SECONDS.labels(self._projection.name).observe(time.perf_counter() - started)
        metrics.FOLLOWER_EVENTS.labels(self._projection.name).inc(len(items))
        self._processed([event for event, _ in items], notifications[-1].id)
        return True

    def _processed(self, events: list[Any], position: int) -> None:
        for domain_event in events:
            for listener in self.after_event:
                listener(domain_event)
        with self._progress:
            self._position = max(self._position, position)
            self._progress.notify_all()
