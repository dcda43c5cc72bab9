"""What an operator reads: one line per thing that happened, tagged with the request
id and the ids of the sub-account and connection, in JSON or key=value, with no
Apple ID, password or event title at any level."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from calendar_domain.telemetry import cause, happened
from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import sync_pb2 as sy
from server.config import Settings
from server.logs import configure_logging, scrub_urls
from tests.e2e.test_appointments import at, ts
from tests.integration.test_sync import event
from tests.support.caldav_servers import RadicaleServer
from tests.support.grpc_service import ADMIN_TOKEN, auth
from tests.support.served import Served, served
from tests.support.stores import settings_for
from tests.support.waiting import wait_for

SUB = "crm-logs"
IMPORTED_TITLE = "Therapy with Dr Quimby"
BOOKED_TITLE = "Divorce consultation Zyx"


def called(request_id: str) -> list[tuple[str, str]]:
    return [*auth(), ("x-request-id", request_id)]


def scenario(service: Served, radicale: RadicaleServer, account: tuple[str, str]) -> str:
    """Connect (a wrong password, then the right one), block with Home, sync, book."""
    apple_id, password = account
    radicale.put_ics(apple_id, password, f"{radicale.home_path(apple_id)}home/a.ics", event("uid-a", summary=IMPORTED_TITLE))
    with pytest.raises(Exception):
        service.connections.ConnectAccount(
            pb.ConnectAccountRequest(sub_account_id=SUB, user_id="u1", apple_id=apple_id, app_password="abcd-efgh-ijkl-mnop"),
            metadata=called("req-wrong-password"),
        )
    answer = service.connections.ConnectAccount(
        pb.ConnectAccountRequest(sub_account_id=SUB, user_id="u1", apple_id=apple_id, app_password=password),
        metadata=called("req-connect"),
    )
    home = next(c for c in answer.calendars if c.display_name == "Home")
    ref = cfg.CalendarRef(connection_id=home.connection_id, calendar_id=home.calendar_id)
    service.configurations.SetPrimaryCalendar(
        cfg.SetPrimaryCalendarRequest(sub_account_id=SUB, user_id="u1", calendar=ref), metadata=auth()
    )
    service.sync.SyncNow(
        sy.SyncNowRequest(sub_account_id=SUB, connection_id=home.connection_id), metadata=called("req-sync")
    )
    service.appointments.BookAppointment(
        ap.BookAppointmentRequest(
            sub_account_id=SUB, user_id="u1", start_time=ts(at(10)), end_time=ts(at(11)), title=BOOKED_TITLE,
        ),
        metadata=called("req-book"),
    )
    wait_for(lambda: service.logged("push.finished", outcome="created"), "the appointment's push")
    return answer.connection.connection_id


def test_the_json_log_tells_what_happened_and_why_without_personal_data(
    tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    with settings_for("sqlite", tmp_path / "data", caldav_url=radicale.base_url) as settings:
        with served(settings, tmp_path, CALSYNC_LOG_FORMAT="json", CALSYNC_LOG_LEVEL="DEBUG") as service:
            connection_id = scenario(service, radicale, account)
    lines = service.json_lines()  # every line is JSON
    [settings_line] = [line for line in lines if line.get("event") == "settings"]
    assert settings_line["auth_tokens"] == "1 tokens" and settings_line["cipher_key"] == "generated"
    assert settings_line["level"] == "INFO" and settings_line["time"].endswith("+0000")

    [refused] = service.logged("connect.refused", request_id="req-wrong-password")
    assert refused["reason"] == "INVALID_CREDENTIALS" and refused["sub_account_id"] == SUB
    assert service.logged("rpc.finished", request_id="req-wrong-password", code="INVALID_ARGUMENT")
    assert service.logged("connect.proved", request_id="req-connect", sub_account_id=SUB, calendars=2)
    assert service.logged("connection.connected", request_id="req-connect", connection_id=connection_id)
    [synced] = service.logged("sync.finished", request_id="req-sync")
    assert synced["outcome"] == "ok" and synced["connection_id"] == connection_id
    assert synced["changes"] == 1 and synced["calendars"] == 1 and synced["requests"] >= 2
    [pushed] = service.logged("push.finished", outcome="created")
    assert pushed["request_id"].startswith("push-") and pushed["attempt"] == 1
    assert {line["projection"] for line in service.logged("projection.caught_up")} >= {"availability"}
    assert service.logged("server.stopped")

    apple_id, password = account
    text = service.log_text()
    assert "DEBUG" in text  # the scan below covers every level
    for secret in (apple_id, apple_id.split("@")[0], password, IMPORTED_TITLE, BOOKED_TITLE, ADMIN_TOKEN):
        assert secret not in text


def test_text_lines_carry_the_cause_and_http_clients_lose_their_urls() -> None:
    out = io.StringIO()
    handler = configure_logging("DEBUG", "text", out)
    try:
        with cause(request_id="r-1", sub_account_id="crm 1"):
            happened(logging.getLogger("calendar_domain.example"), "sync.finished", changes=3, outcome="ok")
        logging.getLogger("urllib3.connectionpool").debug("GET https://me@example.test:443/dav/me%40x/cal/ 200")
        logging.getLogger("caldav").warning("https://p01-caldav.icloud.com/1234/calendars/home/ gave up")
        logging.getLogger("server.other").info("outside any cause")
    finally:
        logging.getLogger().removeHandler(handler)
    first, second, third = out.getvalue().splitlines()
    assert first.endswith("INFO calendar_domain.example: sync.finished changes=3 outcome=ok request_id=r-1 sub_account_id=crm 1")
    assert second.endswith("WARNING caldav: https://p01-caldav.icloud.com/… gave up")
    assert third.endswith("server.other: outside any cause")
    assert scrub_urls("at http://user:pw@host:8080/x/y?z") == "at http://host:8080/…"
    assert scrub_urls('"REPORT /me%40x/home/ HTTP/1.1" 207') == '"REPORT /… HTTP/1.1" 207'


def test_json_lines_put_the_event_fields_at_the_top() -> None:
    out = io.StringIO()
    handler = configure_logging("INFO", "json", out)
    try:
        with cause(request_id="r-2", connection_id="c-9"):
            happened(logging.getLogger("x"), "push.finished", attempt=2, outcome="created", seconds=0.5)
    finally:
        logging.getLogger().removeHandler(handler)
    line = json.loads(out.getvalue())
    assert line["event"] == "push.finished" and line["attempt"] == 2 and line["seconds"] == 0.5
    assert line["request_id"] == "r-2" and line["connection_id"] == "c-9" and line["logger"] == "x"
    assert "fields" not in line


def test_the_settings_line_leaves_every_secret_out() -> None:
    settings = Settings.from_env({
        "CALSYNC_EVENT_STORE": "postgres", "CALSYNC_POSTGRES_URL": "postgresql://app:s3cret-pw@db:5432/cal",
        "CALSYNC_CIPHER_KEY": "q9z8cP0Kb3qgY7PpQm2Zs3Z8v1Ww2Vx6n5r4t3y2u1E=", "CALSYNC_AUTH_TOKENS": '{"t0k3n-x": ["*"]}',
        "CALSYNC_CALDAV_URL": "https://someone:pw-in-url@caldav.example/",
    })
    shown = " ".join(settings.public().values())
    for secret in ("s3cret-pw", "q9z8cP0Kb3qgY7PpQm2Zs3Z8v1Ww2Vx6n5r4t3y2u1E=", "t0k3n-x", "pw-in-url", "someone"):
        assert secret not in shown
    public = settings.public()
    assert public["cipher_key"] == "set" and public["vault_key"] == "missing" and public["auth_tokens"] == "1 tokens"
    assert "host=db" in public["postgres_url"] and public["caldav_url"] == "https://caldav.example/"
