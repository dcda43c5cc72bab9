"""Leases and sync health, one contract on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.persistence.sync_state import SyncState
from server.bootstrap import operational_database
from tests.support.stores import STORES, settings_for


@pytest.fixture(params=STORES)
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SyncState]:
    with settings_for(request.param, tmp_path) as settings:
        made = [SyncState(operational_database(settings, "sync")) for _ in range(8)]
        try:
            yield made[0]
        finally:
            for s in made:
                s.close()


def test_of_many_workers_claiming_one_account_at_once_exactly_one_wins(tmp_path: Path) -> None:
    for store in ("sqlite", "postgres"):
        try:
            context = settings_for(store, tmp_path / store)
            settings = context.__enter__()
        except pytest.skip.Exception:
            continue
        try:
            workers = [SyncState(operational_database(settings, "sync")) for _ in range(8)]
            workers[0].ensure_accounts(["acct"], now=100.0)
            start = threading.Barrier(len(workers))
            wins: list[str] = []

            def claim(index: int) -> None:
                start.wait()
                if workers[index].claim("acct", f"w{index}", now=100.0, lease_seconds=60):
                    wins.append(f"w{index}")

            threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(workers))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert len(wins) == 1, (store, wins)
            winner = int(wins[0][1:])
            assert not workers[(winner + 1) % 8].claim("acct", "late", now=130.0, lease_seconds=60)
            workers[winner].release("acct", wins[0], next_due_at=200.0, failures=0)
            assert workers[0].due_accounts(now=150.0) == []
            assert workers[0].due_accounts(now=200.0) == ["acct"]
            for w in workers:
                w.close()
        finally:
            context.__exit__(None, None, None)


def test_an_expired_lease_can_be_taken_over(state: SyncState) -> None:
    assert state.claim("acct", "a", now=100.0, lease_seconds=10)
    assert not state.claim("acct", "b", now=105.0, lease_seconds=10)
    assert state.claim("acct", "b", now=111.0, lease_seconds=10)
    state.release("acct", "a", next_due_at=999.0, failures=3)  # a lost its lease: no effect
    assert state.lease_of("acct")[1] == 121.0


def test_health_records_progress_success_and_consecutive_failures(state: SyncState) -> None:
    state.started("acct", "cal", now=10.0)
    state.progress("acct", "cal", done=250, total=5000)
    running = state.health("acct")["cal"]
    assert (running.running, running.done, running.total) == (True, 250, 5000)
    state.failed("acct", "cal", "HTTP 503")
    state.started("acct", "cal", now=20.0)
    state.failed("acct", "cal", "timed out")
    failing = state.health("acct")["cal"]
    assert (failing.consecutive_failures, failing.last_error, failing.running) == (2, "timed out", False)
    state.started("acct", "cal", now=30.0)
    state.succeeded("acct", "cal", now=31.0)
    healthy = state.health("acct")["cal"]
    assert (healthy.consecutive_failures, healthy.last_error, healthy.last_success_at) == (0, "", 31.0)


def test_taking_over_a_lapsed_lease_is_logged_a_release_is_not(
    state: SyncState, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="adapters.persistence.sync_state")
    assert state.claim("acct", "worker-a", now=100.0, lease_seconds=10)
    state.release("acct", "worker-a", next_due_at=100.0, failures=0)
    assert state.claim("acct", "worker-b", now=101.0, lease_seconds=10)
    assert not [r for r in caplog.records if getattr(r, "event", "") == "sync.lease_taken_over"]
    assert not state.claim("acct", "worker-c", now=105.0, lease_seconds=10)  # still held
    assert state.claim("acct", "worker-c", now=115.0, lease_seconds=10)  # worker-b never came back
    [taken] = [r for r in caplog.records if getattr(r, "event", "") == "sync.lease_taken_over"]
    assert taken.fields == {  # type: ignore[attr-defined]
        "account_id": "acct", "previous_holder": "worker-b", "holder": "worker-c", "lapsed_seconds": 4.0,
    }
