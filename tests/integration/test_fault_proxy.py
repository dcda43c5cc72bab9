"""The fault-injecting proxy and the canned iCloud, tried against real Radicale/Xandikos
and the caldav library (3.6). Facts about caldav found here are asserted as seen."""

from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from typing import Any

import pytest
import requests
from caldav.davclient import DAVClient
from caldav.lib import error

from tests.support import recorded_icloud as icloud
from tests.support.caldav_servers import CalDAVTestServer, RadicaleServer
from tests.support.fault_proxy import FaultProxy, Match
from tests.support.fixtures import new_account, radicale, xandikos  # noqa: F401

pytestmark = pytest.mark.timeout(60)
SYNC = Match(method="REPORT", body="sync-collection")
CALENDAR_DATA = {"Content-Type": "text/calendar"}


def ics(uid: str, summary: str) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", f"UID:{uid}",
             "DTSTAMP:20260101T000000Z", "DTSTART:20260301T090000Z", "DTEND:20260301T100000Z",
             f"SUMMARY:{summary}", "END:VEVENT", "END:VCALENDAR"]  # fmt: skip
    return "\r\n".join(lines) + "\r\n"


class BoundedSession(requests.Session):
    """A requests session whose every request has a timeout."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", 10)
        return super().request(*args, **kwargs)


def sync_body(token: str = "") -> str:
    return ('<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:">'
            f"<D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>"
            "<D:prop><D:getetag/></D:prop></D:sync-collection>")  # fmt: skip


@pytest.fixture
def proxy(radicale: RadicaleServer) -> Iterator[FaultProxy]:
    with FaultProxy.for_server(radicale) as running:
        yield running


def client_for(proxy: FaultProxy, account: tuple[str, str]) -> DAVClient:
    return DAVClient(url=proxy.url, username=account[0], password=account[1])


def test_every_webdav_method_passes_with_headers_and_bodies(
    radicale: RadicaleServer, proxy: FaultProxy
) -> None:
    user, password = new_account(radicale)
    session = BoundedSession()
    session.auth = (user, password)
    base = proxy.url.rstrip("/")
    cal = f"{radicale.home_path(user)}work/"
    mk = ('<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
          "<D:displayname>Work</D:displayname></D:prop></D:set></C:mkcalendar>")  # fmt: skip
    assert session.request("MKCALENDAR", base + cal, data=mk).status_code == 201
    event, put = f"{base}{cal}a.ics", {"Content-Type": "text/calendar"}
    created = session.put(event, data=ics("a", "A"), headers={**put, "If-None-Match": "*"})
    assert created.status_code == 201 and created.headers["ETag"]
    again = session.put(event, data=ics("a", "A"), headers={**put, "If-None-Match": "*"})
    assert again.status_code == 412
    stale = session.put(event, data=ics("a", "B"), headers={**put, "If-Match": '"stale"'})
    assert stale.status_code == 412
    if_match = {**put, "If-Match": created.headers["ETag"]}
    updated = session.put(event, data=ics("a", "B"), headers=if_match)
    assert updated.status_code in (201, 204)
    assert "SUMMARY:B" in session.get(event).text
    listing = session.request("PROPFIND", base + cal, headers={"Depth": "1"})
    assert listing.status_code == 207 and f"{cal}a.ics" in listing.text
    report = session.request("REPORT", base + cal, data=sync_body(), headers={"Depth": "1"})
    assert report.status_code == 207 and "<sync-token>" in report.text
    assert "calendar-access" in session.options(base + "/").headers["DAV"]
    deleted = session.delete(event, headers={"If-Match": updated.headers["ETag"]})
    assert deleted.status_code in (200, 204)
    assert session.get(event).status_code == 404
    assert BoundedSession().request("PROPFIND", base + cal, auth=(user, "x")).status_code == 401

    log = proxy.requests
    assert [entry.method for entry in log[:3]] == ["MKCALENDAR", "PUT", "PUT"]
    assert [entry.status for entry in log[:3]] == [201, 201, 412]
    assert all("Authorization" not in entry.headers for entry in log)
    assert any(entry.headers.get("Depth") == "1" for entry in log if entry.method == "PROPFIND")
    assert proxy.count("PUT") == 4 and proxy.count(match=Match(body="sync-collection")) == 1
    proxy.reset_log()
    assert proxy.requests == []


@contextmanager
def echo_upstream() -> Iterator[str]:
    """Answers with its own absolute URL in the body and Location, echoing what came in."""

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_MOVE(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            own = f"http://{self.headers['Host']}"
            payload = f'<multistatus xmlns="DAV:"><href>{own}/cal/</href></multistatus>'.encode()
            self.send_response(207)
            for name, value in (("Content-Type", "text/xml"), ("Location", f"{own}/cal/x.ics"),
                                ("X-Destination", self.headers.get("Destination", "")),
                                ("X-Body", body.decode()),
                                ("Content-Length", str(len(payload)))):  # fmt: skip
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_absolute_urls_are_rewritten_both_ways() -> None:
    with echo_upstream() as upstream, FaultProxy(upstream) as proxy:
        mine = proxy.url.rstrip("/")
        response = requests.request(
            "MOVE", proxy.url + "cal/a.ics", data=f"<href>{mine}/cal/b.ics</href>",
            headers={"Destination": f"{mine}/cal/b.ics", "Content-Type": "text/xml"}, timeout=10,
        )  # fmt: skip
    assert response.headers["Location"] == f"{mine}/cal/x.ics"
    assert f"<href>{mine}/cal/</href>" in response.text
    assert response.headers["X-Destination"] == f"{upstream}cal/b.ics"  # client URL -> upstream
    assert response.headers["X-Body"] == f"<href>{upstream}cal/b.ics</href>"


def sync_twice(proxy: FaultProxy, server: CalDAVTestServer) -> None:
    account = new_account(server)
    path = server.create_calendar(*account, "work", "Work")
    server.put_ics(*account, f"{path}one.ics", ics("one", "One"))
    calendar = client_for(proxy, account).principal().calendars()[0]
    first = calendar.objects_by_sync_token(load_objects=True)
    assert [obj.icalendar_component["SUMMARY"] for obj in first] == ["One"]
    server.put_ics(*account, f"{path}two.ics", ics("two", "Two"))
    delta = calendar.objects_by_sync_token(sync_token=first.sync_token, load_objects=True)
    assert [obj.icalendar_component["SUMMARY"] for obj in delta] == ["Two"]


def test_caldav_library_syncs_by_token_through_the_proxy(
    radicale: RadicaleServer, proxy: FaultProxy
) -> None:
    sync_twice(proxy, radicale)
    assert proxy.count("REPORT", SYNC) == 2 and proxy.count("GET") == 2


def test_proxy_in_front_of_https_xandikos(xandikos: CalDAVTestServer) -> None:
    with FaultProxy.for_server(xandikos) as proxy:
        sync_twice(proxy, xandikos)
        assert proxy.count("REPORT", SYNC) == 2


def test_fail_with_answers_instead_of_the_server_then_stops(
    radicale: RadicaleServer, proxy: FaultProxy
) -> None:
    account = new_account(radicale)
    url = proxy.url + radicale.home_path(account[0]).lstrip("/")
    proxy.fail_with(503, headers={"Retry-After": "2"}, body="busy", times=2)
    answers = [requests.request("PROPFIND", url, auth=account, timeout=10) for _ in range(3)]
    assert [r.status_code for r in answers] == [503, 503, 207]
    assert answers[0].headers["Retry-After"] == "2" and answers[0].text == "busy"
    assert [entry.fault for entry in proxy.requests] == ["fail_with 503", "fail_with 503", None]

    proxy.fail_with(429, headers={"Retry-After": "2"}, match=SYNC)
    with pytest.raises(error.RateLimitError) as limited:
        calendar = client_for(proxy, account).principal().make_calendar(name="Work")
        calendar.objects_by_sync_token(disable_fallback=True)
    assert limited.value.retry_after_seconds == 2.0
    proxy.clear()
    calendar = client_for(proxy, account).principal().calendars()[0]
    assert list(calendar.objects_by_sync_token(disable_fallback=True)) == []

    proxy.fail_with(401)  # until cleared; gets iCloud's Basic challenge
    with pytest.raises(error.AuthorizationError):
        client_for(proxy, account).principal()
    assert proxy.requests[-1].status == 401
    challenge = requests.get(proxy.url, timeout=10).headers["WWW-Authenticate"]
    assert challenge == 'Basic realm="MMCalDav"'
    proxy.clear()
    assert client_for(proxy, account).principal().calendars()


def test_delay_provokes_a_client_timeout_and_release_ends_it(
    radicale: RadicaleServer, proxy: FaultProxy
) -> None:
    account = new_account(radicale)
    url = proxy.url + radicale.home_path(account[0]).lstrip("/")
    proxy.delay(30, match=Match(method="PROPFIND"))
    with pytest.raises(requests.Timeout):
        requests.request("PROPFIND", url, auth=account, timeout=0.3)
    proxy.wait_until_held(1)
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        pending = pool.submit(requests.request, "PROPFIND", url, auth=account, timeout=20)
        proxy.wait_until_held(2)
        proxy.release()
        assert pending.result(timeout=20).status_code == 207
        assert time.monotonic() - started < 20
    proxy.wait_for_count(2, "PROPFIND")
    assert proxy.held == 0
    assert requests.request("PROPFIND", url, auth=account, timeout=5).status_code == 207


def test_delay_after_forwarding_applies_the_write_but_loses_the_answer(
    radicale: RadicaleServer, proxy: FaultProxy
) -> None:
    account = new_account(radicale)
    path = radicale.create_calendar(*account, "work", "Work")
    proxy.delay(30, match=Match(method="PUT"), stage="response", times=1)
    with pytest.raises(requests.Timeout):
        requests.put(proxy.url + path.lstrip("/") + "late.ics", data=ics("late", "Late"),
                     auth=account, headers=CALENDAR_DATA, timeout=0.3)  # fmt: skip
    proxy.wait_until_held(1)  # held after the upstream answered
    radicale.request("GET", f"{path}late.ics", account, expect=(200,))
    proxy.clear()
    proxy.wait_for_count(1, "PUT")
    assert proxy.requests[-1].status == 201


@pytest.mark.parametrize(
    ("style", "status"), [("radicale", 403), ("xandikos", 412), ("icloud", 412)]
)
def test_refuse_sync_token_like_each_server(
    radicale: RadicaleServer, proxy: FaultProxy, style: str, status: int
) -> None:
    account = new_account(radicale)
    radicale.create_calendar(*account, "work", "Work")
    calendar = client_for(proxy, account).principal().calendars()[0]
    token = calendar.objects_by_sync_token(disable_fallback=True).sync_token
    proxy.refuse_sync_token(style, times=1)  # type: ignore[arg-type]
    assert list(calendar.objects_by_sync_token(disable_fallback=True)) == []  # empty token passes
    with pytest.raises(error.DAVError) as refused:
        calendar.objects_by_sync_token(sync_token=token, disable_fallback=True)
    assert "{DAV:}valid-sync-token" in refused.value.preconditions
    assert proxy.requests[-1].status == status and proxy.requests[-1].fault
    again = calendar.objects_by_sync_token(sync_token=token, disable_fallback=True)
    assert again.sync_token == token  # times=1 used up


def test_refusal_with_409_makes_caldav_fall_back_to_a_full_listing(
    radicale: RadicaleServer, proxy: FaultProxy
) -> None:
    account = new_account(radicale)
    path = radicale.create_calendar(*account, "work", "Work")
    radicale.put_ics(*account, f"{path}one.ics", ics("one", "One"))
    calendar = client_for(proxy, account).principal().calendars()[0]
    token = calendar.objects_by_sync_token().sync_token
    proxy.refuse_sync_token("icloud", status=409)
    with pytest.raises(error.ReportError) as refused:
        calendar.objects_by_sync_token(sync_token=token, disable_fallback=True)
    assert refused.value.preconditions == ["{DAV:}valid-sync-token"]
    full = calendar.objects_by_sync_token(sync_token=token)
    assert full.sync_token.startswith("fake-") and len(full) == 1


def test_partition_redirect_hands_out_a_home_on_the_second_listener(
    radicale: RadicaleServer, proxy: FaultProxy
) -> None:
    account = new_account(radicale)
    radicale.create_calendar(*account, "work", "Work")
    partition = proxy.partition_redirect()
    assert partition != proxy.url and partition.startswith("http://127.0.0.1:")
    body = ('<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>'
            "<C:calendar-home-set/></D:prop></D:propfind>")  # fmt: skip
    home = radicale.home_path(account[0])
    answer = requests.request("PROPFIND", proxy.url + home.lstrip("/"), data=body,
                              auth=account, headers={"Depth": "0"}, timeout=10)  # fmt: skip
    found = re.search(r"<C:calendar-home-set><href>(.*?)</href>", answer.text)
    assert found is not None and found[1] == partition + home.lstrip("/")
    on_partition = requests.request("PROPFIND", partition + home.lstrip("/"), data=body,
                                    auth=account, headers={"Depth": "0"}, timeout=10)  # fmt: skip
    assert f"<href>{home}</href>" in on_partition.text  # only the first listener redirects

    # With its own host name (as pNN-caldav has) the caldav library moves over to it.
    partition = proxy.partition_redirect(host="localhost")
    proxy.reset_log()
    proxy.fail_with(503, times=1, match=lambda request: request.listener == "partition")
    with pytest.raises(error.DAVError):
        client_for(proxy, account).principal().calendars()
    calendar = client_for(proxy, account).principal().calendars()[0]
    assert str(calendar.url).startswith(partition)
    calendar.objects_by_sync_token(disable_fallback=True)
    reports = [(e.listener, e.method) for e in proxy.requests if e.method == "REPORT"]
    assert reports == [("partition", "REPORT")]
    faulted = [(e.listener, e.method, e.status) for e in proxy.requests if e.fault]
    assert faulted == [("partition", "PROPFIND", 503)]


# --- the canned iCloud ---------------------------------------------------------------


def test_recorded_icloud_sync_answer_has_the_collection_and_404_propstats() -> None:
    with icloud.RecordedICloud() as server:
        session = BoundedSession()
        session.auth = (server.username, server.password)
        answer = session.request("REPORT", server.calendar_url, headers={"Depth": "1"},
                                 data=sync_body(icloud.INITIAL_TOKEN))  # fmt: skip
        bad = session.request("REPORT", server.calendar_url, data=sync_body("nope"))
    found = ET.fromstring(answer.content).iter("{DAV:}response")
    responses = {response.findtext("{DAV:}href"): response for response in found}
    assert set(responses) == {icloud.CALENDAR, icloud.CHANGED_HREF, icloud.PARTIAL_HREF,
                              icloud.ETAGLESS_HREF, icloud.DELETED_HREF}  # fmt: skip
    statuses = {href: [s.text for s in r.iter("{DAV:}status")] for href, r in responses.items()}
    assert statuses[icloud.CALENDAR] == ["HTTP/1.1 200 OK"]
    assert statuses[icloud.PARTIAL_HREF] == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"]
    assert statuses[icloud.ETAGLESS_HREF] == ["HTTP/1.1 404 Not Found"]
    assert responses[icloud.DELETED_HREF].find("{DAV:}propstat") is None
    assert (bad.status_code, bad.headers["Content-Type"]) == (412, "text/plain; charset=UTF-8")


def test_caldav_reads_the_recorded_icloud() -> None:
    with icloud.RecordedICloud() as server:
        client = DAVClient(url=server.url, username=server.username, password=server.password)
        [calendar] = client.principal().calendars()
        assert str(calendar.url) == server.calendar_url  # moved to the partition host
        assert calendar.get_display_name() == "Home"
        url = {href: calendar.url.join(href).canonical() for href in
               (icloud.CALENDAR, icloud.CHANGED_HREF, icloud.PARTIAL_HREF, icloud.ETAGLESS_HREF,
                icloud.DELETED_HREF, icloud.DENTIST_HREF)}  # fmt: skip

        initial = calendar.objects_by_sync_token(load_objects=True)
        by_url = initial.objects_by_url()
        assert url[icloud.CALENDAR] not in by_url  # caldav drops the collection's own URL
        before = (icloud.DENTIST_HREF, icloud.CHANGED_HREF, icloud.PARTIAL_HREF,
                  icloud.DELETED_HREF)  # fmt: skip
        assert set(by_url) == {url[href] for href in before}
        assert by_url[url[icloud.PARTIAL_HREF]].data is None  # GET 404 swallowed
        assert "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR" in by_url[url[icloud.DENTIST_HREF]].data

        delta = calendar.objects_by_sync_token(sync_token=icloud.INITIAL_TOKEN)
        props = {obj.url.canonical(): obj.props for obj in delta}
        reported = (icloud.CHANGED_HREF, icloud.PARTIAL_HREF, icloud.ETAGLESS_HREF,
                    icloud.DELETED_HREF)  # fmt: skip
        assert set(props) == {url[href] for href in reported}
        assert delta.deleted_urls == {url[icloud.DELETED_HREF]}  # 404 propstats are not deletions
        assert props[url[icloud.PARTIAL_HREF]] == {"{DAV:}getetag": '"mc4k9x1b"'}
        assert props[url[icloud.ETAGLESS_HREF]] == {} == props[url[icloud.DELETED_HREF]]

        # caldav's own sync(): a member whose GET then 404s counts as deleted.
        updated, deleted = initial.sync()
        assert [o.url.canonical() for o in updated] == [url[icloud.CHANGED_HREF]]
        gone = {url[icloud.PARTIAL_HREF], url[icloud.DELETED_HREF]}
        assert {obj.url.canonical() for obj in deleted} == gone
        assert set(initial.objects_by_url()) == {url[icloud.DENTIST_HREF], url[icloud.CHANGED_HREF]}

        with pytest.raises(error.ReportError) as refused:  # iCloud's text/plain 412
            calendar.objects_by_sync_token(sync_token="stale", disable_fallback=True)
        assert refused.value.preconditions == ["{DAV:}valid-sync-token"]


def test_caldav_fallback_after_icloud_412_loses_the_member_without_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with icloud.RecordedICloud() as server:
        client = DAVClient(url=server.url, username=server.username, password=server.password)
        [calendar] = client.principal().calendars()
        listing = calendar.objects_by_sync_token(sync_token="stale", load_objects=True)
    hrefs = {obj.url.path for obj in listing}
    assert hrefs == {icloud.DENTIST_HREF, icloud.CHANGED_HREF, icloud.DELETED_HREF}
    assert listing.sync_token.startswith("fake-") and listing.deleted_urls == set()
    # The 404 calendar-data propstat breaks caldav's batch multiget (logged, then GETs).
    assert any("Batch multiget failed" in r.getMessage() for r in caplog.records)
