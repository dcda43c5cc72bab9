"""The connections read model: what the connection queries read.

The projection turns Connection events into calls on a view; the view (SQLite
or PostgreSQL, in ``adapters.persistence``) writes its rows and its tracking
position in one transaction, so each event takes effect exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from calendar_domain.connection import ConnectedCalendar, Connection, ConnectionStatus


@dataclass(frozen=True)
class ConnectionRecord:
    connection_id: str
    sub_account_id: str
    user_id: str
    apple_id: str
    account_id: str
    status: ConnectionStatus
    calendar_count: int
    connect_time: datetime
    update_time: datetime
    version: int
    # Log position of the Connected event: a stable creation order for paging.
    created_position: int
    kind: str = "icloud"  # or "feed": a subscribed calendar
    source: str = ""  # a feed's host


class ConnectionReadModel(Protocol):
    """Written by the projection, read by the queries. Each write also records
    the tracking position, in the same transaction."""

    def insert_connection(self, record: ConnectionRecord, tracking: Tracking) -> None: ...

    def update_calendars(
        self,
        connection_id: str,
        calendars: list[ConnectedCalendar],
        update_time: datetime,
        version: int,
        tracking: Tracking,
    ) -> None: ...

    def update_status(
        self,
        connection_id: str,
        status: ConnectionStatus,
        update_time: datetime,
        version: int,
        tracking: Tracking,
    ) -> None: ...

    def insert_tracking(self, tracking: Tracking) -> None: ...

    def max_tracking_id(self, application_name: str) -> int | None: ...

    def get_connection(self, sub_account_id: str, connection_id: str) -> ConnectionRecord | None: ...

    def list_connections(
        self,
        sub_account_id: str,
        user_id: str,
        include_disconnected: bool,
        after_position: int,
        limit: int,
    ) -> list[ConnectionRecord]: ...

    def list_calendars(
        self, connection_id: str, after_ordinal: int, limit: int
    ) -> list[tuple[int, ConnectedCalendar]]: ...

    def connections_of_account(self, account_id: str) -> list[str]: ...

    def active_account_ids(self) -> list[str]: ...


class ConnectionsProjection(Projection[Any]):
    """Keeps the connections read model. The view is typed ``Any`` for the
    library's generic; it satisfies ``ConnectionReadModel`` and ``TrackingRecorder``."""

    name = "connections"
    topics = tuple(
        get_topic(kind)
        for kind in (
            Connection.Connected,
            Connection.CalendarsDiscovered,
            Connection.CredentialsReplaced,
            Connection.ReconnectRequired,
            Connection.Disconnected,
        )
    )

    def __init__(self, view: TrackingRecorder) -> None:
        super().__init__(view)
        self.read_model: ConnectionReadModel = view  # type: ignore[assignment]

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        # Events of other aggregates move the position on and change nothing.
        self.read_model.insert_tracking(tracking)

    @process_event.register
    def _(self, domain_event: Connection.Connected, tracking: Tracking) -> None:
        state = domain_event.__dict__
        self.read_model.insert_connection(
            ConnectionRecord(
                connection_id=str(domain_event.originator_id),
                sub_account_id=state["sub_account_id"],
                user_id=state["user_id"],
                apple_id=state["apple_id"],
                account_id=str(state["account_id"]),
                status=ConnectionStatus.ACTIVE,
                calendar_count=0,
                connect_time=domain_event.timestamp,
                update_time=domain_event.timestamp,
                version=domain_event.originator_version,
                created_position=tracking.notification_id,
                kind=state.get("kind", "icloud"),
                source=state.get("source", ""),
            ),
            tracking,
        )

    @process_event.register
    def _(self, domain_event: Connection.CalendarsDiscovered, tracking: Tracking) -> None:
        calendars = [ConnectedCalendar.from_payload(c) for c in domain_event.calendars]
        calendars.sort(key=lambda c: (c.display_name.lower(), c.href))
        self.read_model.update_calendars(
            str(domain_event.originator_id),
            calendars,
            domain_event.timestamp,
            domain_event.originator_version,
            tracking,
        )

    @process_event.register
    def _(self, domain_event: Connection.CredentialsReplaced, tracking: Tracking) -> None:
        self._status(domain_event, ConnectionStatus.ACTIVE, tracking)

    @process_event.register
    def _(self, domain_event: Connection.ReconnectRequired, tracking: Tracking) -> None:
        self._status(domain_event, ConnectionStatus.RECONNECT_REQUIRED, tracking)

    @process_event.register
    def _(self, domain_event: Connection.Disconnected, tracking: Tracking) -> None:
        self._status(domain_event, ConnectionStatus.DISCONNECTED, tracking)

    def _status(self, domain_event: Any, status: ConnectionStatus, tracking: Tracking) -> None:
        self.read_model.update_status(
            str(domain_event.originator_id),
            status,
            domain_event.timestamp,
            domain_event.originator_version,
            tracking,
        )
