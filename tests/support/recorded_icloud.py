"""A canned CalDAV server answering the way iCloud does (stdlib only; tests only).

Real iCloud cannot be reached from tests, so ``RecordedICloud`` replays its answers
for one account with one event calendar. It is not a recording of real traffic:
the documents are written by hand from RFC 4791 / RFC 6578 and from what has been
published about iCloud. What it reproduces, and where that comes from:

* Partition host. The principal's ``calendar-home-set`` is an absolute URL on
  another host (``pNN-caldav.icloud.com``): emersion/go-webdav#61 shows
  ``<calendar-home-set xmlns="urn:ietf:params:xml:ns:caldav"><href xmlns="DAV:">
  https://p37-caldav.icloud.com:443/<dsid>/calendars/</href>``; the caldav library
  (compatibility_hints.py, issue python-caldav/caldav#730) documents the same.
  Here the front listener (``url``) plays caldav.icloud.com and a second one
  (``partition_url``, host name "localhost" by default) plays the partition;
  both answer everything. Principal ``/<dsid>/principal/``, home
  ``/<dsid>/calendars/``, the default calendar ``/<dsid>/calendars/home/``, event
  resources ``<UPPERCASE-UUID>.ics``.
* XML style: ``<?xml ... standalone="yes"?>``, a default ``DAV:`` namespace
  re-declared on each ``response`` and every property in its own default
  namespace (go-webdav#61, dengste/org-caldav#269 and #305).
* Properties the server does not have come back in a second ``propstat`` with
  ``404 Not Found`` next to the 200 one (gggard/AndroidCaldavSyncAdapater#186:
  getctag/displayname; org-caldav#305: "for each .ics, it returns two props").
* Colour in Apple's namespace, ``#RRGGBBAA``: ``<calendar-color
  xmlns="http://apple.com/ns/ical/">#FF2968FF</calendar-color>`` (iCloud's red;
  the caldav library's iCloud profile: "'#CB30E0FF' comes back"). The
  ``symbolic-color`` attribute is what Apple clients send in MKCALENDAR; that
  iCloud echoes it is an assumption.
* sync-collection (RFC 6578) answers:
  (a) the calendar collection's own URL among the changed members, with a 200
      propstat (lfos/calcurse#60 "iCloud sends the base URL as resource";
      DouglasdeMoura/chroncal#755 "Reject calendar collection hrefs"; the caldav
      library's "icloud hack" in collection.py; pimutils/vdirsyncer#95);
  (b) ``PARTIAL_HREF``: a member that is NOT deleted, with getetag in a 200
      propstat and calendar-data in a 404 propstat - sent whatever was asked
      (the two-propstat pattern above); a GET of it answers 404 and a
      calendar-multiget gives the same two propstats (AvengeMedia/dankcalendar#108:
      "a single 404 inside calendar-multiget"). ``ETAGLESS_HREF``: a member whose only propstat is a
      404 for getetag/calendar-data - a synthetic edge case, NOT observed on
      iCloud; it exists to see how clients classify it;
  (c) ``DELETED_HREF``: a truly removed member, response-level
      ``<status>HTTP/1.1 404 Not Found</status>`` and no propstat (RFC 6578 3.5).
  An unknown sync-token gets 412 + DAV:valid-sync-token labelled ``text/plain``
  (DAVx5 developers, forums.bitfire.at topic 1858).
* Events (``recorded_icloud_ics``) carry X-APPLE properties as iOS/macOS write
  them; one has no PRODID (chroncal#755: "iCloud objects without PRODID").
* 401 challenge ``X-MobileMe-AuthToken realm="MMCalDav", Basic realm="MMCalDav"``
  (caldav compatibility_hints.py, iCloud profile).

Not taken from any capture: the shape of the sync tokens and ETags, the DAV
header, the DSID and UUIDs, and the Content-Type of the 207 answers.
Sync flow: an empty token gets every member plus the collection (token
``INITIAL_TOKEN``); ``INITIAL_TOKEN`` gets the delta (a)-(c) plus ``CHANGED_HREF``
(token ``NEXT_TOKEN``) and from then on GET/PROPFIND/multiget show the changed
state (``changed``); ``NEXT_TOKEN`` gets an empty delta.
"""

from __future__ import annotations

import base64
import threading
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from tests.support.recorded_icloud_ics import BIRTHDAY, DENTIST, STANDUP

DAV, CAL, CS, ICAL = ("DAV:", "urn:ietf:params:xml:ns:caldav",
                      "http://calendarserver.org/ns/", "http://apple.com/ns/ical/")  # fmt: skip
DSID = "10284756391"
PRINCIPAL = f"/{DSID}/principal/"
HOME = f"/{DSID}/calendars/"
CALENDAR = f"{HOME}home/"
DENTIST_HREF = f"{CALENDAR}5C3F6B2E-8D4A-4E1B-9F27-1A2B3C4D5E6F.ics"
CHANGED_HREF = f"{CALENDAR}A81D0C44-2B7E-4C55-8E0F-6D9A1B2C3E4F.ics"
PARTIAL_HREF = f"{CALENDAR}0E7B9F12-5C3D-4A8E-B6F1-2D4C6E8A0B13.ics"
ETAGLESS_HREF = f"{CALENDAR}7D2E4F60-1A3B-4C5D-8E9F-0A1B2C3D4E5F.ics"
SUBSCRIBED = f"{HOME}holidays-subscription/"
DELETED_HREF = f"{CALENDAR}F4A2C9E1-7B3D-4E5F-A6B7-C8D9E0F1A2B3.ics"
INITIAL_TOKEN = "HwoQEgwAAAAZ5q0Cl8h9AAAAAAAYARgAIhUImNqR8sPGyrXkARDC9Ze4x_7qkgEoAA=="
PAGE_TOKEN = "HwoQEgwAAAAZ5q0Cl8h9AAAAAAAYARgAIhUImNqR8sPGyrXkARDC9Ze4x_7qkgEoAP=="  # a truncated reply's
NEXT_TOKEN = "HwoQEgwAAAAZ5q0Cl8h9AQAAAAAYARgAIhUImNqR8sPGyrXkARDC9Ze4x_7qkgEoAQ=="
COLOR = "#FF2968FF"

def _ics(text: str) -> str:
    return text.replace("\n", "\r\n")


# href -> (etag, calendar data); ``None`` data: iCloud lists it but cannot serve it.
_BIRTHDAY_GONE = BIRTHDAY.replace("0E7B9F12-5C3D-4A8E-B6F1-2D4C6E8A0B13",
                                   "F4A2C9E1-7B3D-4E5F-A6B7-C8D9E0F1A2B3")
_MOVED = STANDUP.replace("SEQUENCE:0", "SEQUENCE:1").replace("Stand-up", "Stand-up (moved)")
_BEFORE: dict[str, tuple[str, str | None]] = {
    DENTIST_HREF: ('"mc4k2v8q"', _ics(DENTIST.format(sequence=0, summary="Dentist"))),
    CHANGED_HREF: ('"mc4k2v8r"', _ics(STANDUP)),
    PARTIAL_HREF: ('"mc4k2v8s"', None),
    DELETED_HREF: ('"mc4k2v8t"', _ics(_BIRTHDAY_GONE)),
}
_AFTER: dict[str, tuple[str, str | None]] = {
    DENTIST_HREF: _BEFORE[DENTIST_HREF],
    CHANGED_HREF: ('"mc4k9x1a"', _ics(_MOVED)),
    PARTIAL_HREF: ('"mc4k9x1b"', None),
    ETAGLESS_HREF: ("", None),
}
_CHALLENGE = 'X-MobileMe-AuthToken realm="MMCalDav", Basic realm="MMCalDav"'
_DAV_HEADER = ("1, 2, 3, access-control, calendar-access, calendar-schedule, "
               "calendar-auto-schedule, extended-mkcol, sync-collection")  # fmt: skip
_REFUSAL = (b"<?xml version='1.0' encoding='UTF-8'?>\n<error xmlns='DAV:'>\n"
            b"<valid-sync-token/>\n</error>\n")  # fmt: skip
_MULTIGET = f"{{{CAL}}}calendar-multiget"
PropName = tuple[str, str]


def _el(ns: str, name: str, inner: str = "", attrs: str = "") -> str:
    if not inner:
        return f'<{name} xmlns="{ns}"{attrs}/>'
    return f'<{name} xmlns="{ns}"{attrs}>{inner}</{name}>'


def _href(path: str) -> str:
    return f"<href>{path}</href>"


def _propstat(props: list[str], status: str) -> str:
    inner = "".join(props)
    return f"<propstat><prop>{inner}</prop><status>HTTP/1.1 {status}</status></propstat>"


def _gone(href: str) -> str:
    """A removed member (RFC 6578 3.5) / a multiget miss (RFC 4791 7.9)."""
    return f'<response xmlns="DAV:">{_href(href)}<status>HTTP/1.1 404 Not Found</status></response>'


def _response(href: str, found: dict[PropName, str], wanted: list[PropName] | None,
              missing: Sequence[PropName] = ()) -> str:  # fmt: skip
    """A ``response``: ``found`` props asked for in a 200 propstat, the rest asked for
    (and ``missing``, always) in a 404 propstat, as iCloud answers."""
    names = list(found) if wanted is None else wanted
    ok = [found[name] for name in names if name in found and name not in missing]
    absent = [n for n in names if n not in found or n in missing]
    absent += [n for n in missing if n not in absent]
    parts = [_propstat(ok, "200 OK")] if ok else []
    if absent:
        parts.append(_propstat([_el(ns, name) for ns, name in absent], "404 Not Found"))
    return f'<response xmlns="DAV:">{_href(href)}{"".join(parts)}</response>'


def _multistatus(responses: list[str], token: str | None = None) -> bytes:
    tail = f"<sync-token>{token}</sync-token>" if token is not None else ""
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<multistatus xmlns="DAV:">\n'
    return (head + "\n".join(responses) + tail + "\n</multistatus>\n").encode()


def _collection(*kinds: tuple[str, str]) -> str:
    return _el(DAV, "resourcetype", "".join(_el(ns, name) for ns, name in kinds))


class RecordedICloud:
    """The canned iCloud: ``url`` (caldav.icloud.com) and ``partition_url`` (pNN)."""

    def __init__(
        self, username: str = "appleid@example.test", password: str = "abcd-efgh-ijkl-mnop",
        *, partition_host: str = "localhost", truncate_first_listing: bool = False,
        subscription_source: str = "",
    ) -> None:  # fmt: skip
        self.username, self.password, self.partition_host = username, password, partition_host
        # a subscribed calendar in the home (resourcetype calendarserver.org
        # "subscribed", its feed in "source" as an href, as CalendarServer has them)
        self.subscription_source = subscription_source
        # the listing without a token answers one member, a 507 for the calendar
        # (RFC 6578 3.6) and PAGE_TOKEN, which then gets the rest
        self.truncate_first_listing = truncate_first_listing
        self.requests: list[tuple[str, str, str]] = []  # (listener, method, path)
        self.changed = False  # set once the delta (INITIAL_TOKEN) has been handed out
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        for listener in ("front", "partition"):
            attrs = {"canned": self, "listener": listener}
            server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), attrs))
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
            thread.start()
            self._servers[listener], self._threads = server, [*self._threads, thread]
        return self

    def __exit__(self, *exc_info: object) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._servers['front'].server_address[1]}/"

    @property
    def partition_url(self) -> str:
        return f"http://{self.partition_host}:{self._servers['partition'].server_address[1]}/"

    @property
    def calendar_url(self) -> str:
        return self.partition_url.rstrip("/") + CALENDAR

    def members(self) -> dict[str, tuple[str, str | None]]:
        """The calendar's members now: href -> (etag, data or None)."""
        return _AFTER if self.changed else _BEFORE

    # --- the canned answers ------------------------------------------------------

    def _collections(self) -> dict[str, dict[PropName, str]]:
        home = f'<href xmlns="DAV:">{self.partition_url.rstrip("/")}{HOME}</href>'
        rights = ("read", "write", "write-properties", "write-content")
        privileges = "".join(f"<privilege><{right}/></privilege>" for right in rights)
        components = '<comp name="VEVENT"/>'
        return {
            PRINCIPAL: {
                (DAV, "current-user-principal"):
                    _el(DAV, "current-user-principal", _href(PRINCIPAL)),
                (CAL, "calendar-home-set"): _el(CAL, "calendar-home-set", home),
                (DAV, "displayname"): _el(DAV, "displayname", "Jane Appleseed"),
                (DAV, "resourcetype"): _collection((DAV, "principal")),
            },
            HOME: {(DAV, "resourcetype"): _collection((DAV, "collection"))},
            CALENDAR: {
                (DAV, "resourcetype"): _collection((DAV, "collection"), (CAL, "calendar")),
                (DAV, "displayname"): _el(DAV, "displayname", "Home"),
                (ICAL, "calendar-color"):
                    _el(ICAL, "calendar-color", COLOR, ' symbolic-color="red"'),
                (ICAL, "calendar-order"): _el(ICAL, "calendar-order", "1"),
                (CAL, "supported-calendar-component-set"):
                    _el(CAL, "supported-calendar-component-set", components),
                (CS, "getctag"): _el(CS, "getctag", "HwoQEgwAAAAZ5q0Cl8h9AQ"),
                (DAV, "sync-token"): _el(DAV, "sync-token", INITIAL_TOKEN),
                (DAV, "getetag"): _el(DAV, "getetag", '"HwoQEgwAAAAZ5q0Cl8h9AQ"'),
                (DAV, "current-user-privilege-set"):
                    _el(DAV, "current-user-privilege-set", privileges),
            },
            **({SUBSCRIBED: {
                (DAV, "resourcetype"): _collection((DAV, "collection"), (CS, "subscribed")),
                (DAV, "displayname"): _el(DAV, "displayname", "Holidays"),
                (CS, "source"): _el(CS, "source", f'<href xmlns="DAV:">{self.subscription_source.replace("&", "&amp;")}</href>'),
                (ICAL, "calendar-color"): _el(ICAL, "calendar-color", "#1BADF8FF"),
            }} if self.subscription_source else {}),
            f"{HOME}inbox/": {
                (DAV, "resourcetype"): _collection((DAV, "collection"), (CAL, "schedule-inbox"))
            },
            f"{HOME}outbox/": {
                (DAV, "resourcetype"): _collection((DAV, "collection"), (CAL, "schedule-outbox"))
            },
        }  # fmt: skip

    @staticmethod
    def _member(href: str, etag: str, data: str | None, wanted: list[PropName] | None) -> str:
        found = {(DAV, "resourcetype"): _el(DAV, "resourcetype"),
                 (DAV, "getcontenttype"): _el(DAV, "getcontenttype", "text/calendar")}  # fmt: skip
        if etag:
            found[(DAV, "getetag")] = _el(DAV, "getetag", etag)
        if data is not None:
            escaped = data.replace("&", "&amp;").replace("<", "&lt;")
            found[(CAL, "calendar-data")] = _el(CAL, "calendar-data", escaped)
        missing = [(CAL, "calendar-data")] if data is None else []
        missing += [] if etag else [(DAV, "getetag")]
        return _response(href, found, wanted, missing)

    def propfind(self, path: str, depth: str, wanted: list[PropName] | None) -> bytes | None:
        collections, members = self._collections(), self.members()
        if path in collections:
            out = [_response(path, collections[path], wanted)]
            if depth == "1":
                level = path.count("/") + 1
                out += [_response(child, props, wanted) for child, props in collections.items()
                        if child.startswith(path) and child.count("/") == level]  # fmt: skip
            if depth == "1" and path == CALENDAR:
                out += [self._member(href, *member, wanted) for href, member in members.items()]
            return _multistatus(out)
        if path in members:
            return _multistatus([self._member(path, *members[path], wanted)])
        if path in ("/", "/.well-known/caldav"):  # the front door: who am I
            found = {(DAV, "current-user-principal"):
                         _el(DAV, "current-user-principal", _href(PRINCIPAL)),
                     (DAV, "resourcetype"): _collection((DAV, "collection"))}  # fmt: skip
            return _multistatus([_response(path, found, wanted)])
        return None

    def sync_collection(self, token: str, wanted: list[PropName] | None) -> bytes | None:
        own = _response(CALENDAR, self._collections()[CALENDAR], [(DAV, "getetag")])
        if not token or token == PAGE_TOKEN:
            out = [self._member(href, *member, wanted) for href, member in self.members().items()]
            if self.truncate_first_listing and not token:
                truncated = f'<response xmlns="DAV:">{_href(CALENDAR)}<status>HTTP/1.1 507 Insufficient Storage</status></response>'
                return _multistatus([own, out[0], truncated], PAGE_TOKEN)
            if token == PAGE_TOKEN:
                out = out[1:]
            return _multistatus([own, *out], NEXT_TOKEN if self.changed else INITIAL_TOKEN)
        if token == INITIAL_TOKEN:
            self.changed = True
            out = [self._member(href, *member, wanted) for href, member in _AFTER.items()
                   if href != DENTIST_HREF]  # fmt: skip
            return _multistatus([own, *out, _gone(DELETED_HREF)], NEXT_TOKEN)
        if token == NEXT_TOKEN:
            return _multistatus([], NEXT_TOKEN)
        return None

    def multiget(self, hrefs: list[str], wanted: list[PropName] | None) -> bytes:
        members, out = self.members(), []
        for href in hrefs:
            path = urlsplit(href).path
            found = path in members
            out.append(self._member(path, *members[path], wanted) if found else _gone(href))
        return _multistatus(out)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    canned: RecordedICloud
    listener: str

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        canned, path = self.canned, unquote(urlsplit(self.path).path)
        with canned._lock:
            canned.requests.append((self.listener, self.command, self.path))
        expected = base64.b64encode(f"{canned.username}:{canned.password}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            return self._send(401, b"", [("WWW-Authenticate", _CHALLENGE)])
        if self.command == "OPTIONS":
            return self._send(200, b"", [("DAV", _DAV_HEADER)])
        etag, data = canned.members().get(path, ("", None))
        if self.command == "GET" and data is not None:
            headers = [("Content-Type", "text/calendar"), ("ETag", etag)]
            return self._send(200, data.encode(), headers)
        root = ET.fromstring(body) if body.strip() else None
        kind, wanted = (None if root is None else root.tag), _wanted_props(root)
        answer: bytes | None = None
        if self.command == "PROPFIND":
            answer = canned.propfind(path, self.headers.get("Depth", "1"), wanted)
        elif self.command == "REPORT" and root is not None and kind == f"{{{DAV}}}sync-collection":
            token = (root.findtext(f"{{{DAV}}}sync-token") or "").strip()
            answer = canned.sync_collection(token, wanted)
            if answer is None:  # iCloud: 412, valid-sync-token, labelled text/plain
                return self._send(412, _REFUSAL, [("Content-Type", "text/plain; charset=UTF-8")])
        elif self.command == "REPORT" and root is not None and kind == _MULTIGET:
            answer = canned.multiget([h.text or "" for h in root.iter(f"{{{DAV}}}href")], wanted)
        elif self.command == "REPORT" and kind == f"{{{CAL}}}calendar-query":
            answer = canned.multiget(list(canned.members()), wanted)
        if answer is None:
            return self._send(404, b"", [])
        self._send(207, answer, [("Content-Type", "text/xml; charset=UTF-8")])

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in [*headers, ("Content-Length", str(len(body)))]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep test output quiet."""


def _wanted_props(root: ET.Element | None) -> list[PropName] | None:
    """The (namespace, name) of each property a PROPFIND/REPORT asks for; None: all."""
    prop = None if root is None else root.find(f"{{{DAV}}}prop")
    if prop is None:
        return None
    return [(child.tag[1:].split("}", 1)[0], child.tag.split("}", 1)[1]) for child in prop]
