"""Polls one subscribed feed for every schedule that blocks on it.

A poll is one conditional GET (If-None-Match / If-Modified-Since, with what the
last poll was given): a 304, or a body whose digest is the one last read, ends
it there, with no schedule loaded. A feed that changed is cut into members
(``adapters.feeds.members``), diffed by etag against what each schedule knows,
and the changed members are parsed and recorded like a CalDAV calendar's: the
same busy rules, provenance and history.

A feed that cannot be fetched, or answers with something that is not iCalendar,
changes nothing: its last known busy times stay, the calendar's sync is marked
failed, and answers say it is out of date once it has not been read for the
stale time (the sub-account's stale policy decides whether it still blocks).
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import UTC, datetime

from adapters import metrics
from adapters.feeds.fetch import FeedFetcher, Validators, feed_host
from adapters.feeds.members import feed_members
from adapters.icloud.parse_pool import ResourceParser
from adapters.icloud.sync_worker import AccountSyncReport, diff_members, targets_key
from adapters.persistence.sync_state import AccountMemo, SyncState
from calendar_domain.application import CalendarIntegration
from calendar_domain.connection import Connection
from calendar_domain.errors import DomainError, NotFound, ProviderThrottled
from calendar_domain.ports import CredentialVault
from calendar_domain.schedule import CalendarChanges, ImportedSeries, SkippedResource
from calendar_domain.schedule_service import ScheduleService, SyncTarget
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)


class FeedSyncer:
    def __init__(
        self,
        app: CalendarIntegration,
        schedules: ScheduleService,
        vault: CredentialVault,
        state: SyncState,
        fetcher: FeedFetcher,
        parser: ResourceParser,
        *,
        confirm_every: float = 60.0,
    ) -> None:
        """``confirm_every``: how often a poll that found the feed unchanged marks its
        calendar synced (a fraction of the stale time; most such polls write nothing)."""
        self._confirm_every = confirm_every
        self._app = app
        self._schedules = schedules
        self._vault = vault
        self._state = state
        self._fetcher = fetcher
        self._parser = parser

    def sync(self, account_id: str, connections: list[Connection], *, force: bool = False) -> AccountSyncReport:
        """``connections``: the working subscriptions of the feed (every one holds
        the same URL). ``force`` (SyncNow): fetched unconditionally, read whatever
        its digest."""
        report = AccountSyncReport(account_id)
        url = self._url(connections)
        calendar_ids = sorted({c for connection in connections for c in connection.calendars})
        if url is None or not calendar_ids:
            return report
        host = feed_host(url)
        memo = self._state.memo(account_id)
        key = targets_key(self._app, connections)
        known = memo.tokens.get("digest", "")
        conditional = not force and key == memo.targets and bool(known)
        sent = Validators(memo.tokens.get("etag", ""), memo.tokens.get("last_modified", "")) if conditional else None
        if not conditional:  # a poll after a 304 has its health row already
            for calendar_id in calendar_ids:
                self._state.started(account_id, calendar_id, time.time())
        try:
            answer = self._fetcher.fetch(url, sent, insist=force)
            report.requests += answer.requests
            if answer.not_modified:
                digest = known
            else:
                digest = hashlib.sha256(answer.body).hexdigest()
                if not (conditional and digest == known):
                    report.changes = self._read(answer.body, connections, host, report)
        except DomainError as failure:
            for calendar_id in calendar_ids:
                self._state.failed(account_id, calendar_id, failure.message)
            report.errors.append(failure.message)
            report.calendars_failed = len(calendar_ids)
            if isinstance(failure, ProviderThrottled):
                report.throttled_for = failure.retry_after or 0.0
            metrics.FEED_POLLS.labels("failed").inc()
            happened(log, "feed.failed", logging.WARNING, account_id=account_id, host=host, error=failure.message)
            return report
        done = time.time()
        changed = digest != known or key != memo.targets
        if conditional and not changed:  # a 304, or the same body: one write per stale quarter at most
            self._state.confirmed(account_id, done, done - self._confirm_every, recovered=True)
        else:
            for calendar_id in calendar_ids:
                self._state.succeeded(account_id, calendar_id, done)
        report.calendars_synced = len(calendar_ids)
        after = AccountMemo(
            tokens={"digest": digest, "etag": answer.validators.etag, "last_modified": answer.validators.last_modified},
            targets=key, verified_at=done, changed_at=done if digest != known else memo.changed_at,
        )
        if changed or after.tokens != memo.tokens:  # a quiet poll writes nothing here
            self._state.remember(account_id, after)
        report.quiet = not changed
        outcome = "not_modified" if answer.not_modified else ("changed" if changed else "unchanged")
        metrics.FEED_POLLS.labels(outcome).inc()
        happened(
            log, "feed.polled", logging.DEBUG if report.quiet else logging.INFO, account_id=account_id, host=host,
            outcome=outcome, changes=report.changes, bytes=len(answer.body),
        )
        return report

    def close(self) -> None:
        self._fetcher.close()

    def _url(self, connections: list[Connection]) -> str | None:
        for connection in connections:
            try:
                return self._vault.fetch(connection.credential_ref)
            except NotFound:
                continue  # shredded meanwhile (a disconnect): another subscriber's copy
        return None

    def _read(self, body: bytes, connections: list[Connection], host: str, report: AccountSyncReport) -> int:
        """Records what changed in the feed for every schedule that blocks on it;
        returns how many series were imported, changed or deleted."""
        href = next(iter(connections[0].calendars.values())).href
        feed = feed_members(body, href, host)
        targets = self._schedules.sync_targets(connections)
        if not targets:
            return 0
        fetched_at = datetime.now(UTC)
        plans = [(target, *diff_members(target, {h: etag for h, (etag, _) in feed.members.items()})) for target in targets]
        wanted = sorted({h for _, changed, _ in plans for h in changed})
        zones = sorted({t.time_zone for t in targets})
        parsed = self._parser.parse(
            ((h, feed.members[h][0], feed.members[h][1]) for h in wanted), zones, fetched_at, len(wanted)
        )
        digest = hashlib.sha256(body).hexdigest()
        found: list[tuple[SyncTarget, CalendarChanges]] = []
        for target, changed, deleted in plans:
            series: list[ImportedSeries] = []
            skipped: list[SkippedResource] = []
            for h in sorted(changed):
                item = parsed.get((h, target.time_zone))
                if item is not None:
                    (series if isinstance(item, ImportedSeries) else skipped).append(item)  # type: ignore[arg-type]
            found.append((target, CalendarChanges(target.calendar_id, series, skipped, sorted(deleted), digest, fetched_at)))
        report.position = self._schedules.record_changes(found)
        return sum(len(c.changed) + len(c.deleted) for _, c in found)


def feed_connections(connections: list[Connection]) -> bool:
    """Whether these connections (of one account) are subscriptions to a feed."""
    return bool(connections) and all(c.is_feed for c in connections)

