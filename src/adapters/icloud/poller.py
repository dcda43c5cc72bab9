"""Runs account polls on a schedule, many in flight per process.

Each account (an Apple ID, however many sub-accounts connect it) is polled once
per interval (jittered, so that accounts connected together spread out).
Due accounts are claimed in batches, each under a short lease that a heartbeat
renews while its poll runs: a process that dies leaves leases that expire within
about two lease periods, and a restarted process (a new holder) never waits for
more than one. Up to ``concurrency`` polls run at once on a thread pool (each
spends its time waiting on the CalDAV server); the loop claims more as soon as
one finishes, and sleeps only when nothing is due.

Failures back off exponentially, capped and jittered; a Retry-After from the
provider (503/429) is honoured, capped. Nothing sleeps while holding a lease:
the next attempt is simply scheduled later.

The poll table follows the events that change it: an account is put in, due at
once, when a connection to it is made or given new credentials; it leaves when
a poll finds no working connection. A reconciliation with the connections read
model (one query, inserts in batches) runs at start and every
``reconcile_every`` seconds, for an event whose hook did not run.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from adapters import metrics
from adapters.icloud.sync_worker import AccountSyncer, AccountSyncReport
from adapters.persistence.sync_state import SyncState
from calendar_domain.connection import Connection
from calendar_domain.connection_projection import ConnectionReadModel
from calendar_domain.errors import SyncInProgress
from calendar_domain.telemetry import happened, run_cause

log = logging.getLogger(__name__)
# How long SyncNow waits for the connections read model to list an account's
# connections (it lags a connect by a projection's step).
CONNECTIONS_SETTLE = 5.0
MAX_BACKOFF = 900.0
INTERVAL_JITTER = 0.1  # each interval is drawn from +-5% around the setting
RECONCILE_EVERY = 600.0


class SyncScheduler:
    def __init__(
        self,
        syncer: AccountSyncer,
        state: SyncState,
        view: ConnectionReadModel,
        *,
        interval: float,
        active_interval: float | None = None,
        lease_seconds: float = 30.0,
        concurrency: int = 1,
        max_backoff: float = MAX_BACKOFF,
        reconcile_every: float = RECONCILE_EVERY,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        log_head: Callable[[], int] = lambda: 0,
        connections_reached: Callable[[int], bool] = lambda _position: True,
    ) -> None:
        """``log_head``, ``connections_reached``: the log's last position now, and
        whether the connections read model has read up to a position (SyncNow waits
        for it to have read every connection recorded before it was asked)."""
        if concurrency < 1 or lease_seconds <= 0:
            raise ValueError("concurrency must be at least 1 and the lease positive")
        self._syncer = syncer
        self._state = state
        self._view = view
        self._interval = interval
        self._active_interval = min(interval, active_interval if active_interval is not None else interval)
        self._lease_seconds = lease_seconds
        self._concurrency = concurrency
        self._max_backoff = max_backoff
        self._reconcile_every = reconcile_every
        self._clock = clock
        self._jitter = jitter
        self._log_head = log_head
        self._connections_reached = connections_reached
        self.holder = f"worker-{uuid.uuid4().hex[:12]}"
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._in_flight = 0
        self._heartbeat: threading.Thread | None = None
        self._reconciled_at: float | None = None

    # -- one account ----------------------------------------------------------------

    def sync_now(self, account_id: str, wait: float) -> AccountSyncReport:
        """Syncs the account at once, every calendar REPORTed whatever its ctag; if
        another worker is syncing it, waits for that (bounded) and then syncs, so the
        answer reflects the server as of now. A dead worker's lease expires within
        one lease period, which the wait covers."""
        deadline = time.monotonic() + wait
        connection_ids = self._connections_soon(account_id, min(deadline, time.monotonic() + CONNECTIONS_SETTLE))
        while not self._state.claim(account_id, self.holder, self._clock(), self._lease_seconds):
            if time.monotonic() >= deadline:
                raise SyncInProgress("the account is being synced by another worker; try again shortly")
            self._stopping.wait(0.05)
        return self._run_claimed(account_id, connection_ids or None, force=True)

    def _connections_soon(self, account_id: str, until: float) -> list[str]:
        """The account's connections as the connections read model lists them once
        it has read the log as far as it went when SyncNow was asked (waiting until
        ``until`` at most): a SyncNow right after a connect may meet the model
        before it read it, and would sync nothing, or not for that connection's
        user (the model is updated by the projections, in this process or another)."""
        target = self._log_head()
        while True:
            reached = self._connections_reached(target)  # before the read: what it lists is then complete
            found = self._view.connections_of_account(account_id)
            if (found and reached) or time.monotonic() >= until or self._stopping.is_set():
                return found
            self._stopping.wait(0.05)

    def poll(self, account_id: str) -> AccountSyncReport | None:
        """Polls the account now as its schedule would (REPORTs only where a ctag
        moved); None when another worker holds it."""
        if not self._state.claim(account_id, self.holder, self._clock(), self._lease_seconds):
            return None
        return self._run_claimed(account_id)

    def sync_soon(self, account_id: str) -> None:
        """Makes the account due at once with its backoff reset (credentials were
        replaced: what failed may work now). Whichever poller of the fleet is free
        syncs it: this one is woken, the others hear of it on PostgreSQL."""
        self._state.due_now(account_id, self._clock())
        happened(log, "sync.due_now", account=account_id)
        self._wake.set()

    def run_due(self) -> int:
        """Polls every account that is due and not leased elsewhere, ``concurrency``
        at a time, and returns how many (the loop's work, run to the end)."""
        self._reconcile_if_due()
        count = 0
        pool = self._executor()
        while not self._stopping.is_set():
            claimed = self._claim(self._concurrency)
            if not claimed:
                break
            for future in [pool.submit(self._run_claimed, *job) for job in self._jobs(claimed)]:
                future.result()
            count += len(claimed)
        return count

    def connection_event(self, domain_event: Any) -> None:
        """Follower hook: a new connection puts its account in the poll table, due now
        (a connection to an account already there makes it due now too). The loop
        is not woken for it, on either store (no NOTIFY to the fleet on PostgreSQL):
        it comes by within an interval, and a client that connects and then asks
        SyncNow gets that sync's answer, with the resources it fetched."""
        if isinstance(domain_event, Connection.Connected):
            self._state.due_now(str(domain_event.account_id), self._clock(), wake=False)

    def _jobs(self, claimed: list[str]) -> list[tuple[str, list[str]]]:
        """Each claimed account with its connections, read here, in the claiming
        thread: the read model keeps a database connection per thread that reads
        it, and the pool's threads would each hold one."""
        return [(account_id, self._view.connections_of_account(account_id)) for account_id in claimed]

    def _run_claimed(
        self, account_id: str, connection_ids: list[str] | None = None, *, force: bool = False
    ) -> AccountSyncReport:
        with run_cause("sync"):
            started = time.monotonic()
            report = self._sync_and_release(account_id, connection_ids, force)
            _reported(report, time.monotonic() - started)
            return report

    def _sync_and_release(self, account_id: str, connection_ids: list[str] | None, force: bool) -> AccountSyncReport:
        self._started()
        try:
            try:
                if connection_ids is None:
                    connection_ids = self._view.connections_of_account(account_id)
                if not connection_ids:
                    self._state.forget_account(account_id)
                    return AccountSyncReport(account_id)
                report = self._syncer.sync(account_id, connection_ids, force=force)
            except Exception:
                log.exception("sync of account %s failed", account_id)  # the stack, for a bug report
                report = AccountSyncReport(account_id, calendars_failed=1, errors=["internal error"])
            failures = 0 if not report.errors and not report.calendars_failed else self._state.failures(account_id) + 1
            self._state.release(account_id, self.holder, self._next_due(report, failures), failures)
            return report
        finally:
            self._finished()

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
        interval = self._active_interval if report.active else self._interval
        return now + interval * (1 - INTERVAL_JITTER / 2 + INTERVAL_JITTER * self._jitter())

    # -- leases -------------------------------------------------------------------------

    def _claim(self, limit: int) -> list[str]:
        claimed = self._state.claim_due(self.holder, self._clock(), self._lease_seconds, limit)
        for account_id, previous in claimed:
            if previous and previous != self.holder:
                metrics.LEASE_TAKEOVERS.inc()
                happened(log, "sync.lease_taken_over", account_id=account_id, previous_holder=previous, holder=self.holder)
        return [account_id for account_id, _ in claimed]

    def _started(self) -> None:
        with self._lock:
            self._in_flight += 1
            metrics.POLLS_IN_FLIGHT.set(self._in_flight)
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(target=self._beat, name="sync-lease-heartbeat", daemon=True)
                self._heartbeat.start()

    def _finished(self) -> None:
        with self._lock:
            self._in_flight -= 1
            metrics.POLLS_IN_FLIGHT.set(self._in_flight)
        self._wake.set()

    def _beat(self) -> None:
        """Renews this holder's leases every third of a lease while polls run (one
        statement for all of them)."""
        while not self._stopping.wait(self._lease_seconds / 3):
            with self._lock:
                if self._in_flight == 0:
                    self._heartbeat = None
                    return
            try:
                self._state.renew(self.holder, self._clock() + self._lease_seconds)
            except Exception:
                log.exception("sync lease heartbeat failed")

    # -- the loop ---------------------------------------------------------------------

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="sync-poll")
            return self._pool

    def start(self) -> None:
        happened(log, "sync.poller_started", holder=self.holder, interval_s=self._interval)
        self._thread = threading.Thread(target=self._run, name="sync-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._syncer.close()

    def wake(self) -> None:
        self._wake.set()

    def _reconcile_if_due(self) -> None:
        now = self._clock()
        if self._reconciled_at is not None and now < self._reconciled_at + self._reconcile_every:
            return
        missing = self._state.reconcile(self._view.active_account_ids(), now)
        self._reconciled_at = now
        if missing:
            happened(log, "sync.poll_table_reconciled", accounts_added=missing)

    def _run(self) -> None:
        pool = self._executor()
        running: set[Future[AccountSyncReport]] = set()
        while not self._stopping.is_set():
            self._wake.clear()  # a poll that ends from here on wakes the wait below
            pause = self._interval
            try:
                self._reconcile_if_due()
                running = {f for f in running if not f.done()}
                free = self._concurrency - len(running)
                if free > 0:
                    claimed = self._claim(free)
                    running |= {pool.submit(self._run_claimed, *job) for job in self._jobs(claimed)}
                    if len(claimed) == free:
                        pause = 0.0  # more may be due: claim again as soon as a poll ends
                    else:
                        next_due = self._state.next_due_at()
                        if next_due is not None:
                            pause = max(0.0, min(next_due - self._clock(), self._interval))
                else:
                    pause = self._interval  # every slot busy: a poll that ends wakes the loop
            except Exception:
                log.exception("sync poller tick failed")
                pause = min(self._interval, 1.0)
            if pause > 0 or len(running) >= self._concurrency:
                self._wake.wait(pause if pause > 0 else self._interval)


def outcome_of(report: AccountSyncReport) -> str:
    if report.throttled_for is not None:
        return "throttled"
    if report.reconnect_required and not report.calendars_synced:
        return "reconnect_required"
    if report.errors or report.calendars_failed:
        return "partial" if report.calendars_synced else "failed"
    return "quiet" if report.quiet else "ok"


def _reported(report: AccountSyncReport, seconds: float) -> None:
    outcome = outcome_of(report)
    metrics.observe_sync(outcome, seconds, report.requests)
    happened(  # a quiet poll (one PROPFIND, nothing new) is the common case: DEBUG
        log, "sync.finished", logging.DEBUG if outcome == "quiet" else logging.INFO,
        account_id=report.account_id, outcome=outcome,
        calendars=report.calendars_synced, failed=report.calendars_failed, changes=report.changes,
        requests=report.requests, seconds=round(seconds, 3), position=report.position or None,
    )
