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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import chain
from typing import Protocol

from adapters.icloud.dav import CalDAVAccount, HomeMoved, HomePoller
from adapters.icloud.parse_pool import ResourceParser
from adapters.icloud.throttle import HostGate, HostPaused
from adapters.icloud.sync import CalendarFetcher, Listing, SyncTokenRefused
from adapters import metrics
from adapters.persistence.sync_state import AccountMemo, SyncState
from calendar_domain.application import CalendarIntegration
from calendar_domain.configuration import CalendarConfiguration
from calendar_domain.connection import Connection, ConnectionStatus
from calendar_domain.connection_service import ConnectionService
from calendar_domain.errors import (
    DomainError,
    InvalidCredentials,
    NotFound,
    ProviderProtocolError,
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
    requests: int = 0  # CalDAV requests the poll made
    quiet: bool = False  # one PROPFIND said nothing changed: no REPORT, no schedule loaded
    active: bool = False  # a calendar of the account changed lately: polled more often


@dataclass
class _Poll:
    """One poll of an account: what the home's PROPFIND said, what to REPORT, how it went."""

    memo: AccountMemo
    verify: bool  # REPORT every calendar whatever its ctag says
    insist: bool = False  # SyncNow: ask a host that asked us to wait all the same
    tokens: dict[str, str] | None = None  # calendar href -> ctag, as the PROPFIND found them
    to_report: dict[str, str] = field(default_factory=dict)  # href -> why (changed, no_ctag, verify)
    calendars_changed: bool = False  # calendars added to or removed from the home
    pending: dict[str, list[SyncTarget]] | None = None  # calendar id -> its targets, not yet synced
    reported: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    done: bool = False
    home_moved: bool = False
    refreshed: bool = False  # the connections discovered their calendars again

    def choose(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        known = self.memo.tokens
        self.calendars_changed = bool(known) and set(known) != set(tokens)
        for href, token in tokens.items():
            if not token:
                self.to_report[href] = "no_ctag"  # nothing to compare: only a REPORT can tell
            elif self.verify:
                self.to_report[href] = "verify"
            elif known.get(href) != token:
                self.to_report[href] = "changed"

    def memo_after(self, key: str, now: float) -> AccountMemo:
        """Each calendar's ctag as the PROPFIND found it, before the REPORT: a change
        made meanwhile moves the ctag again, and the next poll REPORTs. A calendar
        whose sync failed is remembered with no ctag, so that it is REPORTed again."""
        tokens = {href: "" if href in self.failed else token for href, token in (self.tokens or {}).items()}
        complete = not self.failed
        moved = any(why == "changed" for why in self.to_report.values())
        return AccountMemo(
            tokens=tokens, targets=key if complete else "",
            verified_at=now if self.verify and complete else self.memo.verified_at,
            changed_at=now if moved else self.memo.changed_at,
        )


class FeedPolls(Protocol):
    """Polls an account that is a subscribed feed (``adapters.feeds.sync``)."""

    def sync(self, account_id: str, connections: list[Connection], *, force: bool = False) -> AccountSyncReport: ...

    def close(self) -> None: ...


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
        *,
        verify_every: float = 3600.0,
        home_poller: HomePoller | None = None,
        gate: HostGate | None = None,
        active_for: float = 3600.0,
        feeds: FeedPolls | None = None,
        confirm_every: float = 60.0,
    ) -> None:
        """``confirm_every``: how often a quiet poll marks the account's calendars
        synced (a fraction of the stale time)."""
        self._app = app
        self._confirm_every = confirm_every
        self._feeds = feeds
        self._parser = parser or ResourceParser(0)
        self._connections = connections
        self._schedules = schedules
        self._vault = vault
        self._state = state
        self._caldav = caldav
        self._verify_every = verify_every
        self._home_poller = home_poller
        self._gate = gate
        self._active_for = active_for

    def sync(self, account_id: str, connection_ids: list[str], *, force: bool = False) -> AccountSyncReport:
        """Polls the account through the first working credentials among its connections.

        One depth-1 PROPFIND of the calendar home gives every calendar's ctag; only
        calendars whose ctag moved since they were last synced get a sync-collection
        REPORT, so an account with nothing new costs that one request, and the
        schedules are not even loaded. Every calendar is REPORTed regardless when
        ``force`` (SyncNow), when what says which calendars to sync changed
        (connections, configuration), when a calendar reports no ctag, and once per
        ``verify_every`` seconds (a server whose ctag does not move with its
        content is then at most that late)."""
        report = AccountSyncReport(account_id)
        connections = [
            c for c in (self._app.find(uuid.UUID(i), Connection) for i in connection_ids)
            if c is not None and c.status is ConnectionStatus.ACTIVE
        ]
        if connections and all(c.is_feed for c in connections):
            if self._feeds is None:
                return report  # this process fetches no feeds
            return self._feeds.sync(account_id, connections, force=force)
        memo = self._state.memo(account_id)
        key = targets_key(self._app, connections)
        now = time.time()
        verify = force or key != memo.targets or now >= memo.verified_at + self._verify_every
        poll = _Poll(memo, verify, insist=force)
        for connection in connections:
            if poll.done:
                break
            try:
                password = self._vault.fetch(connection.credential_ref)
            except NotFound:
                continue
            try:
                if poll.tokens is None and memo.home_url and self._home_poller is not None:
                    if self._quiet_at_home(memo.home_url, connection, password, poll, report):
                        break
                with CalDAVAccount(
                    self._caldav.base_url, connection.apple_id, password,
                    timeout=self._caldav.timeout, verify_tls=self._caldav.verify_tls,
                    home_url=None if poll.home_moved else memo.home_url or None, gate=self._gate, insist=force,
                ) as account:
                    try:
                        self._poll_with(account, account_id, connections, poll, report)
                    finally:
                        report.requests += account.requests
                    if account.home_url() != memo.home_url:
                        self._state.remember_home(account_id, account.home_url())
            except InvalidCredentials as refused:
                # Apple revoked this app-specific password: the connection needs the
                # user; the account may still be reachable through another one.
                self._connections.require_reconnect(connection.sub_account_id, str(connection.id), refused.message)
                report.reconnect_required.append(str(connection.id))
                for calendar_id in poll.pending or ():
                    self._state.failed(account_id, calendar_id, refused.message)
            except ProviderThrottled as throttled:
                report.throttled_for = throttled.retry_after
                report.errors.append(throttled.message)
                break
            except DomainError as failure:
                report.errors.append(failure.message)
                poll.home_moved = poll.home_moved or isinstance(failure, ProviderProtocolError)
                break
        if poll.home_moved or report.reconnect_required:
            # The account may have moved to another partition host (a 404, a
            # redirect, an answer that is not CalDAV): look again next time. A host
            # that is down or throttling keeps its accounts.
            self._state.forget_home(account_id)
        if poll.done:
            after = poll.memo_after(key, now)
            if after != replace(memo, home_url=""):  # the home is kept on its own
                self._state.remember(account_id, after)  # a quiet poll writes nothing here
            # Polls follow need: a calendar that changed lately (an edit, or the echo
            # of an appointment booked and pushed) is likely to change again soon.
            report.active = now - after.changed_at < self._active_for
        report.calendars_failed += len(poll.pending or ())
        report.quiet = poll.done and not poll.reported and not report.errors
        if report.quiet:
            self._state.confirmed(account_id, now, now - self._confirm_every)
        self._finished(poll)
        return report

    def close(self) -> None:
        """Closes the connections kept for polls (opened again if needed)."""
        if self._home_poller is not None:
            self._home_poller.close()
        if self._feeds is not None:
            self._feeds.close()

    def _quiet_at_home(
        self, home: str, connection: Connection, password: str, poll: _Poll, report: AccountSyncReport
    ) -> bool:
        """The home's PROPFIND on the process's shared connections; True when it says
        nothing changed (the poll is over: no session of its own, no schedule
        loaded). A home that moved is looked up again by the full session."""
        assert self._home_poller is not None
        try:
            tokens = self._home_poller.calendar_tokens(home, connection.apple_id, password, insist=poll.insist)
        except HostPaused:
            raise  # nothing was sent
        except HomeMoved:
            report.requests += 1
            self._state.forget_home(report.account_id)
            poll.home_moved = True
            return False
        except DomainError:
            report.requests += 1
            raise
        report.requests += 1
        poll.choose(tokens)
        if poll.to_report or poll.calendars_changed:
            return False
        poll.pending = {}
        poll.done = True
        return True

    def _poll_with(
        self, account: CalDAVAccount, account_id: str, connections: list[Connection], poll: _Poll,
        report: AccountSyncReport,
    ) -> None:
        if poll.tokens is None:
            poll.choose(account.calendar_tokens())
        if poll.calendars_changed and not poll.refreshed:
            poll.refreshed = True
            self._refresh_calendars(account_id, connections)
        if poll.pending is None:
            poll.pending = self._pending(connections, poll)
        for calendar_id in list(poll.pending):
            targets = poll.pending[calendar_id]
            if not self._sync_calendar(account, account_id, targets, report):
                poll.failed.add(targets[0].href)
            poll.reported.add(targets[0].href)
            del poll.pending[calendar_id]
        poll.done = True

    def _pending(self, connections: list[Connection], poll: _Poll) -> dict[str, list[SyncTarget]]:
        """The calendars to REPORT, with every schedule that wants each. The schedules
        are loaded only here: a quiet account never gets this far."""
        if not poll.to_report and poll.tokens is not None and not poll.calendars_changed:
            return {}
        by_calendar: dict[str, list[SyncTarget]] = defaultdict(list)
        for target in self._schedules.sync_targets(connections):
            # A calendar the PROPFIND did not list (spelled otherwise, or gone) is
            # REPORTed anyway: its REPORT says which.
            if target.href in poll.to_report or target.href not in (poll.tokens or {}):
                by_calendar[target.calendar_id].append(target)
        return dict(by_calendar)

    def _refresh_calendars(self, account_id: str, connections: list[Connection]) -> None:
        """Calendars were added to or removed from the home since the last poll: each
        connection discovers them again (a removed calendar stops blocking)."""
        happened(log, "sync.calendars_changed", account=account_id, connections=len(connections))
        for connection in connections:
            try:
                self._connections.refresh_calendars(connection.sub_account_id, str(connection.id))
            except DomainError as failure:
                happened(
                    log, "sync.calendars_refresh_failed", logging.WARNING,
                    account=account_id, connection=str(connection.id), error=failure.message,
                )

    def _finished(self, poll: _Poll) -> None:
        for reason in poll.to_report.values():
            metrics.CALENDAR_REPORTS.labels(reason).inc()

    def _sync_calendar(
        self, account: CalDAVAccount, account_id: str, targets: list[SyncTarget], report: AccountSyncReport
    ) -> bool:
        """Syncs one calendar for every schedule that wants it; False when it failed."""
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
            return False
        self._state.succeeded(account_id, calendar_id, time.time())
        report.calendars_synced += 1
        return True

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


def targets_key(app: CalendarIntegration, connections: list[Connection]) -> str:
    """The versions of what decides the calendars to sync and for whom: each
    connection and its user's configuration. When it moves (a calendar made
    blocking, a new connection to the same Apple ID), every calendar is REPORTed,
    since a new schedule has no checkpoint however quiet the calendar is."""
    parts = []
    for connection in sorted(connections, key=lambda c: str(c.id)):
        configuration_id = CalendarConfiguration.create_id(connection.sub_account_id, connection.user_id)
        latest = app.recorder.select_events(configuration_id, desc=True, limit=1)
        parts.append(f"{connection.id}:{connection.version}:{latest[0].originator_version if latest else 0}")
    return ";".join(parts)


def diff_members(target: SyncTarget, etags: dict[str, str]) -> tuple[dict[str, str], set[str]]:
    """Against every member of a calendar (href -> etag): the members to read
    (an etag this schedule does not know) and the members gone."""
    return _diff(target, Listing(etags, frozenset(), "", complete=True))


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
