"""CalDAV discovery against real servers: Radicale and Xandikos run as subprocesses.

Failure cases use real sockets too: a port nobody listens on, a plain HTTP server
answering 503, a listener that never answers, and a web server that is not CalDAV.
"""

from __future__ import annotations

import time
from urllib.parse import unquote

import pytest

from adapters.icloud.dav import INVALID_CREDENTIALS_MESSAGE
from adapters.icloud.discovery import CalDAVDiscovery
from calendar_domain.errors import InvalidCredentials, ProviderProtocolError, ProviderUnavailable
from calendar_domain.ports import DiscoveredCalendar
from tests.support.caldav_servers import CalDAVTestServer, RadicaleServer, free_port
from tests.support.fixtures import (  # noqa: F401  (fixtures are used by name)
    caldav_server,
    http_server_answering,
    new_account,
    radicale,
    tcp_listener_that_never_answers,
    xandikos,
)

pytestmark = pytest.mark.timeout(60)

APP_PASSWORD = "abcd-efgh-ijkl-mnop"


def discovery_for(server: CalDAVTestServer, timeout: float = 5.0) -> CalDAVDiscovery:
    return CalDAVDiscovery(server.base_url, timeout=timeout, verify_tls=server.verify_tls)


def test_event_calendars_are_listed_with_name_colour_and_writability(
    caldav_server: CalDAVTestServer,
) -> None:
    user, password = new_account(caldav_server)
    work = caldav_server.create_calendar(user, password, "work", "Work", color="#FF2968FF")
    family = caldav_server.create_calendar(user, password, "family", "Family", color="#1badf8")

    calendars = discovery_for(caldav_server).discover(user, password)

    assert calendars == [
        DiscoveredCalendar(unquote(family), "Family", color="#1BADF8", writable=True),
        DiscoveredCalendar(unquote(work), "Work", color="#FF2968", writable=True),
    ]


def test_an_account_without_calendars_has_none(caldav_server: CalDAVTestServer) -> None:
    user, password = new_account(caldav_server)

    assert discovery_for(caldav_server).discover(user, password) == []


def test_a_reminders_list_is_not_a_calendar(caldav_server: CalDAVTestServer) -> None:
    user, password = new_account(caldav_server)
    caldav_server.create_reminders_list(user, password, "reminders", "Reminders")
    caldav_server.create_calendar(user, password, "home", "Home")

    calendars = discovery_for(caldav_server).discover(user, password)

    assert [calendar.display_name for calendar in calendars] == ["Home"]


def test_a_collection_holding_events_and_todos_is_a_calendar(
    caldav_server: CalDAVTestServer,
) -> None:
    user, password = new_account(caldav_server)
    caldav_server.create_calendar(user, password, "mixed", "Mixed", components=("VTODO", "VEVENT"))

    calendars = discovery_for(caldav_server).discover(user, password)

    assert [calendar.display_name for calendar in calendars] == ["Mixed"]


def test_a_calendar_without_colour_has_an_empty_colour(caldav_server: CalDAVTestServer) -> None:
    user, password = new_account(caldav_server)
    caldav_server.create_calendar(user, password, "plain", "Plain")

    (calendar,) = discovery_for(caldav_server).discover(user, password)

    assert calendar.color == ""


def test_calendars_are_sorted_by_display_name_then_path(caldav_server: CalDAVTestServer) -> None:
    user, password = new_account(caldav_server)
    for slug, name in [("z-team", "team"), ("b-private", "Private"), ("a-team", "Team")]:
        caldav_server.create_calendar(user, password, slug, name)

    calendars = discovery_for(caldav_server).discover(user, password)

    assert [(c.display_name, c.href.rstrip("/").rsplit("/", 1)[-1]) for c in calendars] == [
        ("Private", "b-private"),
        ("Team", "a-team"),
        ("team", "z-team"),
    ]


def test_a_deleted_calendar_is_no_longer_discovered(caldav_server: CalDAVTestServer) -> None:
    user, password = new_account(caldav_server)
    old = caldav_server.create_calendar(user, password, "old", "Old")
    caldav_server.create_calendar(user, password, "new", "New")
    caldav_server.delete(user, password, old)

    calendars = discovery_for(caldav_server).discover(user, password)

    assert [calendar.display_name for calendar in calendars] == ["New"]


def test_a_calendar_the_user_may_only_read_is_not_writable(radicale: RadicaleServer) -> None:
    user, password = new_account(radicale)
    radicale.create_read_only_calendar(user, password, "holidays", "Holidays", color="#00AA00FF")

    (calendar,) = discovery_for(radicale).discover(user, password)

    assert (calendar.display_name, calendar.color, calendar.writable) == (
        "Holidays",
        "#00AA00",
        False,
    )


def test_a_wrong_password_is_refused_with_the_app_specific_password_advice(
    caldav_server: CalDAVTestServer,
) -> None:
    user, _ = new_account(caldav_server)

    with pytest.raises(InvalidCredentials) as raised:
        discovery_for(caldav_server).discover(user, APP_PASSWORD)

    assert raised.value.message == (
        "iCloud refused the credentials: use an app-specific password, not your Apple ID "
        "password; two-factor authentication must be on"
    )
    assert raised.value.message == INVALID_CREDENTIALS_MESSAGE
    assert APP_PASSWORD not in str(raised.value)


def test_an_unknown_apple_id_is_refused_like_a_wrong_password(radicale: RadicaleServer) -> None:
    with pytest.raises(InvalidCredentials):
        discovery_for(radicale).discover("nobody@example.test", APP_PASSWORD)


def test_nothing_listening_on_the_port_means_the_provider_is_unavailable() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/"

    with pytest.raises(ProviderUnavailable) as raised:
        CalDAVDiscovery(base_url, timeout=5).discover("someone@example.test", APP_PASSWORD)

    assert base_url in raised.value.message
    assert APP_PASSWORD not in raised.value.message


def test_a_server_answering_503_means_the_provider_is_unavailable() -> None:
    with http_server_answering(503, b"maintenance") as base_url:
        with pytest.raises(ProviderUnavailable) as raised:
            CalDAVDiscovery(base_url, timeout=5).discover("someone@example.test", APP_PASSWORD)

    assert base_url in raised.value.message
    assert "503" in raised.value.message
    assert APP_PASSWORD not in raised.value.message


def test_a_server_that_never_answers_is_unavailable_once_the_timeout_passes() -> None:
    with tcp_listener_that_never_answers() as base_url:
        started = time.monotonic()
        with pytest.raises(ProviderUnavailable):
            CalDAVDiscovery(base_url, timeout=0.5).discover("someone@example.test", APP_PASSWORD)

    assert time.monotonic() - started < 10


def test_a_web_server_that_does_not_speak_caldav_is_a_protocol_error() -> None:
    page = b"<html><body>Welcome</body></html>"
    with http_server_answering(200, page, "text/html") as base_url:
        with pytest.raises(ProviderProtocolError):
            CalDAVDiscovery(base_url, timeout=5).discover("someone@example.test", APP_PASSWORD)
