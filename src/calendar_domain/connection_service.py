"""Application service for connections: load, call, save; retry on conflicts.

The credential is proved by discovery before anything is saved, and the
password goes to the vault, never into an event.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TypeVar

from eventsourcing.application import AggregateNotFoundError

from calendar_domain import values
from calendar_domain.application import CalendarIntegration
from calendar_domain.configuration import CalendarConfiguration
from calendar_domain.connection import AccountLink, CalendarKind, ConnectedCalendar, Connection
from calendar_domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidCredentials,
    InvalidValue,
    NotFound,
    ReconnectRequired,
)
from calendar_domain.retry import retrying
from calendar_domain.schedule import UserSchedule
from calendar_domain.schedule_service import ScheduleService
from calendar_domain.configuration_service import configuration_of
from calendar_domain.ports import CalendarDiscovery, CredentialVault, DiscoveredCalendar, FeedProbe, ProvedFeed
from calendar_domain.subscriptions import FeedSubscriptions
from calendar_domain.telemetry import happened

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectAccount:
    sub_account_id: str
    user_id: str
    apple_id: str
    app_password: str
    request_id: str = ""


@dataclass(frozen=True)
class ConnectionOutcome:
    connection: Connection
    position: int


class ConnectionService(FeedSubscriptions):
    def __init__(
        self,
        app: CalendarIntegration,
        discovery: CalendarDiscovery,
        vault: CredentialVault,
        credentials_replaced: Callable[[str], None] = lambda _account_id: None,
        feeds: FeedProbe | None = None,
    ) -> None:
        self._app = app
        self._discovery = discovery
        self._vault = vault
        self._feeds: FeedProbe = feeds or _NoFeeds()
        # Told the account id once new credentials are recorded (the way out of
        # "reconnect required"): the account is synced at once, its backoff reset.
        self._credentials_replaced = credentials_replaced

    # -- commands ------------------------------------------------------------------

    def connect(self, command: ConnectAccount) -> ConnectionOutcome:
        sub_account_id = values.opaque_id("sub_account_id", command.sub_account_id)
        user_id = values.opaque_id("user_id", command.user_id)
        apple_id = values.apple_id("apple_id", command.apple_id)
        password = values.app_password("app_password", command.app_password)
        request_id = values.request_id("request_id", command.request_id)
        account_id = values.account_id_for(apple_id)
        link_id = AccountLink.create_id(sub_account_id, user_id, account_id)

        replay = self._existing_link_outcome(link_id, request_id)
        if replay is not None:
            return replay

        # Prove the credentials before anything is saved.
        discovered = self._prove(apple_id, password)
        credential_ref = uuid.uuid4().hex
        self._vault.store(credential_ref, password)
        try:
            outcome = self._retrying(
                lambda: self._save_new_connection(
                    link_id, sub_account_id, user_id, apple_id, account_id,
                    credential_ref, request_id, discovered,
                )
            )
            happened(
                log, "connection.connected", connection_id=outcome.connection.id, sub_account_id=sub_account_id,
                account_id=account_id, calendars=len(outcome.connection.calendars),
            )
            return outcome
        except BaseException:
            # Nothing refers to the stored secret: shred it.
            self._vault.destroy(credential_ref)
            raise

    def refresh_calendars(
        self, sub_account_id: str, connection_id: str, request_id: str = ""
    ) -> ConnectionOutcome:
        connection = self.get(sub_account_id, connection_id)
        request_id = values.request_id("request_id", request_id)
        if connection.has_seen(request_id) or connection.is_feed:  # a feed has its one calendar
            return ConnectionOutcome(connection, self._app.head_position())
        connection.ensure_not_disconnected()  # fail before any network I/O
        password = self._vault.fetch(connection.credential_ref)
        try:
            discovered = self._discovery.discover(connection.apple_id, password)
        except InvalidCredentials as refused:
            happened(log, "calendars.refused", connection_id=connection_id, reason=refused.reason)
            self.require_reconnect(sub_account_id, connection_id, refused.message)
            raise ReconnectRequired(
                "iCloud no longer accepts this connection's app-specific password (it is "
                "revoked when the Apple ID password is reset): reconnect with a new one",
                connection_id=connection_id,
            ) from None

        def attempt() -> ConnectionOutcome:
            current = self.get(sub_account_id, connection_id)
            before = set(current.calendars)
            current.discover_calendars(_calendars(current.account_id, discovered), request_id)
            removed = before - set(current.calendars)
            touched = self._forget_in_configuration(current, removed, "calendar deleted in iCloud")
            happened(
                log, "calendars.discovered", connection_id=connection_id, calendars=len(current.calendars),
                added=len(set(current.calendars) - before), removed=len(removed),
            )
            return ConnectionOutcome(current, self._app.record(current, *touched))

        with self._owners_turn(connection):
            return self._retrying(attempt)

    def replace_credentials(
        self, sub_account_id: str, connection_id: str, app_password: str, request_id: str = ""
    ) -> ConnectionOutcome:
        password = values.app_password("app_password", app_password)
        request_id = values.request_id("request_id", request_id)
        connection = self.get(sub_account_id, connection_id)
        if connection.has_seen(request_id):
            return ConnectionOutcome(connection, self._app.head_position())
        if connection.is_feed:
            raise InvalidValue("connection_id", "connection_id names a subscribed calendar, which has no password")
        connection.ensure_not_disconnected()  # fail before any network I/O
        discovered = self._prove(connection.apple_id, password)
        credential_ref = uuid.uuid4().hex
        self._vault.store(credential_ref, password)

        def attempt() -> tuple[ConnectionOutcome, str]:
            current = self.get(sub_account_id, connection_id)
            replaced = current.credential_ref
            current.replace_credentials(credential_ref, request_id)
            current.discover_calendars(_calendars(current.account_id, discovered))
            return ConnectionOutcome(current, self._app.record(current)), replaced

        try:
            outcome, replaced = self._retrying(attempt)
        except BaseException:
            self._vault.destroy(credential_ref)
            raise
        # The old password was revoked or is being retired: shred it.
        self._vault.destroy(replaced)
        try:
            self._credentials_replaced(str(outcome.connection.account_id))
        except Exception:  # the replacement stands; the account is synced at its next poll
            log.warning("could not make the account due at once after new credentials", exc_info=True)
        return outcome

    def disconnect(
        self, sub_account_id: str, connection_id: str, request_id: str = ""
    ) -> ConnectionOutcome:
        request_id = values.request_id("request_id", request_id)

        def attempt() -> tuple[ConnectionOutcome, str]:
            connection = self.get(sub_account_id, connection_id)
            credential_ref = connection.credential_ref
            if not connection.disconnect(request_id):
                return ConnectionOutcome(connection, self._app.head_position()), ""
            link: AccountLink = self._app.repository.get(
                AccountLink.create_id(connection.sub_account_id, connection.user_id, connection.account_id)
            )
            if link.connection_id == connection.id:
                link.unlink(connection.id)
            touched = self._forget_in_configuration(connection, None, "connection disconnected")
            return ConnectionOutcome(connection, self._app.record(connection, link, *touched)), credential_ref

        with self._owners_turn(self.get(sub_account_id, connection_id)):
            outcome, credential_ref = self._retrying(attempt)
        if credential_ref:
            # After the event is saved: a crash here leaves an orphaned secret,
            # still sealed and referenced by no live connection; never the reverse
            # (an active connection without its password).
            self._vault.destroy(credential_ref)
        return outcome

    # -- queries used by commands ----------------------------------------------------

    def head_position(self) -> int:
        return self._app.head_position()

    def get(self, sub_account_id: str, connection_id: str) -> Connection:
        """Loads a connection of this sub-account; one of another sub-account is
        NOT_FOUND, so ids never leak across tenants."""
        sub_account_id = values.opaque_id("sub_account_id", sub_account_id)
        aggregate_id = values.uuid_id("connection_id", connection_id)
        connection = self._app.find(aggregate_id, Connection)
        if connection is None or connection.sub_account_id != sub_account_id:
            raise NotFound(f"connection {connection_id} not found", connection_id=connection_id)
        return connection

    # -- helpers ---------------------------------------------------------------------

    def _forget_in_configuration(
        self, connection: Connection, calendar_ids: set[str] | None, reason: str
    ) -> list[CalendarConfiguration | UserSchedule]:
        """Calendars that are gone leave the owner's configuration, as recorded
        events saved with the connection's own (one transaction)."""
        if calendar_ids is not None and not calendar_ids:
            return []
        configuration = configuration_of(self._app, connection.sub_account_id, connection.user_id)
        if configuration is None or not configuration.forget_calendars(str(connection.id), calendar_ids, reason):
            return []
        return [configuration, *ScheduleService(self._app).releases_for(configuration)]

    def _prove(self, apple_id: str, password: str) -> list[DiscoveredCalendar]:
        """Discovery with a password the caller just gave: a refusal is that field's fault."""
        account_id = values.account_id_for(apple_id)  # the Apple ID itself never enters the log
        try:
            discovered = self._discovery.discover(apple_id, password)
        except InvalidCredentials as refused:
            happened(log, "connect.refused", account_id=account_id, reason=refused.reason)
            raise InvalidCredentials(refused.message, field="app_password") from None
        except DomainError as failed:
            happened(log, "connect.refused", account_id=account_id, reason=failed.reason)
            raise
        happened(log, "connect.proved", account_id=account_id, calendars=len(discovered))
        return discovered

    def require_reconnect(self, sub_account_id: str, connection_id: str, reason: str) -> None:
        """The provider refused this connection's stored password (HTTP 401)."""
        def attempt() -> None:
            connection = self.get(sub_account_id, connection_id)
            if connection.require_reconnect(reason):
                self._app.record(connection)
                happened(
                    log, "connection.reconnect_required", connection_id=connection_id,
                    sub_account_id=sub_account_id, account_id=connection.account_id,
                )

        self._retrying(attempt)

    def _existing_link_outcome(self, link_id: uuid.UUID, request_id: str) -> ConnectionOutcome | None:
        """A retried connect (same request id) returns the first result; connecting
        an already connected account is ALREADY_EXISTS."""
        try:
            link: AccountLink = self._app.repository.get(link_id)
        except AggregateNotFoundError:
            return None
        if link.connection_id is None:
            return None
        connection: Connection = self._app.repository.get(link.connection_id)
        if request_id and link.request_id == request_id:
            return ConnectionOutcome(connection, self._app.head_position())
        what = "feed is already subscribed to" if connection.is_feed else "Apple ID is already connected"
        raise AlreadyExists(f"this {what} for this user in this sub-account", connection_id=str(connection.id))

    def _save_new_connection(
        self,
        link_id: uuid.UUID,
        sub_account_id: str,
        user_id: str,
        apple_id: str,
        account_id: uuid.UUID,
        credential_ref: str,
        request_id: str,
        discovered: list[DiscoveredCalendar],
    ) -> ConnectionOutcome:
        replay = self._existing_link_outcome(link_id, request_id)
        if replay is not None:
            if replay.connection.credential_ref != credential_ref:
                # A concurrent retry of the same request won; this secret is unused.
                self._vault.destroy(credential_ref)
            return replay
        connection = Connection(
            sub_account_id=sub_account_id,
            user_id=user_id,
            apple_id=apple_id,
            account_id=account_id,
            credential_ref=credential_ref,
            request_id=request_id,
        )
        connection.discover_calendars(_calendars(account_id, discovered))
        link = self._link_for(link_id, (sub_account_id, user_id), account_id, connection.id, request_id)
        return ConnectionOutcome(connection, self._app.record(connection, link))

    def _link_for(
        self, link_id: uuid.UUID, owner: tuple[str, str], account_id: uuid.UUID, connection_id: uuid.UUID,
        request_id: str,
    ) -> AccountLink:
        """The account's link for this user, made or pointed at the new connection."""
        try:
            link: AccountLink = self._app.repository.get(link_id)
        except AggregateNotFoundError:
            return AccountLink(*owner, account_id, connection_id, request_id)
        link.relink(connection_id, request_id)
        return link

    def _owners_turn(self, connection: Connection) -> AbstractContextManager[None]:
        """The turn of the owner's configuration and schedule, which forgetting the
        connection's calendars may change (bookings for that user take turns with it)."""
        owner = (connection.sub_account_id, connection.user_id)
        return self._app.serialised(CalendarConfiguration.create_id(*owner), UserSchedule.create_id(*owner))

    def _retrying(self, attempt: Callable[[], T]) -> T:
        return retrying(attempt)


class _NoFeeds:
    """A service built without a feed fetcher (some tests): subscriptions refused."""

    def normalise(self, field: str, url: str) -> str:
        raise InvalidValue(field, "subscribed calendars are not available in this service")

    def prove(self, field: str, url: str) -> ProvedFeed:
        raise InvalidValue(field, "subscribed calendars are not available in this service")


def _calendars(account_id: uuid.UUID, discovered: list[DiscoveredCalendar]) -> list[ConnectedCalendar]:
    return [
        ConnectedCalendar(
            calendar_id=str(values.calendar_id_for(account_id, d.href)),
            href=d.href,
            display_name=d.display_name,
            color=d.color,
            writable=d.writable and d.kind == CalendarKind.EVENTS.value,
            kind=d.kind,
            source=d.source,
        )
        for d in discovered
    ]


