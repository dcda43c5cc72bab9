"""Optimistic concurrency: reload and try again when another writer won."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from calendar_domain.errors import ConcurrentChange

T = TypeVar("T")
CONFLICT_RETRIES = 5


def retrying(attempt: Callable[[], T], retries: int = CONFLICT_RETRIES) -> T:
    """Runs ``attempt`` (which must load, change and save) again on a version conflict."""
    for _ in range(retries - 1):
        try:
            return attempt()
        except IntegrityError:
            continue
    try:
        return attempt()
    except IntegrityError as conflict:
        raise ConcurrentChange("the record kept changing under this request; retry it") from conflict
