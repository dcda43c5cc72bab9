"""Syncs one iCloud account: every blocking calendar of every sub-account that
connects it, each calendar fetched once, the changes recorded as commands.

The worker holds no domain rules: the schedule service says which calendars to
sync for whom and records what was found; this module only talks CalDAV,
parses, and keeps the operational health and progress figures.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain

from adapters.icloud.dav import CalDAVAccount
from adapters.icloud.parse_pool import ResourceParser
from adapters.icloud.sync import CalendarFetcher, Listing, SyncTokenRefused
from adapters.persistence.sync_state import SyncState
from calendar_domain.application import CalendarIntegration
from calendar_domain.connection import Connection, ConnectionStatus
from calendar_domain.connection_service import ConnectionService
from calendar_domain.errors import (
    DomainError,
    InvalidCredentials,
    NotFound,
    ProviderThrottled,
    ProviderUnavailable,
)
from calendar_domain.ports import CredentialVault
from calendar_domain.schedule import CalendarChanges, ImportedSeries, SkippedResource
from calendar_domain.schedule_service import ScheduleService, SyncTarget
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)


@dataclass
class AccountSyncReport:
    account_id: str
    calendars_synced: int = 0
    calendars_failed: int = 0
    position: int = 0
    errors: list[str] = field(default_factory=list)
    throttled_for: float | None = None  # seconds the provider asked us to wait
    reconnect_required: list[str] = field(default_factory=list)
    changes: int = 0  # series imported or changed, and members deleted
    requests: int = 0  # HTTP requests made


@dataclass(frozen=True)
class CalDAVSettings:
    base_url: str
    timeout: float
    verify_tls: bool | str = True
    batch_size: int = 250


class AccountSyncer:
    def __init__(
        self,
        app: CalendarIntegration,
        connections: ConnectionService,
        schedules: ScheduleService,
        vault: CredentialVault,
        state: SyncState,
        caldav: CalDAVSettings,
        parser: ResourceParser | None = None,
    ) -> None:
        self._app = app
        self._parser = parser or ResourceParser(0)
        self._connections = connections
        self._schedules = schedules
        self._vault = vault
        self._state = state
        self._caldav = caldav
        # account id -> calendar home URL (on iCloud: on the account's partition host)
        self._homes: dict[str, str] = {}

    def sync(self, account_id: str, connection_ids: list[str]) -> AccountSyncReport:
        """Syncs the account through the first working credentials among its connections."""
        report = AccountSyncReport(account_id)
        connections = [
            c for c in (self._app.find(uuid.UUID(i), Connection) for i in connection_ids)
            if c is not None and c.status is ConnectionStatus.ACTIVE
        ]
        targets = self._schedules.sync_targets(connections)
        by_calendar: dict[str, list[SyncTarget]] = defaultdict(list)
        for target in targets:
            by_calendar[target.calendar_id].append(target)
        pending = dict(by_calendar)
        for connection in connections:
            if not pending:
                break
            try:
                password = self._vault.fetch(connection.credential_ref)
            except NotFound:
                continue
            try:
                with CalDAVAccount(
                    self._caldav.base_url, connection.apple_id, password,
                    timeout=self._caldav.timeout, verify_tls=self._caldav.verify_tls,
                    home_url=self._homes.get(account_id),
                ) as account:
                    try:
                        for calendar_id in list(pending):
                            self._sync_calendar(account, account_id, pending[calendar_id], report)
                            del pending[calendar_id]
                        self._homes[account_id] = account.home_url()
                    finally:
                        report.requests += account.requests
            except InvalidCredentials as refused:
                # Apple revoked this app-specific password: the connection needs the
                # user; the account may still be reachable through another one.
                self._connections.require_reconnect(connection.sub_account_id, str(connection.id), refused.message)
                report.reconnect_required.append(str(connection.id))
                for calendar_id in pending:
                    self._state.failed(account_id, calendar_id, refused.message)
            except ProviderThrottled as throttled:
                report.throttled_for = throttled.retry_after
                report.errors.append(throttled.message)
                break
            except DomainError as failure:
                report.errors.append(failure.message)
                break
        if report.errors or report.reconnect_required:
            # The account may have moved to another partition host: look again next time.
            self._homes.pop(account_id, None)
        report.calendars_failed += len(pending)
        return report

    def _sync_calendar(
        self, account: CalDAVAccount, account_id: str, targets: list[SyncTarget], report: AccountSyncReport
    ) -> None:
        calendar_id = targets[0].calendar_id
        self._state.started(account_id, calendar_id, time.time())
        try:
            found = self._fetch_changes(account, account_id, targets)
            report.changes += sum(len(c.changed) + len(c.deleted) for _, c in found)
            report.position = max(report.position, self._schedules.record_changes(found))
        except InvalidCredentials:
            raise  # the caller tries the account's other credentials first
        except (ProviderUnavailable, ProviderThrottled) as failure:
            self._state.failed(account_id, calendar_id, failure.message)
            raise  # the server is down or busy: stop this account's sync, back off
        except DomainError as failure:
            # This calendar answered wrongly; the account's other calendars may not.
            self._state.failed(account_id, calendar_id, failure.message)
            report.errors.append(failure.message)
            report.calendars_failed += 1
            return
        self._state.succeeded(account_id, calendar_id, time.time())
        report.calendars_synced += 1

    def _fetch_changes(
        self, account: CalDAVAccount, account_id: str, targets: list[SyncTarget]
    ) -> list[tuple[SyncTarget, CalendarChanges]]:
        fetcher = CalendarFetcher(account, batch_size=self._caldav.batch_size)
        href, calendar_id = targets[0].href, targets[0].calendar_id
        fetched_at = datetime.now(UTC)
        if any(not t.checkpoint for t in targets):
            self._parser.start()  # a first sync is large: its parsers start while it lists
        groups: dict[str | None, list[SyncTarget]] = defaultdict(list)
        for target in targets:
            groups[target.checkpoint or None].append(target)
        plans: list[tuple[SyncTarget, Listing, dict[str, str], set[str]]] = []
        for token, members in groups.items():
            # nothing known by anyone: every member is wanted, its data comes along
            first = token is None and not any(t.known for t in members)
            listing = self._listing(fetcher, href, token, with_data=first)
            for target in members:
                changed, deleted = _diff(target, listing)
                plans.append((target, listing, changed, deleted))
        wanted = sorted({h for _, _, changed, _ in plans for h in changed})
        listed, missing = _carried_or_missing(plans, wanted)

        def progress(done: int) -> None:
            self._state.progress(account_id, calendar_id, done, len(wanted))

        progress(0)
        zones = sorted({t.time_zone for t in targets})
        # Each multiget batch is parsed as it arrives, while the next one is being
        # fetched; progress counts the resources fetched and parsed.
        fetched = fetcher.fetch(href, missing)
        try:
            parsed = self._parser.parse(chain(listed, fetched), zones, fetched_at, len(wanted), progress)
        finally:
            fetched.close()  # a parse that failed midway stops the fetching thread too
        progress(len(wanted))  # members deleted meanwhile are done too (the next sync says so)
        found = []
        for target, listing, changed, deleted in plans:
            series: list[ImportedSeries] = []
            skipped: list[SkippedResource] = []
            for h in sorted(changed):
                item = parsed.get((h, target.time_zone))
                if item is None:
                    continue  # deleted between listing and fetching; the next sync says so
                (series if isinstance(item, ImportedSeries) else skipped).append(item)  # type: ignore[arg-type]
            found.append(
                (target, CalendarChanges(calendar_id, series, skipped, sorted(deleted), listing.sync_token, fetched_at))
            )
        return found

    @staticmethod
    def _listing(fetcher: CalendarFetcher, href: str, token: str | None, with_data: bool) -> Listing:
        if token:
            try:
                return fetcher.changes_since(href, token)
            except SyncTokenRefused:
                happened(log, "sync.token_refused", calendar_href_hash=_short_hash(href))
        if with_data:
            try:
                return fetcher.full_listing(href, with_data=True)
            except ProviderThrottled:
                raise  # asked to wait: the whole account backs off
            except ProviderUnavailable as failure:
                # One reply with every member's data may be too much for the server
                # (a timeout, a 5xx): list etags only, and fetch in batches.
                happened(
                    log, "sync.listing_too_large", logging.WARNING,
                    calendar_href_hash=_short_hash(href), reason=failure.reason,
                )
        return fetcher.full_listing(href)


def _carried_or_missing(
    plans: list[tuple[SyncTarget, Listing, dict[str, str], set[str]]], wanted: list[str]
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(href, etag, data) of the wanted members whose data came with a listing, and
    the hrefs to fetch. Carried data serves a member only when every target wants
    it at that very etag: a target whose own (later) listing saw another etag
    would otherwise record the older data under its newer sync token."""
    carried = {h: (listing.etags[h], body) for _, listing, _, _ in plans for h, body in listing.data.items()}
    etags: dict[str, set[str]] = defaultdict(set)
    for _, _, changed, _ in plans:
        for h, etag in changed.items():
            etags[h].add(etag)
    usable = {h for h in wanted if h in carried and etags[h] == {carried[h][0]}}
    return [(h, *carried[h]) for h in wanted if h in usable], [h for h in wanted if h not in usable]


def _diff(target: SyncTarget, listing: Listing) -> tuple[dict[str, str], set[str]]:
    """Members to fetch (etag differs from what this schedule knows) and members gone."""
    changed = {
        h: etag for h, etag in listing.etags.items()
        if h not in target.known or target.known[h].etag != etag or not etag
    }
    if listing.complete:
        deleted = set(target.known) - set(listing.etags)
    else:
        deleted = set(listing.deleted) & set(target.known)
    return changed, deleted


def _short_hash(href: str) -> str:
    """A calendar's href names the account on some servers: the log gets a digest."""
    return hashlib.sha256(href.encode()).hexdigest()[:12]
