"""The connection service, narrated against an in-memory event store."""

from __future__ import annotations

import pytest

from calendar_domain.application import CalendarIntegration
from calendar_domain.connection import ConnectionStatus
from calendar_domain.connection_service import ConnectAccount, ConnectionService
from calendar_domain.errors import (
    AlreadyExists,
    ConnectionClosed,
    InvalidCredentials,
    InvalidValue,
    NotFound,
    ProviderUnavailable,
    ReconnectRequired,
)
from tests.unit.fakes import FakeDiscovery, FakeVault

PASSWORD = "abcd-efgh-ijkl-mnop"
NEW_PASSWORD = "qrst-uvwx-yzab-cdef"


@pytest.fixture
def world() -> tuple[CalendarIntegration, FakeDiscovery, FakeVault, ConnectionService]:
    app = CalendarIntegration()
    discovery, vault = FakeDiscovery(), FakeVault()
    discovery.add("ann@example.com", PASSWORD, "/ann/home/", "/ann/work/")
    return app, discovery, vault, ConnectionService(app, discovery, vault)


def connect(service: ConnectionService, sub: str = "loc-1", user: str = "u1", request_id: str = "") -> object:
    return service.connect(ConnectAccount(sub, user, "ann@example.com", PASSWORD, request_id))


def test_connecting_records_the_connection_and_its_calendars_and_vaults_the_password(world) -> None:
    app, _, vault, service = world
    outcome = connect(service)
    connection = outcome.connection
    assert [c.href for c in connection.calendar_list()] == ["/ann/home/", "/ann/work/"]
    assert vault.secrets == {connection.credential_ref: PASSWORD}
    assert outcome.position == app.head_position()
    names = [n.topic.rsplit(".", 1)[-1] for n in app.recorder.select_notifications(start=1, limit=10)]
    assert names == ["Connected", "CalendarsDiscovered", "Linked"]


def test_refused_credentials_save_nothing_and_name_the_password_field(world) -> None:
    app, discovery, vault, service = world
    with pytest.raises(InvalidCredentials) as caught:
        service.connect(ConnectAccount("loc-1", "u1", "ann@example.com", NEW_PASSWORD))
    assert caught.value.metadata["field"] == "app_password"
    assert app.head_position() == 0 and vault.secrets == {}


def test_an_unreachable_provider_saves_nothing(world) -> None:
    app, discovery, vault, service = world
    discovery.down = True
    with pytest.raises(ProviderUnavailable):
        connect(service)
    assert app.head_position() == 0 and vault.secrets == {}


def test_a_malformed_password_is_refused_before_any_network_call(world) -> None:
    _, discovery, _, service = world
    with pytest.raises(InvalidValue):
        service.connect(ConnectAccount("loc-1", "u1", "ann@example.com", "my-apple-password"))
    assert discovery.calls == 0


def test_a_retried_connect_with_the_same_request_id_returns_the_first_result(world) -> None:
    app, discovery, vault, service = world
    first = connect(service, request_id="r-1")
    head = app.head_position()
    again = connect(service, request_id="r-1")
    assert again.connection.id == first.connection.id
    assert app.head_position() == head and len(vault.secrets) == 1
    assert discovery.calls == 1


def test_connecting_the_same_apple_id_twice_for_one_user_is_already_exists(world) -> None:
    _, _, vault, service = world
    first = connect(service, request_id="r-1")
    with pytest.raises(AlreadyExists) as caught:
        connect(service, request_id="r-2")
    assert caught.value.metadata["connection_id"] == str(first.connection.id)
    assert len(vault.secrets) == 1


def test_the_same_apple_id_in_two_sub_accounts_is_two_connections_over_one_account(world) -> None:
    _, _, _, service = world
    one = connect(service, sub="loc-1").connection
    two = connect(service, sub="loc-2").connection
    assert one.id != two.id
    assert one.account_id == two.account_id
    assert one.calendar_list()[0].calendar_id == two.calendar_list()[0].calendar_id


def test_disconnecting_shreds_the_password_and_allows_connecting_again(world) -> None:
    _, _, vault, service = world
    first = connect(service).connection
    outcome = service.disconnect("loc-1", str(first.id), "d-1")
    assert outcome.connection.status is ConnectionStatus.DISCONNECTED
    assert vault.secrets == {}
    assert service.disconnect("loc-1", str(first.id)).connection.version == outcome.connection.version
    second = connect(service).connection
    assert second.id != first.id and len(vault.secrets) == 1


def test_a_connection_of_another_sub_account_is_not_found(world) -> None:
    _, _, _, service = world
    connection = connect(service).connection
    with pytest.raises(NotFound):
        service.get("loc-2", str(connection.id))
    with pytest.raises(NotFound):
        service.disconnect("loc-2", str(connection.id))


def test_replacing_credentials_proves_the_new_password_and_shreds_the_old(world) -> None:
    _, discovery, vault, service = world
    connection = connect(service).connection
    old_ref = connection.credential_ref
    discovery.add("ann@example.com", NEW_PASSWORD, "/ann/home/")
    outcome = service.replace_credentials("loc-1", str(connection.id), NEW_PASSWORD, "x-1")
    assert old_ref not in vault.secrets
    assert vault.secrets == {outcome.connection.credential_ref: NEW_PASSWORD}
    assert [c.href for c in outcome.connection.calendar_list()] == ["/ann/home/"]


def test_a_password_revoked_after_working_moves_the_connection_to_reconnect_required(world) -> None:
    app, discovery, vault, service = world
    connection = connect(service).connection
    discovery.add("ann@example.com", NEW_PASSWORD, "/ann/home/")  # the old one is revoked
    with pytest.raises(ReconnectRequired):
        service.refresh_calendars("loc-1", str(connection.id))
    reloaded = service.get("loc-1", str(connection.id))
    assert reloaded.status is ConnectionStatus.RECONNECT_REQUIRED
    assert len(reloaded.calendars) == 2  # nothing known is dropped
    service.replace_credentials("loc-1", str(connection.id), NEW_PASSWORD)
    assert service.get("loc-1", str(connection.id)).status is ConnectionStatus.ACTIVE


def test_a_disconnected_connection_cannot_be_refreshed(world) -> None:
    _, discovery, _, service = world
    connection = connect(service).connection
    service.disconnect("loc-1", str(connection.id))
    calls = discovery.calls
    with pytest.raises(ConnectionClosed):
        service.refresh_calendars("loc-1", str(connection.id))
    assert discovery.calls == calls
