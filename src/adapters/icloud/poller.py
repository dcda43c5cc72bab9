"""Runs account syncs on a schedule, one account at a time per lease.

Each account (an Apple ID, however many sub-accounts connect it) is polled once
per interval. Failures back off exponentially, capped and jittered; a
Retry-After from the provider (503/429) is honoured, capped. Nothing sleeps
while holding a lease: the next attempt is simply scheduled later.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable

from adapters import metrics
from adapters.icloud.sync_worker import AccountSyncer, AccountSyncReport
from adapters.persistence.sync_state import SyncState
from calendar_domain.connection_projection import ConnectionReadModel
from calendar_domain.errors import SyncInProgress
from calendar_domain.telemetry import happened, run_cause

log = logging.getLogger(__name__)
MAX_BACKOFF = 900.0


class SyncScheduler:
    def __init__(
        self,
        syncer: AccountSyncer,
        state: SyncState,
        view: ConnectionReadModel,
        *,
        interval: float,
        lease_seconds: float = 600.0,
        max_backoff: float = MAX_BACKOFF,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._syncer = syncer
        self._state = state
        self._view = view
        self._interval = interval
        self._lease_seconds = lease_seconds
        self._max_backoff = max_backoff
        self._clock = clock
        self._jitter = jitter
        self.holder = f"worker-{uuid.uuid4().hex[:12]}"
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one account ----------------------------------------------------------------

    def sync_now(self, account_id: str, wait: float) -> AccountSyncReport:
        """Syncs the account at once; if another worker is syncing it, waits for that
        (bounded) and then syncs, so the answer reflects the server as of now."""
        deadline = time.monotonic() + wait
        while not self._state.claim(account_id, self.holder, self._clock(), self._lease_seconds):
            if time.monotonic() >= deadline:
                raise SyncInProgress("the account is being synced by another worker; try again shortly")
            self._stopping.wait(0.05)
        return self._run_claimed(account_id)

    def sync_soon(self, account_id: str) -> None:
        """Makes the account due at once with its backoff reset (credentials were
        replaced: what failed may work now). Whichever poller of the fleet is free
        syncs it: this one is woken, the others hear of it on PostgreSQL."""
        self._state.due_now(account_id, self._clock())
        happened(log, "sync.due_now", account=account_id)
        self._wake.set()

    def run_due(self) -> int:
        """Syncs every account that is due and not leased elsewhere; returns how many."""
        now = self._clock()
        self._state.ensure_accounts(self._view.active_account_ids(), now)
        count = 0
        for account_id in self._state.due_accounts(now):
            if self._state.claim(account_id, self.holder, self._clock(), self._lease_seconds):
                self._run_claimed(account_id)
                count += 1
        return count

    def _run_claimed(self, account_id: str) -> AccountSyncReport:
        with run_cause("sync"):
            started = time.monotonic()
            report = self._sync_and_release(account_id)
            _reported(report, time.monotonic() - started)
            return report

    def _sync_and_release(self, account_id: str) -> AccountSyncReport:
        try:
            connection_ids = self._view.connections_of_account(account_id)
            if not connection_ids:
                self._state.forget_account(account_id)
                return AccountSyncReport(account_id)
            report = self._syncer.sync(account_id, connection_ids)
        except Exception:
            log.exception("sync of account %s failed", account_id)  # the stack, for a bug report
            report = AccountSyncReport(account_id, calendars_failed=1, errors=["internal error"])
        failures = 0 if not report.errors and not report.calendars_failed else self._state.failures(account_id) + 1
        self._state.release(account_id, self.holder, self._next_due(report, failures), failures)
        return report

    def _next_due(self, report: AccountSyncReport, failures: int) -> float:
        now = self._clock()
        if report.throttled_for is not None:
            wait = min(max(report.throttled_for, 1.0), self._max_backoff)
            wait += self._jitter() * min(wait, 30.0) * 0.2
            happened(
                log, "sync.backoff", account_id=report.account_id, retry_after=report.throttled_for,
                wait=round(wait, 1), failures=failures,
            )
            return now + wait
        if failures:
            wait = min(self._interval * 2 ** min(failures, 10), self._max_backoff) * (0.5 + 0.5 * self._jitter())
            happened(log, "sync.backoff", account_id=report.account_id, wait=round(wait, 1), failures=failures)
            return now + wait
        return now + self._interval

    # -- the loop ---------------------------------------------------------------------

    def start(self) -> None:
        happened(log, "sync.poller_started", holder=self.holder, interval_s=self._interval)
        self._thread = threading.Thread(target=self._run, name="sync-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_due()
            except Exception:
                log.exception("sync poller tick failed")
            next_due = self._state.next_due_at()
            pause = self._interval if next_due is None else max(0.0, min(next_due - self._clock(), self._interval))
            self._wake.wait(max(pause, 0.5))
            self._wake.clear()


def outcome_of(report: AccountSyncReport) -> str:
    if report.throttled_for is not None:
        return "throttled"
    if report.reconnect_required and not report.calendars_synced:
        return "reconnect_required"
    if report.errors or report.calendars_failed:
        return "partial" if report.calendars_synced else "failed"
    return "ok"


def _reported(report: AccountSyncReport, seconds: float) -> None:
    outcome = outcome_of(report)
    metrics.observe_sync(outcome, seconds, report.requests)
    happened(
        log, "sync.finished", account_id=report.account_id, outcome=outcome,
        calendars=report.calendars_synced, failed=report.calendars_failed, changes=report.changes,
        requests=report.requests, seconds=round(seconds, 3), position=report.position or None,
    )
