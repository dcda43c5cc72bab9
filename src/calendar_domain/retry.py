"""Optimistic concurrency: reload and try again when another writer won."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from calendar_domain.errors import ConcurrentChange

T = TypeVar("T")
CONFLICT_RETRIES = 5


def retrying(attempt: Callable[[], T], retries: int = CONFLICT_RETRIES, jitter: float = 0.0) -> T:
    """Runs ``attempt`` (which must load, change and save) again on a version conflict;
    with ``jitter``, after a random pause of up to that many seconds (writers racing
    for one aggregate then stop colliding in lockstep)."""
    pause = threading.Event()
    for _ in range(retries - 1):
        try:
            return attempt()
        except IntegrityError:
            if jitter:
                pause.wait(random.uniform(0, jitter))  # noqa: S311 - spreading, not security
            continue
    try:
        return attempt()
    except IntegrityError as conflict:
        raise ConcurrentChange("the record kept changing under this request; retry it") from conflict
