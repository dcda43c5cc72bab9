"""Every RPC with missing and malformed fields: a clear INVALID_ARGUMENT naming each
bad field (or NOT_FOUND for well-formed unknown ids), and the server keeps serving."""

from __future__ import annotations

import uuid

import grpc
import pytest

from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import history_pb2 as hi
from tests.support.grpc_service import Service, auth, failure

UNKNOWN = str(uuid.uuid4())
BAD_ID = "not a valid id!"
LONG = "x" * 200

INVALID = [
    ("ConnectAccount", pb.ConnectAccountRequest(), {"sub_account_id", "user_id", "apple_id", "app_password"}),
    (
        "ConnectAccount",
        pb.ConnectAccountRequest(
            sub_account_id=BAD_ID, user_id=LONG, apple_id="not-an-email", app_password="hunter2", request_id=LONG
        ),
        {"sub_account_id", "user_id", "apple_id", "app_password", "request_id"},
    ),
    (
        "ConnectAccount",
        pb.ConnectAccountRequest(
            sub_account_id="loc-1", user_id="u1", apple_id="ann@example.com", app_password="ABCD-EFGH-IJKL-MNOP"
        ),
        {"app_password"},
    ),
    ("GetConnection", pb.GetConnectionRequest(), {"sub_account_id", "connection_id"}),
    (
        "GetConnection",
        pb.GetConnectionRequest(sub_account_id="loc-1", connection_id="123", min_position=-1),
        {"connection_id", "min_position"},
    ),
    ("ListConnections", pb.ListConnectionsRequest(), {"sub_account_id"}),
    (
        "ListConnections",
        pb.ListConnectionsRequest(sub_account_id="loc-1", user_id=BAD_ID, page_size=-1, page_token="garbage"),
        {"user_id", "page_size", "page_token"},
    ),
    ("ListConnections", pb.ListConnectionsRequest(sub_account_id="loc-1", page_size=501), {"page_size"}),
    ("ListCalendars", pb.ListCalendarsRequest(), {"sub_account_id", "connection_id"}),
    (
        "ListCalendars",
        pb.ListCalendarsRequest(sub_account_id="loc-1", connection_id=UNKNOWN, page_token="Y29ubmVjdGlvbnM6Mw=="),
        {"page_token"},  # a ListConnections token is not a ListCalendars token
    ),
    ("RefreshCalendars", pb.RefreshCalendarsRequest(), {"sub_account_id", "connection_id"}),
    ("RefreshCalendars", pb.RefreshCalendarsRequest(sub_account_id="loc-1", connection_id=UNKNOWN, request_id=LONG), {"request_id"}),
    ("ReplaceCredentials", pb.ReplaceCredentialsRequest(), {"sub_account_id", "connection_id", "app_password"}),
    ("Disconnect", pb.DisconnectRequest(), {"sub_account_id", "connection_id"}),
    ("Disconnect", pb.DisconnectRequest(sub_account_id="loc-1", connection_id="{oops}"), {"connection_id"}),
]

CONFIGURATION_INVALID = [
    ("GetCalendarConfiguration", cfg.GetCalendarConfigurationRequest(), {"sub_account_id", "user_id"}),
    (
        "SetPrimaryCalendar",
        cfg.SetPrimaryCalendarRequest(sub_account_id="loc-1", user_id="u1"),
        {"calendar.connection_id", "calendar.calendar_id"},
    ),
    ("ClearPrimaryCalendar", cfg.ClearPrimaryCalendarRequest(user_id=BAD_ID), {"sub_account_id", "user_id"}),
    (
        "AddConflictCalendar",
        cfg.AddConflictCalendarRequest(
            sub_account_id="loc-1", user_id="u1", calendar=cfg.CalendarRef(connection_id="x", calendar_id=UNKNOWN)
        ),
        {"calendar.connection_id"},
    ),
    ("RemoveConflictCalendar", cfg.RemoveConflictCalendarRequest(), {"sub_account_id", "user_id", "calendar.connection_id", "calendar.calendar_id"}),
    ("UpdateReadingRules", cfg.UpdateReadingRulesRequest(sub_account_id="loc-1", user_id="u1", time_zone="Nowhere/City"), {"time_zone"}),
]

CONFIGURATION_UNKNOWN = [
    (
        "SetPrimaryCalendar",
        cfg.SetPrimaryCalendarRequest(
            sub_account_id="loc-1", user_id="u1", calendar=cfg.CalendarRef(connection_id=UNKNOWN, calendar_id=UNKNOWN)
        ),
    ),
    (
        "AddConflictCalendar",
        cfg.AddConflictCalendarRequest(
            sub_account_id="loc-1", user_id="u1", calendar=cfg.CalendarRef(connection_id=UNKNOWN, calendar_id=UNKNOWN)
        ),
    ),
]

HISTORY_INVALID = [
    (
        "ListEvents",
        hi.ListEventsRequest(after_position=-1, page_size=-1, sub_account_id=BAD_ID, aggregate_types=[0, 99]),
        {"after_position", "page_size", "sub_account_id", "aggregate_types[0]", "aggregate_types[1]"},
    ),
    ("ListEvents", hi.ListEventsRequest(page_token="garbage", page_size=501), {"page_token", "page_size"}),
    ("ListEvents", hi.ListEventsRequest(page_token="dmVyc2lvbnM6Mw=="), {"page_token"}),  # another list's token
    ("ListAggregateEvents", hi.ListAggregateEventsRequest(), {"sub_account_id", "aggregate_id"}),
    (
        "ListAggregateEvents",
        hi.ListAggregateEventsRequest(sub_account_id="loc-1", aggregate_id="123", page_token="zz", aggregate_type=7),
        {"aggregate_id", "page_token", "aggregate_type"},
    ),
    (
        "ListAggregateEvents",
        hi.ListAggregateEventsRequest(sub_account_id="loc-1", user_id="u1", aggregate_type=hi.AGGREGATE_TYPE_CONNECTION),
        {"aggregate_type"},  # a connection is not found by user
    ),
    (
        "ListAggregateEvents",
        hi.ListAggregateEventsRequest(sub_account_id="loc-1", user_id="u1", aggregate_id=UNKNOWN),
        {"aggregate_id"},
    ),
    (
        "GetAggregateState",
        hi.GetAggregateStateRequest(sub_account_id="loc-1", aggregate_id=UNKNOWN, version=-1),
        {"version"},
    ),
    (
        "GetAggregateState",
        hi.GetAggregateStateRequest(sub_account_id="loc-1", user_id=BAD_ID, aggregate_type=hi.AGGREGATE_TYPE_ACCOUNT_LINK),
        {"user_id", "aggregate_type"},
    ),
]

HISTORY_UNKNOWN = [
    ("ListAggregateEvents", hi.ListAggregateEventsRequest(sub_account_id="loc-1", aggregate_id=UNKNOWN)),
    (
        "GetAggregateState",
        hi.GetAggregateStateRequest(sub_account_id="loc-1", user_id="u1", aggregate_type=hi.AGGREGATE_TYPE_USER_SCHEDULE),
    ),
]

UNKNOWN_IDS = [
    ("GetConnection", pb.GetConnectionRequest(sub_account_id="loc-1", connection_id=UNKNOWN)),
    ("ListCalendars", pb.ListCalendarsRequest(sub_account_id="loc-1", connection_id=UNKNOWN)),
    ("RefreshCalendars", pb.RefreshCalendarsRequest(sub_account_id="loc-1", connection_id=UNKNOWN)),
    (
        "ReplaceCredentials",
        pb.ReplaceCredentialsRequest(sub_account_id="loc-1", connection_id=UNKNOWN, app_password="abcd-efgh-ijkl-mnop"),
    ),
    ("Disconnect", pb.DisconnectRequest(sub_account_id="loc-1", connection_id=UNKNOWN)),
]


def test_every_bad_request_names_its_bad_fields_and_the_server_keeps_serving(embedded_service: Service) -> None:
    stub = embedded_service.connections
    for method, request, fields in INVALID:
        error = failure(getattr(stub, method), request)
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT, (method, error)
        assert set(error.violations) == fields, (method, error.violations)
        assert all(error.violations.values()), "each violation says what is wrong"
        assert "hunter2" not in error.message and "ABCD-EFGH" not in error.message
    for method, request in UNKNOWN_IDS:
        error = failure(getattr(stub, method), request)
        assert error.code == grpc.StatusCode.NOT_FOUND, (method, error)
        assert error.reason == "NOT_FOUND"
    for method, request, fields in CONFIGURATION_INVALID:
        error = failure(getattr(embedded_service.configurations, method), request)
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT, (method, error)
        assert set(error.violations) == fields, (method, error.violations)
    for method, request in CONFIGURATION_UNKNOWN:
        error = failure(getattr(embedded_service.configurations, method), request)
        assert error.code == grpc.StatusCode.NOT_FOUND, (method, error)
    for method, request, fields in HISTORY_INVALID:
        error = failure(getattr(embedded_service.history, method), request)
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT, (method, error)
        assert set(error.violations) == fields, (method, error.violations)
    for method, request in HISTORY_UNKNOWN:
        error = failure(getattr(embedded_service.history, method), request)
        assert error.code == grpc.StatusCode.NOT_FOUND, (method, error)
    stream_error = failure(
        lambda request, **kw: next(embedded_service.history.StreamEvents(request, **kw)),
        hi.StreamEventsRequest(after_position=-5, aggregate_types=[42]),
    )
    assert stream_error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(stream_error.violations) == {"after_position", "aggregate_types[0]"}
    assert embedded_service.serving()
    listed = stub.ListConnections(pb.ListConnectionsRequest(sub_account_id="loc-1"), metadata=auth())
    assert list(listed.connections) == []
    assert embedded_service.container.app.head_position() == 0


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "bearer  "])
def test_a_malformed_authorization_header_is_unauthenticated(embedded_service: Service, header: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        embedded_service.connections.ListConnections(
            pb.ListConnectionsRequest(sub_account_id="loc-1"), metadata=[("authorization", header)]
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
