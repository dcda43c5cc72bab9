"""Optimistic concurrency: reload and try again when another writer won."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from calendar_domain.errors import ConcurrentChange
from calendar_domain.telemetry import happened

T = TypeVar("T")
CONFLICT_RETRIES = 5
log = logging.getLogger(__name__)


class _ConflictCounter:
    """Where version conflicts are counted (the server's metrics; nothing by default)."""

    count: Callable[[str], None] = staticmethod(lambda _outcome: None)


conflicts = _ConflictCounter()


def count_conflicts_with(counter: Callable[[str], None]) -> None:
    """``counter(outcome)`` for every version conflict: "retried" or "gave_up"."""
    conflicts.count = counter


def retrying(attempt: Callable[[], T], retries: int = CONFLICT_RETRIES, jitter: float = 0.0) -> T:
    """Runs ``attempt`` (which must load, change and save) again on a version conflict;
    with ``jitter``, after a random pause of up to that many seconds (writers racing
    for one aggregate then stop colliding in lockstep). Commands take their
    aggregate's turn first (``CalendarIntegration.serialised``), so a conflict here
    means another process wrote."""
    pause = threading.Event()
    for tried in range(1, retries):
        try:
            return attempt()
        except IntegrityError:
            conflicts.count("retried")
            happened(log, "command.conflict_retried", logging.DEBUG, attempt=tried)
            if jitter:
                pause.wait(random.uniform(0, jitter))  # noqa: S311 - spreading, not security
            continue
    try:
        return attempt()
    except IntegrityError as conflict:
        conflicts.count("gave_up")
        happened(log, "command.conflict_gave_up", logging.WARNING, attempts=retries)
        raise ConcurrentChange("the record kept changing under this request; retry it") from conflict
