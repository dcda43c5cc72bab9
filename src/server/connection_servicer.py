"""ConnectionService over gRPC: parse and validate, call the domain, convert."""

from __future__ import annotations

from typing import Any

import grpc

from adapters.persistence.connection_cache import ConnectionCache
from calendar_domain import values
from calendar_domain.connection_projection import ConnectionReadModel
from calendar_domain.connection_service import ConnectAccount, ConnectionService
from calendar_domain.subscriptions import SubscribeCalendar
from calendar_domain.errors import NotFound
from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import connection_pb2_grpc
from server import convert
from server.auth import Authenticator, Caller
from server.handlers import ReadGate, ServicerBase, rpc
from server.validation import Violations, page_token

DEFAULT_CONNECTIONS_PAGE = 50
DEFAULT_CALENDARS_PAGE = 100


class ConnectionServicer(ServicerBase, connection_pb2_grpc.ConnectionServiceServicer):
    def __init__(
        self,
        authenticator: Authenticator,
        connections: ConnectionService,
        view: ConnectionReadModel,
        cache: ConnectionCache,
        gate: ReadGate,
    ) -> None:
        super().__init__(authenticator)
        self._connections = connections
        self._view = view
        self._cache = cache
        self._gate = gate

    # -- commands ------------------------------------------------------------------

    @rpc
    def ConnectAccount(self, request: pb.ConnectAccountRequest, context: Any, caller: Caller) -> pb.ConnectAccountResponse:
        v = Violations.of(request)
        sub_account_id = _sub_account(v, request.sub_account_id)
        v.check(lambda: values.opaque_id("user_id", request.user_id), "")
        v.check(lambda: values.apple_id("apple_id", request.apple_id), "")
        v.check(lambda: values.app_password("app_password", request.app_password), "")
        v.check(lambda: values.request_id("request_id", request.request_id), "")
        v.raise_if_any()
        caller.require(sub_account_id)
        outcome = self._connections.connect(
            ConnectAccount(
                sub_account_id=request.sub_account_id,
                user_id=request.user_id,
                apple_id=request.apple_id,
                app_password=request.app_password,
                request_id=request.request_id,
            )
        )
        connection = outcome.connection
        return pb.ConnectAccountResponse(
            connection=convert.connection_from_aggregate(connection),
            calendars=[convert.calendar(str(connection.id), c) for c in connection.calendar_list()],
            position=outcome.position,
        )

    @rpc
    def SubscribeCalendar(
        self, request: pb.SubscribeCalendarRequest, context: Any, caller: Caller
    ) -> pb.SubscribeCalendarResponse:
        v = Violations.of(request)
        sub_account_id = _sub_account(v, request.sub_account_id)
        v.check(lambda: values.opaque_id("user_id", request.user_id), "")
        v.check(lambda: values.display_name("display_name", request.display_name), "")
        v.check(lambda: values.request_id("request_id", request.request_id), "")
        if len(request.url) > 2048:
            v.add("url", "url must be at most 2048 characters")
        v.raise_if_any()
        caller.require(sub_account_id)  # the URL and the iCloud calendar are looked at after this
        outcome = self._connections.subscribe(
            SubscribeCalendar(
                sub_account_id=request.sub_account_id,
                user_id=request.user_id,
                url=request.url,
                icloud_connection_id=request.icloud_connection_id,
                icloud_calendar_id=request.icloud_calendar_id,
                display_name=request.display_name,
                request_id=request.request_id,
            )
        )
        connection = outcome.connection
        calendar = connection.calendar_list()[0]
        return pb.SubscribeCalendarResponse(
            connection=convert.connection_from_aggregate(connection),
            calendar=convert.calendar(str(connection.id), calendar),
            position=outcome.position,
        )

    @rpc
    def RefreshCalendars(self, request: pb.RefreshCalendarsRequest, context: Any, caller: Caller) -> pb.RefreshCalendarsResponse:
        self._target(request, caller)
        outcome = self._connections.refresh_calendars(
            request.sub_account_id, request.connection_id, request.request_id
        )
        connection = outcome.connection
        return pb.RefreshCalendarsResponse(
            connection=convert.connection_from_aggregate(connection),
            calendars=[convert.calendar(str(connection.id), c) for c in connection.calendar_list()],
            position=outcome.position,
        )

    @rpc
    def ReplaceCredentials(self, request: pb.ReplaceCredentialsRequest, context: Any, caller: Caller) -> pb.ReplaceCredentialsResponse:
        self._target(request, caller, lambda v: v.check(
            lambda: values.app_password("app_password", request.app_password), ""
        ))
        outcome = self._connections.replace_credentials(
            request.sub_account_id, request.connection_id, request.app_password, request.request_id
        )
        return pb.ReplaceCredentialsResponse(
            connection=convert.connection_from_aggregate(outcome.connection), position=outcome.position
        )

    @rpc
    def Disconnect(self, request: pb.DisconnectRequest, context: Any, caller: Caller) -> pb.DisconnectResponse:
        self._target(request, caller)
        outcome = self._connections.disconnect(request.sub_account_id, request.connection_id, request.request_id)
        return pb.DisconnectResponse(
            connection=convert.connection_from_aggregate(outcome.connection), position=outcome.position
        )

    # -- queries -------------------------------------------------------------------

    @rpc
    def GetConnection(self, request: pb.GetConnectionRequest, context: Any, caller: Caller) -> pb.GetConnectionResponse:
        v = Violations.of(request)
        sub_account_id = _sub_account(v, request.sub_account_id)
        v.check(lambda: values.uuid_id("connection_id", request.connection_id), None)
        v.non_negative("min_position", request.min_position)
        v.raise_if_any()
        caller.require(sub_account_id)
        self._gate.wait(request.min_position)
        return pb.GetConnectionResponse(connection=convert.connection_from_record(self._record(request)))

    @rpc
    def ListConnections(self, request: pb.ListConnectionsRequest, context: Any, caller: Caller) -> pb.ListConnectionsResponse:
        v = Violations.of(request)
        sub_account_id = _sub_account(v, request.sub_account_id)
        if request.user_id:
            v.check(lambda: values.opaque_id("user_id", request.user_id), "")
        size = v.page_size("page_size", request.page_size, DEFAULT_CONNECTIONS_PAGE)
        after = v.page_token("page_token", request.page_token, "connections")
        v.non_negative("min_position", request.min_position)
        v.raise_if_any()
        caller.require(sub_account_id)
        self._gate.wait(request.min_position)
        records = self._view.list_connections(
            sub_account_id, request.user_id, request.include_disconnected, after, size + 1
        )
        page, more = records[:size], len(records) > size
        return pb.ListConnectionsResponse(
            connections=[convert.connection_from_record(r) for r in page],
            next_page_token=page_token("connections", page[-1].created_position) if more else "",
        )

    @rpc
    def ListCalendars(self, request: pb.ListCalendarsRequest, context: Any, caller: Caller) -> pb.ListCalendarsResponse:
        v = Violations.of(request)
        sub_account_id = _sub_account(v, request.sub_account_id)
        v.check(lambda: values.uuid_id("connection_id", request.connection_id), None)
        size = v.page_size("page_size", request.page_size, DEFAULT_CALENDARS_PAGE)
        after = v.page_token("page_token", request.page_token, "calendars")
        v.non_negative("min_position", request.min_position)
        v.raise_if_any()
        caller.require(sub_account_id)
        self._gate.wait(request.min_position)
        record = self._record(request)
        rows = self._view.list_calendars(record.connection_id, after, size + 1)
        page, more = rows[:size], len(rows) > size
        return pb.ListCalendarsResponse(
            calendars=[convert.calendar(record.connection_id, c) for _, c in page],
            next_page_token=page_token("calendars", page[-1][0]) if more else "",
        )

    # -- helpers -------------------------------------------------------------------

    def _target(self, request: Any, caller: Caller, *more: Any) -> None:
        """Validates the (sub_account_id, connection_id, request_id) every
        connection command names, plus any extra field checks."""
        v = Violations.of(request)
        sub_account_id = _sub_account(v, request.sub_account_id)
        v.check(lambda: values.uuid_id("connection_id", request.connection_id), None)
        v.check(lambda: values.request_id("request_id", request.request_id), "")
        for check in more:
            check(v)
        v.raise_if_any()
        caller.require(sub_account_id)

    def _record(self, request: Any) -> Any:
        connection_id = str(values.uuid_id("connection_id", request.connection_id))
        record = self._cache.get_connection(request.sub_account_id, connection_id)
        if record is None:
            raise NotFound(
                f"connection {request.connection_id} not found", connection_id=request.connection_id
            )
        return record


def _sub_account(v: Violations, value: str) -> str:
    return v.check(lambda: values.opaque_id("sub_account_id", value), "")


def register(server: grpc.Server, servicer: ConnectionServicer) -> None:
    connection_pb2_grpc.add_ConnectionServiceServicer_to_server(servicer, server)
