"""Subscribed calendars: an iCalendar feed (an https or webcal URL) as a conflict
calendar of one user.

A subscription is a connection of kind ``feed`` with one read-only calendar,
made a conflict calendar of its user in the same transaction: its events block
that user's time like an iCloud calendar's, it can never be the primary
calendar, and nothing is ever written to it. The URL is proved (fetched and read
once) before anything is saved, then kept in the credential vault, never in the
log: a feed URL often carries a secret token. Every subscriber of one URL shares
the feed's account id, so the poller fetches it once for all of them.

The feed may be given as a URL, or as one of the subscribed calendars the user's
iCloud account already has (listed with kind ``subscription``): its source URL
is then read from iCloud.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from calendar_domain import values
from calendar_domain.configuration import CalendarConfiguration, CalendarRef
from calendar_domain.configuration_service import configuration_of
from calendar_domain.connection import AccountLink, CalendarKind, ConnectedCalendar, Connection, ConnectionKind
from calendar_domain.errors import InvalidCredentials, InvalidValue, ReconnectRequired, raise_all
from calendar_domain.ports import ProvedFeed
from calendar_domain.schedule import UserSchedule
from calendar_domain.telemetry import happened

if TYPE_CHECKING:
    from collections.abc import Callable

    from calendar_domain.application import CalendarIntegration
    from calendar_domain.connection_service import ConnectionOutcome
    from calendar_domain.ports import CalendarDiscovery, CredentialVault, FeedProbe

T = TypeVar("T")

log = logging.getLogger(__name__)
FEED_HREF = "/feeds/{account_id}/"  # the one calendar's href: no server path to name


@dataclass(frozen=True)
class SubscribeCalendar:
    sub_account_id: str
    user_id: str
    url: str = ""  # the feed's URL, or:
    icloud_connection_id: str = ""  # a subscribed calendar of one of the user's iCloud connections
    icloud_calendar_id: str = ""
    display_name: str = ""  # optional: else the feed's own name
    request_id: str = ""


class FeedSubscriptions:
    """The subscription commands of the connection service (a part of it)."""

    if TYPE_CHECKING:  # what the connection service gives this part
        _app: CalendarIntegration
        _vault: CredentialVault
        _discovery: CalendarDiscovery
        _feeds: FeedProbe

        def get(self, sub_account_id: str, connection_id: str) -> Connection: ...
        def require_reconnect(self, sub_account_id: str, connection_id: str, reason: str) -> None: ...
        def _existing_link_outcome(self, link_id: uuid.UUID, request_id: str) -> ConnectionOutcome | None: ...
        def _retrying(self, attempt: Callable[[], T]) -> T: ...
        def _link_for(
            self, link_id: uuid.UUID, owner: tuple[str, str], account_id: uuid.UUID, connection_id: uuid.UUID,
            request_id: str,
        ) -> AccountLink: ...

    def subscribe(self, command: SubscribeCalendar) -> ConnectionOutcome:
        problems: list[InvalidValue] = []

        def checked(check: object, field: str, value: str) -> str:
            try:
                return check(field, value)  # type: ignore[operator, no-any-return]
            except InvalidValue as bad:
                problems.append(bad)
                return ""

        sub_account_id = checked(values.opaque_id, "sub_account_id", command.sub_account_id)
        user_id = checked(values.opaque_id, "user_id", command.user_id)
        name = checked(values.display_name, "display_name", command.display_name)
        request_id = checked(values.request_id, "request_id", command.request_id)
        from_icloud = bool(command.icloud_connection_id or command.icloud_calendar_id)
        if from_icloud and command.url:
            problems.append(InvalidValue("url", "give either url or icloud_connection_id and icloud_calendar_id, not both"))
        elif not from_icloud and not command.url.strip():
            problems.append(InvalidValue("url", "url is required (or icloud_connection_id and icloud_calendar_id)"))
        elif from_icloud:
            checked(values.uuid_id, "icloud_connection_id", command.icloud_connection_id)
            checked(values.uuid_id, "icloud_calendar_id", command.icloud_calendar_id)
        else:
            url = checked(self._feeds.normalise, "url", command.url)
        raise_all(problems)
        if from_icloud:
            url = self._icloud_source(sub_account_id, user_id, command.icloud_connection_id, command.icloud_calendar_id)
        field = "icloud_calendar_id" if from_icloud else "url"
        account_id = values.feed_account_id_for(url)
        link_id = AccountLink.create_id(sub_account_id, user_id, account_id)
        replay = self._existing_link_outcome(link_id, request_id)
        if replay is not None:
            return replay

        proved = self._feeds.prove(field, url)
        credential_ref = uuid.uuid4().hex
        self._vault.store(credential_ref, proved.url)
        try:
            owner = (sub_account_id, user_id)
            # the configuration's turn, and the schedule's (bookings for the user take turns with both)
            with self._app.serialised(CalendarConfiguration.create_id(*owner), UserSchedule.create_id(*owner)):
                outcome = self._retrying(
                    lambda: self._save_subscription(link_id, owner, account_id, proved, name, credential_ref, request_id)
                )
        except BaseException:
            self._vault.destroy(credential_ref)  # nothing refers to it
            raise
        happened(
            log, "subscription.added", connection_id=outcome.connection.id, sub_account_id=sub_account_id,
            account_id=account_id, host=proved.host, events=proved.events, from_icloud=from_icloud,
        )
        return outcome

    def _save_subscription(
        self,
        link_id: uuid.UUID,
        owner: tuple[str, str],
        account_id: uuid.UUID,
        proved: ProvedFeed,
        name: str,
        credential_ref: str,
        request_id: str,
    ) -> ConnectionOutcome:
        from calendar_domain.connection_service import ConnectionOutcome

        replay = self._existing_link_outcome(link_id, request_id)
        if replay is not None:
            if replay.connection.credential_ref != credential_ref:
                self._vault.destroy(credential_ref)  # a concurrent retry of the same request won
            return replay
        sub_account_id, user_id = owner
        connection = Connection(
            sub_account_id=sub_account_id, user_id=user_id, apple_id="", account_id=account_id,
            credential_ref=credential_ref, request_id=request_id, kind=ConnectionKind.FEED.value, source=proved.host,
        )
        href = FEED_HREF.format(account_id=account_id)
        calendar = ConnectedCalendar(
            calendar_id=str(values.calendar_id_for(account_id, href)), href=href,
            display_name=name or proved.name, color="", writable=False,
            kind=CalendarKind.FEED.value, source=proved.host,
        )
        connection.discover_calendars([calendar])
        link = self._link_for(link_id, owner, account_id, connection.id, request_id)
        configuration = configuration_of(self._app, sub_account_id, user_id) or CalendarConfiguration(*owner)
        configuration.add_conflict(CalendarRef(str(connection.id), calendar.calendar_id))
        return ConnectionOutcome(connection, self._app.record(connection, link, configuration))

    def _icloud_source(self, sub_account_id: str, user_id: str, connection_id: str, calendar_id: str) -> str:
        """The feed URL behind a subscribed calendar of one of the user's iCloud connections."""
        connection = self.get(sub_account_id, connection_id)
        calendar = connection.calendars.get(str(values.uuid_id("icloud_calendar_id", calendar_id)))
        if connection.user_id != user_id or connection.is_feed or calendar is None:
            raise InvalidValue(
                "icloud_calendar_id", "icloud_calendar_id must name a calendar of one of this user's iCloud connections"
            )
        if not calendar.is_subscription:
            raise InvalidValue(
                "icloud_calendar_id",
                f"calendar {calendar.display_name!r} is not a subscribed calendar: add it as a conflict calendar instead",
            )
        connection.ensure_not_disconnected()
        password = self._vault.fetch(connection.credential_ref)
        try:
            source = self._discovery.subscription_source(connection.apple_id, password, calendar.href)
        except InvalidCredentials as refused:
            self.require_reconnect(sub_account_id, connection_id, refused.message)
            raise ReconnectRequired(
                "iCloud no longer accepts this connection's app-specific password: reconnect with a new one",
                connection_id=connection_id,
            ) from None
        return self._feeds.normalise("icloud_calendar_id", source)
