"""The push queue on SQLite and PostgreSQL: queued with its tracking position,
leased to one pusher at a time, and never losing a newer revision."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Tracking

from adapters.icloud.pusher import AppointmentPusher
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


def test_a_lease_is_renewed_by_its_holder_and_taken_over_once_it_runs_out(queue: Any) -> None:
    queue.enqueue(Tracking(APP, 1), "s1", "a1", 1)
    queue.enqueue(Tracking(APP, 2), "s1", "a2", 1)
    claimed = queue.claim(10, lease_seconds=0.2, holder="host/1/aaaa")
    assert [c.taken_from for c in claimed] == ["", ""]
    assert queue.renew("host/1/aaaa", 3600) == 2  # the heartbeat: both kept
    assert queue.renew("host/2/bbbb", 3600) == 0  # nobody else's
    assert queue.claim(10, lease_seconds=60, holder="host/2/bbbb") == []
    queue.renew("host/1/aaaa", -1)  # the holder died: its leases ran out
    taken = queue.claim(10, lease_seconds=60, holder="host/2/bbbb")
    assert sorted(t.appointment_id for t in taken) == ["a1", "a2"]
    assert {t.taken_from for t in taken} == {"host/1/aaaa"}
    assert all(t.lapsed_seconds >= 0 for t in taken)
    queue.done(taken[0], 1)
    assert queue.holders("host/") == ["host/2/bbbb"]
    assert queue.free("host/2/bbbb") == [taken[1].appointment_id]
    assert queue.holders("host/") == [] and len(queue.claim(10, 60, "host/3/cccc")) == 1


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_starting_pusher_frees_the_leases_of_dead_pushers_of_its_host_at_once(queue: Any) -> None:
    host = socket.gethostname()
    dead, living = f"{host}/{_dead_pid()}/dead0000", f"{host}/{os.getppid()}/live0000"
    elsewhere = f"other-host/{_dead_pid()}/far00000"
    for number, holder in enumerate([dead, living, elsewhere], start=1):
        queue.enqueue(Tracking(APP, number), "s1", f"a{number}", 1)
        [claimed] = queue.claim(1, lease_seconds=3600, holder=holder)
        assert claimed.appointment_id == f"a{number}"
    pusher = AppointmentPusher(None, queue, None, None)  # type: ignore[arg-type]  # only its queue is used
    assert pusher.free_dead_local_leases() == 1
    [freed] = queue.claim(10, lease_seconds=60, holder=pusher.holder)
    assert freed.appointment_id == "a1"  # the living pusher's and the other host's stay theirs
    assert sorted(queue.holders("")) == sorted([living, elsewhere, pusher.holder])
