"""When the poller tries an account again: interval, capped exponential backoff, Retry-After."""

from __future__ import annotations

from typing import Any

from adapters.icloud.poller import SyncScheduler
from adapters.icloud.sync_worker import AccountSyncReport


def scheduler(jitter: float) -> SyncScheduler:
    stub: Any = object()
    return SyncScheduler(stub, stub, stub, interval=60, max_backoff=900, clock=lambda: 1000.0, jitter=lambda: jitter)


def test_a_good_sync_is_next_due_one_interval_later_jittered_by_five_percent() -> None:
    assert scheduler(0.5)._next_due(AccountSyncReport("a"), failures=0) == 1060.0
    assert scheduler(0.0)._next_due(AccountSyncReport("a"), failures=0) == 1057.0
    assert scheduler(1.0)._next_due(AccountSyncReport("a"), failures=0) == 1063.0


def test_failures_back_off_exponentially_with_jitter_and_a_cap() -> None:
    low, high = scheduler(0.0), scheduler(1.0)
    failed = AccountSyncReport("a", calendars_failed=1)
    assert low._next_due(failed, 1) == 1000 + 60
    assert high._next_due(failed, 1) == 1000 + 120
    assert high._next_due(failed, 3) == 1000 + 480
    assert high._next_due(failed, 9) == 1000 + 900
    assert low._next_due(failed, 9) == 1000 + 450


def test_retry_after_is_honoured_but_capped() -> None:
    throttled = AccountSyncReport("a", throttled_for=120.0)
    assert 1120 <= scheduler(1.0)._next_due(throttled, 1) <= 1120 + 6
    assert scheduler(0.0)._next_due(AccountSyncReport("a", throttled_for=86400.0), 1) == 1900
