"""The Connection aggregate: an iCloud account linked by one user in one sub-account.

And ``AccountLink``, the index that makes "one Apple ID per user per sub-account"
an invariant under optimistic concurrency rather than a read-model check.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from eventsourcing.domain import Aggregate, event

from calendar_domain.errors import ConnectionClosed
from calendar_domain.idempotency import RemembersRequests
from calendar_domain.values import ACCOUNT_LINK_NAMESPACE

class ConnectionKind(str, Enum):
    ICLOUD = "icloud"  # an Apple ID and an app-specific password, over CalDAV
    FEED = "feed"  # a subscribed iCalendar feed (an https/webcal URL), read only


class CalendarKind(str, Enum):
    EVENTS = "calendar"  # a CalDAV calendar of events
    SUBSCRIPTION = "subscription"  # an iCloud account's subscribed calendar: a feed it points to
    FEED = "feed"  # the one calendar of a feed connection


class ConnectionStatus(str, Enum):
    ACTIVE = "active"
    RECONNECT_REQUIRED = "reconnect_required"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class ConnectedCalendar:
    """An event calendar of the account, as last discovered."""

    calendar_id: str
    href: str
    display_name: str
    color: str
    writable: bool
    # Absent from calendars recorded before subscriptions: a CalDAV calendar.
    kind: str = CalendarKind.EVENTS.value
    source: str = ""  # a feed's host (the URL itself may hold a secret token: kept in the vault)

    @property
    def is_subscription(self) -> bool:
        return self.kind == CalendarKind.SUBSCRIPTION.value

    def as_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ConnectedCalendar:
        return cls(**payload)


class Connection(RemembersRequests, Aggregate):
    """Events carry only a reference to the password (``credential_ref``); the
    password itself lives in the credential vault, never in the log.

    A connection of kind ``feed`` is a subscribed iCalendar feed: no Apple ID, its
    URL in the vault in the password's place (a feed URL often holds a secret
    token), ``account_id`` the feed's (every subscriber of one URL shares it, so it
    is fetched once), and one read-only calendar."""

    class Connected(Aggregate.Created):
        class_version = 2
        sub_account_id: str
        user_id: str
        apple_id: str
        account_id: uuid.UUID
        credential_ref: str
        request_id: str
        kind: str = ConnectionKind.ICLOUD.value
        source: str = ""  # a feed's host

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 knew only iCloud accounts."""
            state["kind"] = ConnectionKind.ICLOUD.value
            state["source"] = ""

    class CalendarsDiscovered(Aggregate.Event):
        calendars: list[dict[str, Any]]
        removed_calendar_ids: list[str]
        request_id: str

    class CredentialsReplaced(Aggregate.Event):
        credential_ref: str
        replaced_credential_ref: str
        request_id: str

    class ReconnectRequired(Aggregate.Event):
        reason: str

    class Disconnected(Aggregate.Event):
        destroyed_credential_ref: str
        removed_calendar_ids: list[str]
        request_id: str

    @event(Connected)
    def __init__(  # not keyword-only: the library then fills the event's defaults
        self,
        sub_account_id: str,
        user_id: str,
        apple_id: str,
        account_id: uuid.UUID,
        credential_ref: str,
        request_id: str,
        kind: str = ConnectionKind.ICLOUD.value,
        source: str = "",
    ) -> None:
        self.kind = ConnectionKind(kind)
        self.source = source
        self.sub_account_id = sub_account_id
        self.user_id = user_id
        self.apple_id = apple_id
        self.account_id = account_id
        self.credential_ref = credential_ref
        self.status = ConnectionStatus.ACTIVE
        self.calendars: dict[str, ConnectedCalendar] = {}
        self.last_error = ""
        self.request_ids: list[str] = []
        self._remember(request_id)

    # -- queries -------------------------------------------------------------------

    @property
    def is_feed(self) -> bool:
        return self.kind is ConnectionKind.FEED

    @property
    def is_disconnected(self) -> bool:
        return self.status is ConnectionStatus.DISCONNECTED

    def calendar_list(self) -> list[ConnectedCalendar]:
        return sorted(self.calendars.values(), key=lambda c: (c.display_name.lower(), c.href))

    # -- commands ------------------------------------------------------------------

    def discover_calendars(self, calendars: list[ConnectedCalendar], request_id: str = "") -> bool:
        """Records a new calendar list; returns False (and records nothing) when
        the list is unchanged."""
        self.ensure_not_disconnected()
        current = {c.calendar_id: c for c in calendars}
        if current == self.calendars:
            return False
        removed = sorted(set(self.calendars) - set(current))
        self._calendars_discovered(
            calendars=[c.as_payload() for c in calendars],
            removed_calendar_ids=removed,
            request_id=request_id,
        )
        return True

    @event(CalendarsDiscovered)
    def _calendars_discovered(
        self, calendars: list[dict[str, Any]], removed_calendar_ids: list[str], request_id: str
    ) -> None:
        self.calendars = {
            c["calendar_id"]: ConnectedCalendar.from_payload(c) for c in calendars
        }
        self._remember(request_id)

    def replace_credentials(self, credential_ref: str, request_id: str = "") -> None:
        self.ensure_not_disconnected()
        self._credentials_replaced(
            credential_ref=credential_ref,
            replaced_credential_ref=self.credential_ref,
            request_id=request_id,
        )

    @event(CredentialsReplaced)
    def _credentials_replaced(
        self, credential_ref: str, replaced_credential_ref: str, request_id: str
    ) -> None:
        self.credential_ref = credential_ref
        self.status = ConnectionStatus.ACTIVE
        self.last_error = ""
        self._remember(request_id)

    def require_reconnect(self, reason: str) -> bool:
        """The provider started refusing credentials that used to work."""
        if self.status is not ConnectionStatus.ACTIVE:
            return False
        self._reconnect_required(reason=reason)
        return True

    @event(ReconnectRequired)
    def _reconnect_required(self, reason: str) -> None:
        self.status = ConnectionStatus.RECONNECT_REQUIRED
        self.last_error = reason

    def disconnect(self, request_id: str = "") -> bool:
        """Returns False when already disconnected (disconnecting is idempotent)."""
        if self.is_disconnected:
            return False
        self._disconnected(
            destroyed_credential_ref=self.credential_ref,
            removed_calendar_ids=sorted(self.calendars),
            request_id=request_id,
        )
        return True

    @event(Disconnected)
    def _disconnected(
        self, destroyed_credential_ref: str, removed_calendar_ids: list[str], request_id: str
    ) -> None:
        self.status = ConnectionStatus.DISCONNECTED
        self.credential_ref = ""
        self._remember(request_id)

    # -- helpers -------------------------------------------------------------------

    def ensure_not_disconnected(self) -> None:
        if self.is_disconnected:
            raise ConnectionClosed(
                "the connection is disconnected; connect the account again",
                connection_id=str(self.id),
            )


class AccountLink(Aggregate):
    """Which connection currently links one Apple ID for one user in one sub-account.

    Its id is derived from that triple, so two concurrent connects of the same
    account race on this aggregate's version and exactly one wins.
    """

    @staticmethod
    def create_id(sub_account_id: str, user_id: str, account_id: uuid.UUID) -> uuid.UUID:
        return uuid.uuid5(ACCOUNT_LINK_NAMESPACE, f"{sub_account_id}\x1f{user_id}\x1f{account_id}")

    @event("Linked")
    def __init__(
        self,
        sub_account_id: str,
        user_id: str,
        account_id: uuid.UUID,
        connection_id: uuid.UUID,
        request_id: str,
    ) -> None:
        self.connection_id: uuid.UUID | None = connection_id
        self.request_id = request_id

    @event("Relinked")
    def relink(self, connection_id: uuid.UUID, request_id: str) -> None:
        self.connection_id = connection_id
        self.request_id = request_id

    @event("Unlinked")
    def unlink(self, connection_id: uuid.UUID) -> None:
        self.connection_id = None
        self.request_id = ""
