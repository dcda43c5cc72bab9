"""``make demo``: the service against a local CalDAV server, without an Apple account.

Starts Radicale with a demo user whose "Home" and "Work" calendars hold events of
the coming weeks (a weekly class with one occurrence moved, an all-day event, an
event marked free, a cancelled one, and the team's weekly meeting), starts the
service against it with metrics on, connects the account and sets Home as the
primary calendar and Work as a conflict calendar through the public API,
subscribes the user to an iCalendar feed it serves on loopback (the office's
closures: a subscribed calendar), then prints commands to try. Ctrl-C (or SIGTERM) stops everything and removes what it
made.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from calendarintegration.v1 import configuration_pb2 as cfg  # noqa: E402
from calendarintegration.v1 import configuration_pb2_grpc, connection_pb2_grpc, sync_pb2_grpc  # noqa: E402
from calendarintegration.v1 import connection_pb2 as pb  # noqa: E402
from calendarintegration.v1 import sync_pb2 as sy  # noqa: E402
from tests.support.caldav_servers import RadicaleServer  # noqa: E402

TOKEN = "demo-token"
SUB, USER = "demo", "alex"
APPLE_ID, APP_PASSWORD = "alex@example.com", "demo-abcd-efgh-ijkl"
METADATA = [("authorization", f"Bearer {TOKEN}")]


def _monday_after(day: date) -> date:
    return day + timedelta(days=7 - day.weekday())


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).strftime("%Y%m%dT%H%M%SZ")


def _calendar(*events: str) -> str:
    body = "".join(events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calendar-integration//demo//EN\r\n{body}END:VCALENDAR\r\n"


def _event(uid: str, summary: str, start: str, end: str, *extra: str) -> str:
    lines = [f"UID:{uid}", f"DTSTAMP:{start}", f"SUMMARY:{summary}", *extra]
    if "VALUE=DATE" not in start:
        lines[2:2] = [f"DTSTART:{start}", f"DTEND:{end}"]
    body = "".join(f"{line}\r\n" for line in lines)
    return f"BEGIN:VEVENT\r\n{body}END:VEVENT\r\n"


def demo_events(today: date) -> dict[str, dict[str, str]]:
    """calendar slug -> resource name -> iCalendar text, for the weeks after ``today`` (UTC)."""
    monday = _monday_after(today)
    tuesday, wednesday, thursday, friday, saturday = (monday + timedelta(days=n) for n in range(1, 6))
    moved_from = tuesday + timedelta(days=7)
    yoga = _calendar(
        _event("demo-yoga", "Lunchtime yoga", _at(tuesday, 12), _at(tuesday, 13), "RRULE:FREQ=WEEKLY;COUNT=8"),
        # the second week's class moves to Wednesday (an exception of the series, RFC 5545 RECURRENCE-ID)
        _event(
            "demo-yoga", "Lunchtime yoga (moved)", _at(moved_from + timedelta(days=1), 12),
            _at(moved_from + timedelta(days=1), 13), f"RECURRENCE-ID:{_at(moved_from, 12)}",
        ),
    )
    family = _calendar(
        "BEGIN:VEVENT\r\nUID:demo-family\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Family visit\r\n"
        f"DTSTART;VALUE=DATE:{saturday:%Y%m%d}\r\nDTEND;VALUE=DATE:{saturday + timedelta(days=2):%Y%m%d}\r\n"
        "END:VEVENT\r\n"
    )
    return {
        "home": {
            "yoga.ics": yoga,
            "family.ics": family,
            "webinar.ics": _calendar(
                _event("demo-webinar", "Optional webinar", _at(thursday, 14), _at(thursday, 15), "TRANSP:TRANSPARENT")
            ),
            "dentist.ics": _calendar(
                _event("demo-dentist", "Dentist", _at(friday, 9), _at(friday, 10), "STATUS:CANCELLED")
            ),
        },
        "work": {
            "planning.ics": _calendar(
                _event("demo-planning", "Team planning", _at(monday, 10), _at(monday, 11), "RRULE:FREQ=WEEKLY;COUNT=12")
            ),
            "review.ics": _calendar(
                _event("demo-review", "Customer review", _at(wednesday, 14), _at(wednesday, 15, 30))
            ),
        },
    }


def fill(radicale: RadicaleServer, today: date) -> None:
    radicale.add_user(APPLE_ID, APP_PASSWORD)
    radicale.create_calendar(APPLE_ID, APP_PASSWORD, "home", "Home", color="#FF2968FF")
    radicale.create_calendar(APPLE_ID, APP_PASSWORD, "work", "Work", color="#1BADF8FF")
    home = radicale.home_path(APPLE_ID)
    for slug, resources in demo_events(today).items():
        for name, text in resources.items():
            radicale.put_ics(APPLE_ID, APP_PASSWORD, f"{home}{slug}/{name}", text)


def office_feed(today: date) -> bytes:
    """The subscribed feed: the office closes on Friday afternoon after next Monday."""
    friday = _monday_after(today) + timedelta(days=4)
    closure = _event("demo-office-closed", "Office closed (building maintenance)", _at(friday, 15), _at(friday, 17))
    return _calendar(closure).replace("VERSION:2.0\r\n", "VERSION:2.0\r\nX-WR-CALNAME:Office closures\r\n").encode()


class FeedServer:
    """Serves the feed on loopback, with an ETag (the service polls it conditionally)."""

    def __init__(self, body: bytes) -> None:
        etag = f'"{abs(hash(body))}"'

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the library's name
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/office-closures.ics"
        threading.Thread(target=self._server.serve_forever, args=(0.2,), daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _serving(channel: grpc.Channel) -> bool:
    try:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
    except grpc.RpcError:
        return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


def subscribe(channel: grpc.Channel, url: str) -> int:
    """Subscribes the demo user to the feed (a conflict calendar at once); syncs it. Returns its events."""
    connections = connection_pb2_grpc.ConnectionServiceStub(channel)
    made = connections.SubscribeCalendar(
        pb.SubscribeCalendarRequest(sub_account_id=SUB, user_id=USER, url=url, request_id="demo-subscribe"),
        metadata=METADATA, timeout=60,
    )
    synced = sync_pb2_grpc.SyncServiceStub(channel).SyncNow(
        sy.SyncNowRequest(sub_account_id=SUB, connection_id=made.connection.connection_id), metadata=METADATA, timeout=60
    )
    return sum(c.blocked_slot_count for c in synced.status.calendars)


def connect(channel: grpc.Channel) -> int:
    """Connects the demo account, Home primary and Work in conflict; syncs. Returns the events imported."""
    answer = connection_pb2_grpc.ConnectionServiceStub(channel).ConnectAccount(
        pb.ConnectAccountRequest(
            sub_account_id=SUB, user_id=USER, apple_id=APPLE_ID, app_password=APP_PASSWORD, request_id="demo-connect"
        ),
        metadata=METADATA, timeout=60,
    )
    by_name = {c.display_name: cfg.CalendarRef(connection_id=c.connection_id, calendar_id=c.calendar_id) for c in answer.calendars}
    configurations = configuration_pb2_grpc.CalendarConfigurationServiceStub(channel)
    configurations.SetPrimaryCalendar(
        cfg.SetPrimaryCalendarRequest(sub_account_id=SUB, user_id=USER, calendar=by_name["Home"]), metadata=METADATA, timeout=30
    )
    configurations.AddConflictCalendar(
        cfg.AddConflictCalendarRequest(sub_account_id=SUB, user_id=USER, calendar=by_name["Work"]), metadata=METADATA, timeout=30
    )
    synced = sync_pb2_grpc.SyncServiceStub(channel).SyncNow(
        sy.SyncNowRequest(sub_account_id=SUB, connection_id=answer.connection.connection_id), metadata=METADATA, timeout=120
    )
    return sum(c.blocked_slot_count for c in synced.status.calendars)


def _python() -> str:
    try:
        return os.path.relpath(sys.executable) if Path(sys.executable).resolve().is_relative_to(Path.cwd()) else sys.executable
    except ValueError:
        return sys.executable


def instructions(address: str, metrics_port: int, radicale: RadicaleServer, log_path: Path, today: date) -> str:
    monday = _monday_after(today)
    tuesday = monday + timedelta(days=1)
    env = "" if address == "127.0.0.1:50051" else f"CALSYNC_DEMO_ADDRESS={address} "
    client = f"{env}{_python()} scripts/demo_client.py"
    body = json.dumps({
        "subAccountId": SUB, "userId": USER,
        "window": {"startTime": f"{monday}T00:00:00Z", "endTime": f"{monday + timedelta(days=5)}T00:00:00Z"},
    })
    return "\n".join([
        "",
        "The demo is running.",
        f"  gRPC      {address}   token {TOKEN}, sub-account {SUB}, user {USER}",
        f"  metrics   http://127.0.0.1:{metrics_port}/metrics",
        f"  CalDAV    {radicale.base_url}   (stands in for iCloud: {APPLE_ID})",
        f"  log       {log_path}",
        "",
        "Try:",
        f"  {client} free-slots",
        f"  {client} explain {tuesday}T12:15        # the weekly yoga class, from the Home calendar",
        f"  {client} explain {monday}T10:30        # the team planning, from the Work calendar",
        f"  {client} explain {monday + timedelta(days=4)}T15:30        # the office closure, from a subscribed feed",
        f"  {client} book {monday + timedelta(days=3)}T15:00 --title 'Intro call'",
        f"  {client} history                         # the event log, then live",
        f"  curl -s http://127.0.0.1:{metrics_port}/metrics | grep ^calsync_",
        "  npx --no-install buf curl --protocol grpc --http2-prior-knowledge --schema protos "
        f"-H 'authorization: Bearer {TOKEN}' -d '{body}' "
        f"http://{address}/calendarintegration.v1.AvailabilityService/ListFreeSlots",
        "",
        "Ctrl-C stops everything.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=50051, help="the service's gRPC port (default 50051)")
    parser.add_argument("--metrics-port", type=int, default=9464, help="its Prometheus port (default 9464)")
    options = parser.parse_args(argv)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())

    workdir = Path(tempfile.mkdtemp(prefix="calsync-demo-"))
    os.chmod(workdir, 0o700)
    radicale = RadicaleServer()
    feed: FeedServer | None = None
    service: subprocess.Popen[bytes] | None = None
    address = f"127.0.0.1:{options.port}"
    log_path = workdir / "service.log"
    try:
        print("starting Radicale with the demo calendars ...", flush=True)
        radicale.start()
        today = datetime.now(UTC).date()
        fill(radicale, today)
        feed = FeedServer(office_feed(today))
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "CALSYNC_DATA_DIR": str(workdir / "data"),
            "CALSYNC_CALDAV_URL": radicale.base_url,
            "CALSYNC_AUTH_TOKENS": json.dumps({TOKEN: ["*"]}),
            "CALSYNC_LISTEN": address,
            "CALSYNC_METRICS_PORT": str(options.metrics_port),
            "CALSYNC_SYNC_INTERVAL": "30",
            "CALSYNC_PARSE_PROCESSES": "0",
            "CALSYNC_FEED_ALLOW_PRIVATE": "true",  # the demo's feed is on loopback
        }
        print(f"starting the service on {address} ...", flush=True)
        with open(log_path, "wb") as log_file:
            # its own session: a Ctrl-C reaches the demo, which stops it in order
            service = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve"], env=env, cwd=workdir,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )
        with grpc.insecure_channel(address) as channel:
            deadline = time.monotonic() + 60
            while not _serving(channel):
                if service.poll() is not None or time.monotonic() > deadline or stopping.wait(0.1):
                    if not stopping.is_set():
                        print(f"the service did not start:\n{log_path.read_text(errors='replace')}", file=sys.stderr)
                        return 1
                    return 0
            imported = connect(channel)
            from_feed = subscribe(channel, feed.url)
        print(f"connected {APPLE_ID}: Home is the primary calendar, Work a conflict calendar; "
              f"{imported} busy times imported.")
        print(f"subscribed {USER} to the office closures feed (a subscribed calendar): {from_feed} busy times.")
        print(instructions(address, options.metrics_port, radicale, log_path, today), flush=True)
        while not stopping.wait(0.5):
            if service.poll() is not None:
                print(f"the service stopped:\n{log_path.read_text(errors='replace')[-4000:]}", file=sys.stderr)
                return 1
        print("stopping ...", flush=True)
        return 0
    finally:
        if service is not None and service.poll() is None:
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
        radicale.stop()
        if feed is not None:
            feed.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        print("stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
