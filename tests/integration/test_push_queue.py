"""The push queue on SQLite and PostgreSQL: queued with its tracking position,
leased to one pusher at a time, and never losing a newer revision."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Tracking

from server.bootstrap import build_push_queue
from tests.support.stores import STORES, settings_for

APP = "CalendarIntegration"


@pytest.fixture(params=STORES)
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with settings_for(request.param, tmp_path / "data") as settings:
        view = build_push_queue(settings)
        try:
            yield view
        finally:
            view.datastore.close()


def test_an_entry_is_leased_to_one_claimer_at_a_time(queue: Any) -> None:
    queue.enqueue(Tracking(APP, 1), "s1", "a1", 1)
    assert queue.max_tracking_id(APP) == 1
    [first] = queue.claim(10, lease_seconds=60)
    assert (first.schedule_id, first.appointment_id, first.revision) == ("s1", "a1", 1)
    assert queue.claim(10, lease_seconds=60) == []  # leased: no one else gets it
    queue.retry(first, due_at=time.time() - 1, attempts=1)
    [again] = queue.claim(10, lease_seconds=60)
    assert again.attempts == 1
    queue.done(again, 1)
    assert queue.pending() == 0 and queue.next_due() is None


def test_a_newer_revision_survives_the_end_of_an_older_push(queue: Any) -> None:
    queue.enqueue(Tracking(APP, 1), "s1", "a1", 1)
    [claimed] = queue.claim(10, lease_seconds=60)
    queue.enqueue(Tracking(APP, 2), "s1", "a1", 2)  # rescheduled meanwhile
    queue.retry(claimed, due_at=time.time() + 3600, attempts=1)  # not for revision 2
    queue.done(claimed, 1)
    [newer] = queue.claim(10, lease_seconds=60)
    assert (newer.revision, newer.attempts) == (2, 0)
    queue.enqueue(Tracking(APP, 3), "s1", "a1", 1)  # an older revision never wins
    queue.done(newer, 2)
    assert queue.pending() == 0
