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


@pytest.fixture(params=STORES)
def workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[SyncState]]:
    with settings_for(request.param, tmp_path) as settings:
        made = [SyncState(operational_database(settings, "sync")) for _ in range(4)]
        try:
            yield made
        finally:
            for s in made:
                s.close()


def test_due_accounts_are_claimed_in_batches_each_by_one_worker_most_overdue_first(workers: list[SyncState]) -> None:
    accounts = [f"acct-{i:03}" for i in range(120)]
    workers[0].ensure_accounts(accounts, now=100.0)
    workers[0].release("acct-119", "", next_due_at=50.0, failures=0)  # no holder: nothing changes
    first = workers[0].claim_due("w0", now=100.0, lease_seconds=30, limit=1)
    assert len(first) == 1
    start = threading.Barrier(len(workers))
    claimed: list[list[tuple[str, str]]] = [[] for _ in workers]

    def claim(index: int) -> None:
        start.wait()
        while batch := workers[index].claim_due(f"w{index}", now=100.0, lease_seconds=30, limit=7):
            claimed[index].extend(batch)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = [a for batch in claimed for a, _ in batch] + [first[0][0]]
    assert sorted(ids) == accounts, "every due account claimed once"
    assert all(previous == "" for batch in claimed for _, previous in batch)
    assert workers[0].claim_due("late", now=120.0, lease_seconds=30, limit=10) == []
    assert workers[0].counts(now=120.0, overdue_after=60) == (0, 0, 120)


def test_a_heartbeat_keeps_a_lease_and_a_dead_holders_leases_are_taken_over(workers: list[SyncState]) -> None:
    state = workers[0]
    state.ensure_accounts(["a", "b", "c"], now=100.0)
    assert {a for a, _ in state.claim_due("dead", now=100.0, lease_seconds=30, limit=2)} == {"a", "b"}
    assert [a for a, _ in state.claim_due("live", now=100.0, lease_seconds=30, limit=5)] == ["c"]
    assert state.renew("live", until=150.0) == 1  # the live holder's heartbeat at 120
    assert state.counts(now=135.0, overdue_after=30) == (2, 2, 1)
    taken = workers[1].claim_due("next", now=135.0, lease_seconds=30, limit=5)
    assert sorted(taken) == [("a", "dead"), ("b", "dead")], "the dead holder is named"
    assert state.lease_of("c")[1] == 150.0, "the live lease was kept"
    state.release("a", "dead", next_due_at=999.0, failures=0)  # the dead holder woke up: no effect
    assert state.lease_of("a") == (100.0, 165.0)


def test_the_poll_table_is_reconciled_in_batches_and_a_connection_makes_its_account_due(state: SyncState) -> None:
    assert state.reconcile([f"x{i}" for i in range(1200)], now=10.0) == 1200
    assert state.reconcile([f"x{i}" for i in range(1201)], now=20.0) == 1
    state.release("x5", "", next_due_at=500.0, failures=0)
    state.claim("x5", "w", now=30.0, lease_seconds=10)
    state.release("x5", "w", next_due_at=500.0, failures=2)
    state.due_now("x5", now=40.0)
    assert state.lease_of("x5")[0] == 40.0 and state.failures("x5") == 0
