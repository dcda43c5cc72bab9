"""Connecting iCloud accounts through gRPC, with Radicale standing in for iCloud."""

from __future__ import annotations

import grpc
import pytest

from calendarintegration.v1 import connection_pb2 as pb
from tests.support.grpc_service import TENANT_TOKEN, Service, auth, failure

OTHER_PASSWORD = "zzzz-yyyy-xxxx-wwww"


def connect(service: Service, account: tuple[str, str], sub: str = "loc-1", user: str = "u1", **extra: str) -> pb.ConnectAccountResponse:
    apple_id, password = account
    return service.connections.ConnectAccount(
        pb.ConnectAccountRequest(sub_account_id=sub, user_id=user, apple_id=apple_id, app_password=password, **extra),
        metadata=auth(),
        timeout=30,
    )


def test_connecting_lists_the_event_calendars_and_not_the_reminders(service: Service, account) -> None:
    answer = connect(service, account)
    assert answer.connection.status == pb.CONNECTION_STATUS_ACTIVE
    assert answer.connection.calendar_count == 2
    assert [(c.display_name, c.color) for c in answer.calendars] == [("Home", "#FF2968"), ("Work", "#1BADF8")]
    listed = service.connections.ListCalendars(
        pb.ListCalendarsRequest(
            sub_account_id="loc-1", connection_id=answer.connection.connection_id, min_position=answer.position
        ),
        metadata=auth(),
    )
    assert list(listed.calendars) == list(answer.calendars)
    got = service.connections.GetConnection(
        pb.GetConnectionRequest(sub_account_id="loc-1", connection_id=answer.connection.connection_id, min_position=answer.position),
        metadata=auth(),
    )
    assert got.connection == answer.connection


def test_a_refused_password_names_the_app_specific_password_and_saves_nothing(service: Service, account) -> None:
    apple_id, _ = account
    error = failure(
        service.connections.ConnectAccount,
        pb.ConnectAccountRequest(sub_account_id="loc-1", user_id="u1", apple_id=apple_id, app_password=OTHER_PASSWORD),
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "INVALID_CREDENTIALS"
    assert "app-specific password" in error.message and "two-factor" in error.message
    assert "app_password" in error.violations
    assert service.container.app.head_position() == 0


def test_a_retried_connect_with_the_same_request_id_returns_the_same_connection(service: Service, account) -> None:
    first = connect(service, account, request_id="req-1")
    again = connect(service, account, request_id="req-1")
    assert again.connection.connection_id == first.connection.connection_id
    duplicate = failure(
        service.connections.ConnectAccount,
        pb.ConnectAccountRequest(
            sub_account_id="loc-1", user_id="u1", apple_id=account[0], app_password=account[1], request_id="req-2"
        ),
    )
    assert duplicate.code == grpc.StatusCode.ALREADY_EXISTS
    assert duplicate.metadata["connection_id"] == first.connection.connection_id


def test_the_same_apple_id_in_two_sub_accounts_is_one_account_underneath(service: Service, account) -> None:
    one = connect(service, account, sub="loc-1")
    two = connect(service, account, sub="loc-2")
    assert one.connection.connection_id != two.connection.connection_id
    assert one.connection.account_id == two.connection.account_id
    assert [c.calendar_id for c in one.calendars] == [c.calendar_id for c in two.calendars]


def test_connections_are_listed_per_user_and_per_sub_account_page_by_page(service: Service, radicale) -> None:
    from tests.support.fixtures import new_account

    made = []
    for user in ("u1", "u2", "u1"):
        account = new_account(radicale)
        radicale.create_calendar(*account, "home", "Home")
        made.append((user, connect(service, account, user=user)))
    position = made[-1][1].position
    pages, token = [], ""
    while True:
        page = service.connections.ListConnections(
            pb.ListConnectionsRequest(sub_account_id="loc-1", page_size=2, page_token=token, min_position=position),
            metadata=auth(),
        )
        pages.append([c.connection_id for c in page.connections])
        token = page.next_page_token
        if not token:
            break
    assert pages == [[made[0][1].connection.connection_id, made[1][1].connection.connection_id], [made[2][1].connection.connection_id]]
    mine = service.connections.ListConnections(
        pb.ListConnectionsRequest(sub_account_id="loc-1", user_id="u1", min_position=position), metadata=auth()
    )
    assert [c.connection_id for c in mine.connections] == [made[0][1].connection.connection_id, made[2][1].connection.connection_id]


def test_refreshing_notices_a_new_calendar(service: Service, account, radicale) -> None:
    answer = connect(service, account)
    radicale.create_calendar(*account, "family", "Family")
    refreshed = service.connections.RefreshCalendars(
        pb.RefreshCalendarsRequest(sub_account_id="loc-1", connection_id=answer.connection.connection_id),
        metadata=auth(),
    )
    assert [c.display_name for c in refreshed.calendars] == ["Family", "Home", "Work"]
    assert refreshed.position > answer.position


def test_replacing_credentials_accepts_only_a_working_password(service: Service, account, radicale) -> None:
    answer = connect(service, account)
    error = failure(
        service.connections.ReplaceCredentials,
        pb.ReplaceCredentialsRequest(
            sub_account_id="loc-1", connection_id=answer.connection.connection_id, app_password=OTHER_PASSWORD
        ),
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and "app_password" in error.violations
    replaced = service.connections.ReplaceCredentials(
        pb.ReplaceCredentialsRequest(
            sub_account_id="loc-1", connection_id=answer.connection.connection_id, app_password=account[1]
        ),
        metadata=auth(),
    )
    assert replaced.connection.status == pb.CONNECTION_STATUS_ACTIVE
    assert replaced.connection.version > answer.connection.version


def test_disconnecting_is_recorded_and_idempotent(service: Service, account) -> None:
    answer = connect(service, account)
    get = pb.GetConnectionRequest(
        sub_account_id="loc-1", connection_id=answer.connection.connection_id, min_position=answer.position
    )
    assert service.connections.GetConnection(get, metadata=auth()).connection.status == pb.CONNECTION_STATUS_ACTIVE
    request = pb.DisconnectRequest(sub_account_id="loc-1", connection_id=answer.connection.connection_id)
    first = service.connections.Disconnect(request, metadata=auth())
    get.min_position = first.position
    got = service.connections.GetConnection(get, metadata=auth()).connection
    assert got.status == pb.CONNECTION_STATUS_DISCONNECTED, "a cached read never outlives the change"
    second = service.connections.Disconnect(request, metadata=auth())
    assert first.connection.status == second.connection.status == pb.CONNECTION_STATUS_DISCONNECTED
    assert second.connection.version == first.connection.version
    listed = service.connections.ListConnections(
        pb.ListConnectionsRequest(sub_account_id="loc-1", min_position=first.position), metadata=auth()
    )
    assert list(listed.connections) == []
    again = connect(service, account)
    assert again.connection.connection_id != answer.connection.connection_id


def test_a_connection_of_another_sub_account_is_not_found(service: Service, account) -> None:
    answer = connect(service, account, sub="loc-1")
    error = failure(
        service.connections.GetConnection,
        pb.GetConnectionRequest(
            sub_account_id="loc-2", connection_id=answer.connection.connection_id, min_position=answer.position
        ),
    )
    assert error.code == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_callers_without_a_valid_bearer_token_are_unauthenticated(service: Service, token: str | None) -> None:
    error = failure(
        service.connections.ListConnections, pb.ListConnectionsRequest(sub_account_id="loc-1"), token=token
    )
    assert error.code == grpc.StatusCode.UNAUTHENTICATED


def test_a_token_reaches_only_its_own_sub_accounts(service: Service, account) -> None:
    allowed = service.connections.ListConnections(
        pb.ListConnectionsRequest(sub_account_id="loc-2"), metadata=auth(TENANT_TOKEN)
    )
    assert list(allowed.connections) == []
    error = failure(
        service.connections.ConnectAccount,
        pb.ConnectAccountRequest(sub_account_id="loc-9", user_id="u1", apple_id=account[0], app_password=account[1]),
        token=TENANT_TOKEN,
    )
    assert error.code == grpc.StatusCode.PERMISSION_DENIED
    assert service.container.app.head_position() == 0
