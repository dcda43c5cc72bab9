from __future__ import annotations

import uuid

import pytest

from calendar_domain.connection import AccountLink, ConnectedCalendar, Connection, ConnectionStatus
from calendar_domain.errors import ConnectionClosed


def new_connection() -> Connection:
    return Connection(
        sub_account_id="loc-1",
        user_id="user-1",
        apple_id="Ann@Example.com",
        account_id=uuid.uuid4(),
        credential_ref="ref-1",
        request_id="req-1",
    )


def calendar(href: str, name: str = "Home") -> ConnectedCalendar:
    return ConnectedCalendar(calendar_id=href, href=href, display_name=name, color="", writable=True)


def test_connecting_records_connected_with_a_reference_to_the_password_never_the_password() -> None:
    connection = new_connection()
    events = connection.collect_events()
    assert [type(e).__name__ for e in events] == ["Connected"]
    assert events[0].credential_ref == "ref-1"
    assert "password" not in " ".join(vars(events[0]))
    assert connection.status is ConnectionStatus.ACTIVE


def test_a_new_calendar_list_is_recorded_once_and_an_unchanged_one_not_at_all() -> None:
    connection = new_connection()
    assert connection.discover_calendars([calendar("/a/"), calendar("/b/")])
    assert not connection.discover_calendars([calendar("/b/"), calendar("/a/")])
    assert connection.discover_calendars([calendar("/a/")])
    events = connection.collect_events()
    assert [type(e).__name__ for e in events] == ["Connected", "CalendarsDiscovered", "CalendarsDiscovered"]
    assert events[-1].removed_calendar_ids == ["/b/"]


def test_disconnecting_twice_records_one_disconnected_and_forgets_the_reference() -> None:
    connection = new_connection()
    assert connection.disconnect("r2")
    assert not connection.disconnect("r3")
    events = connection.collect_events()
    assert [type(e).__name__ for e in events] == ["Connected", "Disconnected"]
    assert events[-1].destroyed_credential_ref == "ref-1"
    assert connection.credential_ref == ""


def test_a_disconnected_connection_refuses_new_calendars_and_credentials() -> None:
    connection = new_connection()
    connection.disconnect()
    with pytest.raises(ConnectionClosed):
        connection.discover_calendars([calendar("/a/")])
    with pytest.raises(ConnectionClosed):
        connection.replace_credentials("ref-2")


def test_reconnect_required_is_recorded_once_and_cleared_by_new_credentials() -> None:
    connection = new_connection()
    assert connection.require_reconnect("401 from server")
    assert not connection.require_reconnect("401 again")
    assert connection.status is ConnectionStatus.RECONNECT_REQUIRED
    connection.replace_credentials("ref-2", "r9")
    assert connection.status is ConnectionStatus.ACTIVE
    assert connection.has_seen("r9")
    names = [type(e).__name__ for e in connection.collect_events()]
    assert names == ["Connected", "ReconnectRequired", "CredentialsReplaced"]


def test_the_account_link_id_depends_on_sub_account_user_and_account_only() -> None:
    account = uuid.uuid4()
    first = AccountLink.create_id("loc-1", "user-1", account)
    assert first == AccountLink.create_id("loc-1", "user-1", account)
    assert first != AccountLink.create_id("loc-2", "user-1", account)
    assert first != AccountLink.create_id("loc-1", "user-2", account)
    link = AccountLink("loc-1", "user-1", account, uuid.uuid4(), "req")
    assert link.id == first
