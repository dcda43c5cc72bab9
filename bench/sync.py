"""CalDAV sync cost: the service's first and incremental sync against plain HTTP, and vdirsyncer.

A local Radicale (3.9) holds one calendar of ``--events`` generated Apple-style
resources (default 5,000: Europe/Berlin times with Apple's VTIMEZONE, VALARMs, some
invitations, all-day events and structured locations; about 6 % recurring series with
RRULE, some with EXDATEs and overridden instances). The files are written straight into
Radicale's storage folder after a MKCALENDAR made the collection, and one warm-up
calendar-query plus one token-less sync-collection let Radicale build its item cache and
sync-token state before anything is timed.

(a) First full sync: ``container.scheduler.sync_now`` on a fresh service store (SQLite,
    or PostgreSQL with ``--store postgres``; a new store every run), timed from its call
    to its return, next to the baseline: ONE calendar-query REPORT (plain ``requests``)
    asking getetag + calendar-data of every VEVENT, plus ``icalendar.Calendar.from_ical``
    of every returned resource. Goal: service / baseline <= 1.5.
(b) After 10 changes on the server (8 resources PUT modified, 1 PUT new, 1 DELETE), the
    service's incremental sync, next to the baseline: a sync-collection REPORT with the
    previous token plus one calendar-multiget of the changed hrefs, each parsed with
    ``from_ical``. Goal: service / baseline <= 2. The changes are undone after each run,
    so every run sees the same data. The service's HTTP requests are counted in one
    extra pass through ``tests.support.fault_proxy.FaultProxy`` (not timed: the proxy
    adds its own cost). Goal: <= 3 requests.
(c) Peak memory of the service during (a): the same first sync in a child process,
    which reports its peak RSS (``VmHWM``) and its RSS before the sync, and in a second
    child the ``tracemalloc`` peak of the sync alone; the baseline of (a) in a child too.
(d) vdirsyncer (if installed in the venv) syncing the same calendar (``caldav`` storage
    on the collection URL, ``collections = null``) to a local ``filesystem`` storage,
    ``conflict_resolution = "a wins"``: ``vdirsyncer discover`` (reported apart), first
    ``vdirsyncer sync`` into an empty folder and status, and ``sync`` after the same
    10 changes. Wall time of the command, so it includes the interpreter start-up
    (reported apart too). Goal: the service faster on both.

In (a) and (b) the order of service and baseline alternates every run; figures are
medians over ``--runs``. Before each timed step the service's projection follower
has caught up (its catch-up after the sync is reported, not counted).

Run from the repository root (one benchmark at a time on this 2-core machine):

    .venv/bin/python bench/sync.py                       # 5,000 events, 3 runs, SQLite
    .venv/bin/python bench/sync.py --store postgres      # PostgreSQL at 127.0.0.1:5432/test
    .venv/bin/python bench/sync.py --events 1000 --runs 5 --no-vdirsyncer
    .venv/bin/python bench/sync.py --profile             # + cProfile of one first/incremental sync

A JSON copy of the results goes to bench/results/ (git-ignored). The script exits 0
whether goals are met or missed (it prints which), 1 if the bench itself failed.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import json
import os
import platform
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.support (the package itself is installed)

import requests  # noqa: E402
from icalendar import Calendar  # noqa: E402
from lxml import etree  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"
SUB_ACCOUNT = "loc-1"
USER_ID = "u1"
APPLE_ID = "bench.user@example.test"
CALENDAR_SLUG = "home"
SEED = 20261122
GOAL_FIRST = 1.5
GOAL_INCREMENTAL = 2.0
GOAL_REQUESTS = 3
MiB = 1024 * 1024
DAV, CALDAV = "DAV:", "urn:ietf:params:xml:ns:caldav"
XML_PARSER = etree.XMLParser(huge_tree=True, resolve_entities=False)


class BenchError(RuntimeError):
    """The bench could not run (not a missed goal)."""


# --- generated Apple-style resources ------------------------------------------------

BERLIN_VTIMEZONE = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "X-LIC-LOCATION:Europe/Berlin",
    "BEGIN:DAYLIGHT",
    "DTSTART:19810329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "TZNAME:MESZ",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "DTSTART:19961027T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "TZNAME:MEZ",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "END:STANDARD",
    "END:VTIMEZONE",
]
ANCHOR = datetime(2026, 1, 1, 0, 0)  # fixed, so the data is the same every day
TITLES = [
    "Kundentermin", "Teammeeting", "Zahnarzt", "1:1 mit Jana", "Projekt-Review", "Mittagessen",
    "Sprint Planning", "Physiotherapie", "Elternabend", "Steuerberater", "Workshop Vertrieb",
    "Telefonkonferenz", "Friseur", "Übergabe Büro", "Besichtigung Wohnung", "Yoga", "Lieferung",
]
PEOPLE = ["Anna Schmidt", "Jonas Weber", "Lea Fischer", "Paul Wagner", "Mia Becker", "Ben Hoffmann"]
PLACES = [
    ("Büro Mitte", "Friedrichstraße 123\\n10117 Berlin\\nDeutschland", "52.520008,13.404954"),
    ("Praxis Dr. Neumann", "Kastanienallee 12\\n10435 Berlin\\nDeutschland", "52.538,13.409"),
    ("Café Einstein", "Kurfürstenstraße 58\\n10785 Berlin\\nDeutschland", "52.5026,13.3615"),
]


@dataclass(frozen=True)
class EventSpec:
    uid: str
    summary: str
    start: datetime | date
    length: timedelta
    created: datetime
    sequence: int = 0
    rrule: str | None = None
    exdates: tuple[datetime | date, ...] = ()
    overrides: tuple[tuple[datetime, datetime], ...] = ()  # (instance start, moved start)
    place: tuple[str, str, str] | None = None
    description: str = ""
    attendees: tuple[str, ...] = ()
    alarms: tuple[int, ...] = ()  # minutes before
    transparent: bool = False

    @property
    def name(self) -> str:
        return f"{self.uid}.ics"

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


def _apple_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()


def _stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def _local(value: datetime | date) -> str:
    if isinstance(value, datetime):
        return f";TZID=Europe/Berlin:{value.strftime('%Y%m%dT%H%M%S')}"
    return f";VALUE=DATE:{value.strftime('%Y%m%d')}"


def _fold(line: str) -> str:
    out, current, size = [], [], 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > (75 if not out else 74):
            out.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    out.append("".join(current))
    return "\r\n ".join(out)


def _email(person: str) -> str:
    return person.lower().replace(" ", ".") + "@example.com"


def render(spec: EventSpec) -> str:
    """One resource as iCloud serves it (Apple's property order and style)."""
    stamp = _stamp(spec.created + timedelta(seconds=12))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Apple Inc.//macOS 15.1//EN", "CALSCALE:GREGORIAN"]
    if not spec.all_day:
        lines += BERLIN_VTIMEZONE

    def vevent(start: datetime | date, recurrence_id: datetime | None) -> list[str]:
        ev = ["BEGIN:VEVENT"]
        for person in spec.attendees:
            ev.append(
                f'ATTENDEE;CN="{person}";CUTYPE=INDIVIDUAL;EMAIL="{_email(person)}";PARTSTAT=ACCEPTED;'
                f"ROLE=REQ-PARTICIPANT:mailto:{_email(person)}"
            )
        ev.append(f"CREATED:{_stamp(spec.created)}")
        if spec.description:
            ev.append(f"DESCRIPTION:{spec.description}")
        ev.append(f"DTEND{_local(start + spec.length)}")
        ev.append(f"DTSTAMP:{stamp}")
        ev.append(f"DTSTART{_local(start)}")
        if recurrence_id is None:
            for excluded in spec.exdates:
                ev.append(f"EXDATE{_local(excluded)}")
        ev.append(f"LAST-MODIFIED:{_stamp(spec.created + timedelta(seconds=10))}")
        if spec.place is not None:
            title, address, geo = spec.place
            ev.append(f"LOCATION:{title}\\n{address.split(chr(92))[0]}")
        if spec.attendees:
            organizer = spec.attendees[0]
            ev.append(f'ORGANIZER;CN="{organizer}";EMAIL="{_email(organizer)}":mailto:{_email(organizer)}')
        if recurrence_id is not None:
            ev.append(f"RECURRENCE-ID{_local(recurrence_id)}")
        elif spec.rrule:
            ev.append(f"RRULE:{spec.rrule}")
        ev.append(f"SEQUENCE:{spec.sequence + (1 if recurrence_id is not None else 0)}")
        ev.append(f"SUMMARY:{spec.summary}")
        ev.append(f"TRANSP:{'TRANSPARENT' if spec.transparent else 'OPAQUE'}")
        ev.append(f"UID:{spec.uid}")
        ev.append("URL;VALUE=URI:")
        if spec.place is not None:
            title, address, geo = spec.place
            ev.append(
                f'X-APPLE-STRUCTURED-LOCATION;VALUE=URI;X-ADDRESS="{address}";X-APPLE-MAPKIT-HANDLE=CAESvAEaEglf;'
                f'X-APPLE-RADIUS=70.58;X-APPLE-REFERENCEFRAME=1;X-TITLE="{title}":geo:{geo}'
            )
        ev.append("X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC")
        for minutes in spec.alarms:
            alarm_uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{spec.uid}/{minutes}/{recurrence_id}")).upper()
            ev += [
                "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder", f"TRIGGER:-PT{minutes}M",
                f"UID:{alarm_uid}", f"X-WR-ALARMUID:{alarm_uid}", "END:VALARM",
            ]  # fmt: skip
        ev.append("END:VEVENT")
        return ev

    lines += vevent(spec.start, None)
    for original, moved in spec.overrides:
        lines += vevent(moved, original)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _add_months(value: datetime, months: int) -> datetime:
    month = value.month - 1 + months
    return value.replace(year=value.year + month // 12, month=month % 12 + 1)


def _series(rng: random.Random, start: datetime) -> tuple[str, list[datetime], bool]:
    """(RRULE, some instance starts, may carry EXDATE/overrides) of a timed series."""
    kind = rng.random()
    weekday = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][start.weekday()]
    if kind < 0.40:
        return f"FREQ=WEEKLY;BYDAY={weekday}", [start + timedelta(weeks=k) for k in range(1, 40)], True
    if kind < 0.65:
        until = start + timedelta(weeks=2 * 30, hours=23)
        rule = f"FREQ=WEEKLY;INTERVAL=2;UNTIL={_stamp(until - timedelta(hours=1))};BYDAY={weekday}"
        return rule, [start + timedelta(weeks=2 * k) for k in range(1, 25)], True
    if kind < 0.80:
        count = rng.randint(10, 30)
        return f"FREQ=DAILY;COUNT={count}", [start + timedelta(days=k) for k in range(1, count - 1)], True
    day = min(start.day, 28)
    start = start.replace(day=day)
    return f"FREQ=MONTHLY;BYMONTHDAY={day}", [_add_months(start, k) for k in range(1, 20)], True


def generate(count: int, recurring: int, seed: int = SEED) -> list[EventSpec]:
    rng = random.Random(seed)
    series_at = set(rng.sample(range(count), min(recurring, count)))
    specs = []
    for index in range(count):
        uid = _apple_uuid(rng)
        created = ANCHOR - timedelta(days=rng.randint(400, 800), seconds=rng.randint(0, 86399))
        day = ANCHOR.date() + timedelta(days=rng.randint(-550, 365))
        timed_start = datetime.combine(day, datetime.min.time()).replace(
            hour=rng.choice([8, 9, 10, 11, 13, 14, 15, 16, 17, 18]), minute=rng.choice([0, 0, 15, 30, 45])
        )
        common: dict[str, Any] = {
            "uid": uid,
            "summary": f"{rng.choice(TITLES)} #{index}",
            "created": created,
            "alarms": tuple(rng.sample([5, 15, 30, 60, 1440], rng.choice([0, 1, 1, 1, 2]))),
            "place": rng.choice(PLACES) if rng.random() < 0.2 else None,
            "attendees": tuple(rng.sample(PEOPLE, rng.randint(2, 4))) if rng.random() < 0.15 else (),
            "description": (
                "Bitte Unterlagen mitbringen.\\nAgenda:\\n- Stand\\n- Nächste Schritte" if rng.random() < 0.25 else ""
            ),
        }
        if index in series_at:
            if rng.random() < 0.15:  # birthdays and anniversaries: all-day, yearly
                specs.append(EventSpec(start=day, length=timedelta(days=1), rrule="FREQ=YEARLY", transparent=True, **common))
                continue
            rule, instances, _ = _series(rng, timed_start)
            start = timed_start if "MONTHLY" not in rule else timed_start.replace(day=min(timed_start.day, 28))
            picks = rng.sample(instances, min(len(instances), 5))
            exdates = tuple(sorted(picks[:rng.randint(1, 3)])) if rng.random() < 0.35 else ()
            overrides = tuple(
                (original, original + timedelta(hours=rng.choice([-2, 1, 2, 24])))
                for original in sorted(picks[3:3 + rng.randint(1, 2)])
            ) if rng.random() < 0.25 else ()
            specs.append(EventSpec(
                start=start, length=timedelta(minutes=rng.choice([30, 45, 60, 90])), rrule=rule,
                exdates=exdates, overrides=overrides, **common,
            ))  # fmt: skip
        elif rng.random() < 0.12:
            days = rng.choice([1, 1, 1, 2, 3, 7])
            specs.append(EventSpec(start=day, length=timedelta(days=days), transparent=rng.random() < 0.6, **common))
        else:
            length = timedelta(minutes=rng.choice([15, 30, 45, 60, 60, 90, 120, 180]))
            specs.append(EventSpec(start=timed_start, length=length, **common))
    return specs


@dataclass(frozen=True)
class ChangeSet:
    """8 resources modified, 1 added, 1 deleted (and how to undo it)."""

    modified: list[tuple[EventSpec, EventSpec]]  # (original, modified)
    added: EventSpec
    deleted: EventSpec


def change_set(specs: list[EventSpec]) -> ChangeSet:
    rng = random.Random(SEED + 1)
    singles = [s for s in specs if s.rrule is None]
    series = [s for s in specs if s.rrule is not None]
    chosen = rng.sample(singles, 7) + rng.sample(series, min(2, len(series)))
    deleted, modified = chosen[0], chosen[1:9]
    pairs = [
        (
            spec,
            dataclasses.replace(
                spec,
                summary=spec.summary + " (verschoben)",
                start=spec.start + (timedelta(hours=1) if isinstance(spec.start, datetime) else timedelta(days=1)),
                sequence=spec.sequence + 1,
            ),
        )
        for spec in modified
    ]
    added = dataclasses.replace(
        singles[0], uid=_apple_uuid(rng), summary="Neuer Termin", start=ANCHOR + timedelta(days=3, hours=10)
    )
    return ChangeSet(pairs, added, deleted)


# --- plain HTTP against the server (the baselines) ----------------------------------

CALENDAR_QUERY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
    '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter>'
    "</C:calendar-query>"
)
SYNC_COLLECTION = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
    "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
)
MULTIGET = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"
)
PROPFIND_TOKEN = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>'
)
XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}


@dataclass
class Member:
    href: str
    etag: str | None
    data: str | None
    gone: bool  # a sync-collection "removed" entry (status 404)


def parse_multistatus(content: bytes) -> tuple[list[Member], str | None]:
    root = etree.fromstring(content, XML_PARSER)
    members = []
    for response in root.iterfind(f"{{{DAV}}}response"):
        href = response.findtext(f"{{{DAV}}}href") or ""
        status = response.findtext(f"{{{DAV}}}status") or ""
        etag = data = None
        for propstat in response.iterfind(f"{{{DAV}}}propstat"):
            if " 200 " not in (propstat.findtext(f"{{{DAV}}}status") or ""):
                continue
            prop = propstat.find(f"{{{DAV}}}prop")
            if prop is not None:
                etag = prop.findtext(f"{{{DAV}}}getetag")
                data = prop.findtext(f"{{{CALDAV}}}calendar-data")
        members.append(Member(href, etag, data, gone=" 404 " in status))
    return members, root.findtext(f"{{{DAV}}}sync-token")


class RawDAV:
    """Plain-HTTP access to the calendar, as the baselines (and the data set-up) do it."""

    def __init__(self, base_url: str, calendar_path: str, auth: tuple[str, str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.calendar_path = calendar_path
        self.auth = auth

    @property
    def calendar_url(self) -> str:
        return self.base_url + self.calendar_path

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.auth = self.auth
        return session

    def _report(self, session: requests.Session, url: str, body: str, depth: str) -> bytes:
        response = session.request("REPORT", url, data=body.encode(), headers={**XML_HEADERS, "Depth": depth}, timeout=300)
        if response.status_code != 207:
            raise BenchError(f"REPORT {url} answered {response.status_code}: {response.text[:300]}")
        return response.content

    def calendar_query(self, session: requests.Session) -> list[Member]:
        return parse_multistatus(self._report(session, self.calendar_url, CALENDAR_QUERY, "1"))[0]

    def sync_collection(self, session: requests.Session, token: str) -> tuple[list[Member], str]:
        members, new_token = parse_multistatus(
            self._report(session, self.calendar_url, SYNC_COLLECTION.format(token=token), "0")
        )
        return members, new_token or ""

    def multiget(self, session: requests.Session, hrefs: list[str]) -> list[Member]:
        body = MULTIGET.format(hrefs="".join(f"<D:href>{h}</D:href>" for h in hrefs))
        return parse_multistatus(self._report(session, self.calendar_url, body, "1"))[0]

    def sync_token(self) -> str:
        with self.session() as session:
            response = session.request(
                "PROPFIND", self.calendar_url, data=PROPFIND_TOKEN, headers={**XML_HEADERS, "Depth": "0"}, timeout=60
            )
        if response.status_code != 207:
            raise BenchError(f"PROPFIND sync-token answered {response.status_code}")
        token = etree.fromstring(response.content, XML_PARSER).findtext(f".//{{{DAV}}}sync-token")
        if not token:
            raise BenchError("the calendar has no DAV:sync-token")
        return token

    def put(self, session: requests.Session, spec: EventSpec) -> None:
        response = session.put(
            self.calendar_url + spec.name, data=render(spec).encode(),
            headers={"Content-Type": "text/calendar; charset=utf-8"}, timeout=60,
        )  # fmt: skip
        if response.status_code not in (201, 204):
            raise BenchError(f"PUT {spec.name} answered {response.status_code}: {response.text[:300]}")

    def delete(self, session: requests.Session, spec: EventSpec) -> None:
        response = session.delete(self.calendar_url + spec.name, timeout=60)
        if response.status_code not in (200, 204):
            raise BenchError(f"DELETE {spec.name} answered {response.status_code}")

    def apply(self, changes: ChangeSet) -> None:
        with self.session() as session:
            for _, modified in changes.modified:
                self.put(session, modified)
            self.put(session, changes.added)
            self.delete(session, changes.deleted)

    def undo(self, changes: ChangeSet) -> None:
        with self.session() as session:
            for original, _ in changes.modified:
                self.put(session, original)
            self.delete(session, changes.added)
            self.put(session, changes.deleted)


def baseline_first(raw: RawDAV, expected: int) -> float:
    """One calendar-query REPORT of everything, every resource parsed."""
    gc.collect()
    start = time.perf_counter()
    with raw.session() as session:
        members = raw.calendar_query(session)
    calendars = [Calendar.from_ical(m.data) for m in members if m.data]
    elapsed = time.perf_counter() - start
    if len(calendars) != expected:
        raise BenchError(f"the calendar-query gave {len(calendars)} resources, not {expected}")
    return elapsed


def baseline_incremental(raw: RawDAV, token: str, expect_changed: int, expect_gone: int) -> float:
    """sync-collection with the previous token + one multiget of the changed hrefs."""
    gc.collect()
    start = time.perf_counter()
    with raw.session() as session:
        members, _ = raw.sync_collection(session, token)
        changed = [m.href for m in members if not m.gone]
        fetched = raw.multiget(session, changed) if changed else []
    calendars = [Calendar.from_ical(m.data) for m in fetched if m.data]
    elapsed = time.perf_counter() - start
    gone = sum(1 for m in members if m.gone)
    if len(calendars) != expect_changed or gone != expect_gone:
        raise BenchError(f"sync-collection gave {len(calendars)} changed / {gone} gone, not {expect_changed}/{expect_gone}")
    return elapsed


# --- the Radicale data set ----------------------------------------------------------


@dataclass
class DataSet:
    server: Any  # RadicaleServer
    user: str
    password: str
    calendar_path: str
    specs: list[EventSpec]
    changes: ChangeSet
    load_seconds: float = 0.0
    warmup_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def raw(self) -> RawDAV:
        return RawDAV(self.server.base_url, self.calendar_path, (self.user, self.password))

    @property
    def count(self) -> int:
        return len(self.specs)


def load_radicale(server: Any, events: int, recurring: int) -> DataSet:
    password = "abcd-efgh-ijkl-mnop"
    server.add_user(APPLE_ID, password)
    calendar_path = server.create_calendar(APPLE_ID, password, CALENDAR_SLUG, "Privat", color="#1BADF8FF")
    folder = server.workdir / "collections" / "collection-root" / APPLE_ID / CALENDAR_SLUG
    if not (folder / ".Radicale.props").is_file():
        raise BenchError(f"Radicale's storage folder for the calendar is not where expected: {folder}")
    specs = generate(events, recurring)
    start = time.perf_counter()
    for spec in specs:
        (folder / spec.name).write_bytes(render(spec).encode("utf-8"))
    data = DataSet(server, APPLE_ID, password, calendar_path, specs, change_set(specs))
    data.load_seconds = time.perf_counter() - start
    raw = data.raw
    # Radicale reads each file and builds its item cache on the first REPORT, and its
    # sync-token state on the first sync-collection: do both before timing anything.
    start = time.perf_counter()
    with raw.session() as session:
        members = raw.calendar_query(session)
    data.warmup_seconds["calendar-query (builds Radicale's item cache)"] = time.perf_counter() - start
    if sum(1 for m in members if m.data) != events:
        raise BenchError(f"Radicale serves {len(members)} of the {events} resources written (see its log)")
    start = time.perf_counter()
    with raw.session() as session:
        session.request("REPORT", raw.calendar_url, data=SYNC_COLLECTION.format(token="").encode(),
                        headers={**XML_HEADERS, "Depth": "0"}, timeout=300)  # fmt: skip
    data.warmup_seconds["sync-collection without token"] = time.perf_counter() - start
    baseline_first(raw, events)  # and one more, untimed, so the next ones are alike
    return data


# --- the service --------------------------------------------------------------------


@dataclass
class Service:
    container: Any
    account_id: str

    def sync(self) -> Any:
        report = self.container.scheduler.sync_now(self.account_id, wait=30)
        if report.errors or report.calendars_failed or report.calendars_synced != 1:
            raise BenchError(f"the service's sync failed: {report}")
        return report

    def settle(self, position: int | None = None, timeout: float = 600.0) -> float:
        """Waits until the projection follower has processed the log; returns seconds."""
        start = time.perf_counter()
        target = self.container.app.head_position() if position is None else position
        if not self.container.follower.wait_for(target, timeout):
            raise BenchError("the projection follower did not catch up")
        return time.perf_counter() - start

    def known(self) -> dict[str, tuple[str, str]]:
        """href -> (uid, etag) of the blocked slots."""
        schedule = self.container.schedules.schedule(SUB_ACCOUNT, USER_ID)
        return {
            href.rsplit("/", 1)[-1]: (k.uid, k.etag)
            for c in schedule.resources for href, k in schedule.known(c).items() if k.uid
        }  # fmt: skip


PARSE_PROCESSES = 0  # set by main: the service's parser processes (its default unless --parse-processes)


@contextmanager
def service(store: str, caldav_url: str, data: DataSet) -> Iterator[Service]:
    """A fresh service store with the account connected and its calendar blocking."""
    from calendar_domain.connection_service import ConnectAccount
    from server.bootstrap import bootstrap
    from tests.support.stores import settings_for

    with tempfile.TemporaryDirectory(prefix="bench-sync-store-") as directory:
        with settings_for(
            store, Path(directory), caldav_url=caldav_url, caldav_timeout=300, sync_enabled=False,
            parse_processes=PARSE_PROCESSES,
        ) as settings:
            container = bootstrap(settings)
            container.start()
            try:
                connection = container.connections.connect(
                    ConnectAccount(SUB_ACCOUNT, USER_ID, data.user, data.password)
                ).connection
                calendars = connection.calendar_list()
                if len(calendars) != 1:
                    raise BenchError(f"expected one calendar, found {len(calendars)}")
                container.configurations.add_conflict(SUB_ACCOUNT, USER_ID, str(connection.id), calendars[0].calendar_id)
                svc = Service(container, str(connection.account_id))
                svc.settle()
                yield svc
            finally:
                container.close()


def check_first(svc: Service, data: DataSet) -> None:
    known = svc.known()
    if len(known) != data.count:
        raise BenchError(f"the service knows {len(known)} resources after the first sync, not {data.count}")


def check_incremental(svc: Service, data: DataSet, before: dict[str, tuple[str, str]]) -> None:
    known = svc.known()
    changes = data.changes
    if changes.deleted.name in known or changes.added.name not in known or len(known) != data.count:
        raise BenchError("the incremental sync did not record the addition and the deletion")
    for original, _ in changes.modified:
        if known[original.name][1] == before[original.name][1]:
            raise BenchError(f"the incremental sync missed the change of {original.name}")


class CpuMeter:
    """CPU that processes other than this bench, its waited-for children, Radicale and
    PostgreSQL used meanwhile, in cores (from /proc; 0 where there is none): other
    people's tests or builds on the machine show up here and make figures unreliable.
    (PostgreSQL backends that exit meanwhile, or serve someone else, are not told apart.)"""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _busy(self) -> int:
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except OSError:
            return 0
        values = [int(v) for v in fields]
        return sum(values) - values[3] - (values[4] if len(values) > 4 else 0)  # minus idle, iowait

    def _own(self) -> int:
        """This process with its waited-for children, Radicale, and PostgreSQL's
        processes (their work for the service's store is part of the service's)."""
        pids = [("self", True), (str(self.server_pid or ""), False)]
        for entry in Path("/proc").glob("[0-9]*/comm"):
            try:
                if entry.read_text().strip().startswith("postgres"):
                    pids.append((entry.parent.name, False))
            except OSError:
                continue
        total = 0
        for pid, with_children in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            total += int(stat[11]) + int(stat[12]) + (int(stat[13]) + int(stat[14]) if with_children else 0)
        return total

    def start(self) -> tuple[float, int, int]:
        return time.perf_counter(), self._busy(), self._own()

    def foreign_cores(self, mark: tuple[float, int, int]) -> float:
        elapsed = time.perf_counter() - mark[0]
        foreign = (self._busy() - mark[1]) - (self._own() - mark[2])
        return max(0.0, foreign / self.ticks / elapsed) if elapsed > 0 else 0.0


def server_pid(server: Any) -> int | None:
    process = getattr(server, "_process", None)
    return process.pid if process is not None else None


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed_runs(data: DataSet, store: str, runs: int) -> dict[str, Any]:
    raw = data.raw
    meter = CpuMeter(server_pid(data.server))
    out: dict[str, list[float]] = defaultdict(list)
    for run in range(runs):
        service_first_first = run % 2 == 1
        mark = meter.start()
        with service(store, data.server.base_url, data) as svc:
            if not service_first_first:
                out["baseline_first_s"].append(baseline_first(raw, data.count))
            gc.collect()
            start = time.perf_counter()
            report = svc.sync()
            out["service_first_s"].append(time.perf_counter() - start)
            out["service_first_projection_catch_up_s"].append(svc.settle(report.position))
            check_first(svc, data)
            if service_first_first:
                out["baseline_first_s"].append(baseline_first(raw, data.count))
            before = svc.known()
            token = raw.sync_token()
            raw.apply(data.changes)
            try:
                if not service_first_first:
                    out["baseline_incremental_s"].append(baseline_incremental(raw, token, 9, 1))
                gc.collect()
                start = time.perf_counter()
                report = svc.sync()
                out["service_incremental_s"].append(time.perf_counter() - start)
                out["service_incremental_projection_catch_up_s"].append(svc.settle(report.position))
                check_incremental(svc, data, before)
                if service_first_first:
                    out["baseline_incremental_s"].append(baseline_incremental(raw, token, 9, 1))
            finally:
                raw.undo(data.changes)
        out["foreign_cpu_cores"].append(meter.foreign_cores(mark))
        print(
            f"  run {run + 1}/{runs}: first sync service {out['service_first_s'][-1]:.2f} s, "
            f"baseline {out['baseline_first_s'][-1]:.2f} s | incremental service "
            f"{out['service_incremental_s'][-1] * 1000:.0f} ms, baseline {out['baseline_incremental_s'][-1] * 1000:.0f} ms"
            f" | others used {out['foreign_cpu_cores'][-1]:.2f} cores meanwhile",
            flush=True,
        )
    out["ratio_first"] = [s / b for s, b in zip(out["service_first_s"], out["baseline_first_s"])]
    out["ratio_incremental"] = [s / b for s, b in zip(out["service_incremental_s"], out["baseline_incremental_s"])]
    return {"runs": dict(out), "medians": {k: median(v) for k, v in out.items()}}


def describe_request(request: Any) -> str:
    body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else str(request.body or "")
    for kind in ("sync-collection", "calendar-multiget", "calendar-query", "current-user-principal", "calendar-home-set"):
        if kind in body:
            return f"{request.method} {kind}"
    return str(request.method)


def counted_pass(data: DataSet, store: str) -> dict[str, Any]:
    """The service's HTTP requests, counted through the FaultProxy (one pass, untimed)."""
    from tests.support.fault_proxy import FaultProxy

    raw = data.raw
    with FaultProxy.for_server(data.server) as proxy:
        with service(store, proxy.url, data) as svc:
            proxy.reset_log()
            svc.sync()
            first = [describe_request(r) for r in proxy.requests]
            svc.settle()
            raw.apply(data.changes)
            try:
                proxy.reset_log()
                svc.sync()
                incremental = [describe_request(r) for r in proxy.requests]
                statuses = [r.status for r in proxy.requests]
            finally:
                raw.undo(data.changes)
            svc.sync()  # back to the same state as the server (not counted)
    return {
        "first_sync_requests": len(first),
        "first_sync_by_kind": dict(sorted(_count(first).items())),
        "incremental_requests": len(incremental),
        "incremental_sequence": incremental,
        "incremental_statuses": statuses,
    }


def _count(items: list[str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item] += 1
    return counts


# --- (c) memory, in child processes -------------------------------------------------


def vm_status(field_name: str, pid: int | str = "self") -> int:
    """A /proc/<pid>/status figure (VmRSS, VmHWM) in bytes; 0 where there is none."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def peak_rss() -> int:
    import resource

    hwm = vm_status("VmHWM")
    return hwm or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_main(spec_path: str) -> int:
    global PARSE_PROCESSES
    spec = json.loads(Path(spec_path).read_text())
    PARSE_PROCESSES = spec["parse_processes"]
    specs = generate(spec["events"], spec["recurring"])
    data = DataSet(None, spec["user"], spec["password"], spec["calendar_path"], specs, change_set(specs))
    result: dict[str, Any] = {"mode": spec["mode"]}
    if spec["mode"] == "baseline":
        raw = RawDAV(spec["base_url"], spec["calendar_path"], (spec["user"], spec["password"]))
        result["rss_before"] = vm_status("VmRSS")
        result["seconds"] = baseline_first(raw, data.count)
        result["peak_rss"] = peak_rss()
    else:
        with service(spec["store"], spec["base_url"], data) as svc:
            gc.collect()
            result["rss_before"] = vm_status("VmRSS")
            result["peak_rss_before"] = peak_rss()
            if spec["mode"] == "service-tracemalloc":
                tracemalloc.start()
            start = time.perf_counter()
            svc.sync()
            result["seconds"] = time.perf_counter() - start
            if spec["mode"] == "service-tracemalloc":
                result["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            result["peak_rss"] = peak_rss()
            result["parser_peak_rss"] = [
                vm_status("VmHWM", pid) for pid in svc.container.parser.worker_pids()
            ]
            check_first(svc, data)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def memory_children(data: DataSet, store: str, recurring: int, tracemalloc_too: bool) -> dict[str, Any]:
    modes = ["service", "baseline"] + (["service-tracemalloc"] if tracemalloc_too else [])
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sync-child-") as directory:
        for mode in modes:
            spec = {
                "mode": mode, "store": store, "base_url": data.server.base_url, "user": data.user,
                "password": data.password, "calendar_path": data.calendar_path,
                "events": data.count, "recurring": recurring, "parse_processes": PARSE_PROCESSES,
            }  # fmt: skip
            path = Path(directory) / f"{mode}.json"
            path.write_text(json.dumps(spec))
            done = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", str(path)],
                capture_output=True, text=True, timeout=1800, cwd=ROOT,
            )  # fmt: skip
            lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if done.returncode != 0 or not lines:
                raise BenchError(f"the {mode} child failed ({done.returncode}):\n{done.stderr[-3000:]}")
            out[mode] = json.loads(lines[-1][len("RESULT "):])
            workers = out[mode].get("parser_peak_rss") or []
            extra = f" (+ {len(workers)} parser processes, peak {sum(workers) / MiB:.0f} MiB together)" if workers else ""
            print(f"  {mode}: peak RSS {out[mode]['peak_rss'] / MiB:.0f} MiB{extra}", flush=True)
    return out


# --- (d) vdirsyncer -----------------------------------------------------------------


def vdirsyncer_path() -> Path | None:
    candidate = Path(sys.executable).with_name("vdirsyncer")
    if candidate.exists():
        return candidate
    found = shutil.which("vdirsyncer")
    return Path(found) if found else None


def vdirsyncer_version(program: Path) -> str:
    done = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or done.stderr.strip()


def vdirsyncer_runs(data: DataSet, program: Path, runs: int) -> dict[str, Any]:
    raw = data.raw
    meter = CpuMeter(server_pid(data.server))
    out: dict[str, list[float]] = defaultdict(list)
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([str(program), "--version"], capture_output=True, check=True, timeout=60)
        out["startup_s"].append(time.perf_counter() - start)
    for run in range(runs):
        mark = meter.start()
        with tempfile.TemporaryDirectory(prefix="bench-sync-vdirsyncer-") as directory:
            base = Path(directory)
            local = base / "local"
            local.mkdir()
            config = base / "config"
            config.write_text(
                "[general]\n"
                f'status_path = "{base / "status"}/"\n\n'
                "[pair bench]\n"
                'a = "bench_remote"\nb = "bench_local"\n'
                "collections = null\n"
                'conflict_resolution = "a wins"\n\n'
                "[storage bench_remote]\n"
                'type = "caldav"\n'
                f'url = "{raw.calendar_url}"\n'
                f'username = "{data.user}"\npassword = "{data.password}"\n\n'
                "[storage bench_local]\n"
                'type = "filesystem"\n'
                f'path = "{local}/"\nfileext = ".ics"\n',
                encoding="utf-8",
            )
            env = {**os.environ, "VDIRSYNCER_CONFIG": str(config)}

            def run_command(*args: str) -> float:
                gc.collect()
                start = time.perf_counter()
                done = subprocess.run(
                    [str(program), *args], capture_output=True, text=True, env=env, timeout=1800, input=""
                )
                elapsed = time.perf_counter() - start
                if done.returncode != 0:
                    raise BenchError(f"vdirsyncer {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
                return elapsed

            out["discover_s"].append(run_command("discover"))
            out["first_sync_s"].append(run_command("sync"))
            files = {p.name for p in local.glob("*.ics")}
            if len(files) != data.count:
                raise BenchError(f"vdirsyncer wrote {len(files)} files, not {data.count}")
            raw.apply(data.changes)
            try:
                out["incremental_sync_s"].append(run_command("sync"))
                files = {p.name for p in local.glob("*.ics")}
                content = {p.name: p.read_text(encoding="utf-8") for p in local.glob("*.ics")}
                if len(files) != data.count or data.changes.deleted.name in files or data.changes.added.name not in files:
                    raise BenchError("vdirsyncer's incremental sync did not add and delete as expected")
                if not all("(verschoben)" in content.get(orig.name, "") for orig, _ in data.changes.modified):
                    raise BenchError("vdirsyncer's incremental sync missed a modification")
            finally:
                raw.undo(data.changes)
        out["foreign_cpu_cores"].append(meter.foreign_cores(mark))
        print(
            f"  run {run + 1}/{runs}: discover {out['discover_s'][-1]:.2f} s, first sync "
            f"{out['first_sync_s'][-1]:.2f} s, incremental {out['incremental_sync_s'][-1]:.2f} s"
            f" | others used {out['foreign_cpu_cores'][-1]:.2f} cores meanwhile",
            flush=True,
        )
    return {"runs": dict(out), "medians": {k: median(v) for k, v in out.items()}}


# --- profile ------------------------------------------------------------------------

AREAS = [
    ("adapters/icloud/ical", "service: parse_resource (ical.py, ical_expand.py)"),
    ("adapters/icloud/", "service: other CalDAV adapter code"),
    ("calendar_domain/", "service: domain (schedule, services)"),
    ("adapters/persistence/", "service: persistence adapters"),
    ("site-packages/icalendar/", "icalendar"),
    ("recurring_ical_events", "recurrence libs (recurring-ical-events, dateutil, x-wr-timezone)"),
    ("dateutil", "recurrence libs (recurring-ical-events, dateutil, x-wr-timezone)"),
    ("x_wr_timezone", "recurrence libs (recurring-ical-events, dateutil, x-wr-timezone)"),
    ("site-packages/caldav/", "caldav library"),
    ("niquests", "HTTP client (niquests/urllib3)"),
    ("urllib3", "HTTP client (niquests/urllib3)"),
    ("eventsourcing", "eventsourcing (mapper, recorder)"),
    ("cryptography", "cipher"),
    ("psycopg", "database driver"),
    ("sqlite3", "database driver"),
]


def _area(func: tuple[str, int, str]) -> str:
    filename, _, name = func
    if filename == "~":  # a built-in: classify by its name
        if any(word in name for word in ("recv", "readinto", "poll", "select", "_ssl", "socket")):
            return "waiting on the network (Radicale's answer)"
        if "lxml" in name:
            return "lxml (C)"
        if "sqlite3" in name or "psycopg" in name or "pq" in name:
            return "database driver"
        if "zlib" in name or "compress" in name:
            return "compression (zlib)"
        if "acquire" in name or "wait" in name:
            return "waiting on locks/threads"
        return "other built-ins"
    for needle, area in AREAS:
        if needle in filename:
            return area
    if "lxml" in filename:
        return "lxml (C)"
    return "stdlib / other"


@contextmanager
def phase_timers() -> Iterator[dict[str, float]]:
    """Wall-clock time spent in the sync's phases, by wrappers installed for the
    duration (the bench's process only; nothing in src/ changes)."""
    from caldav.collection import Calendar as DAVCalendar

    from adapters.icloud import parse_pool
    from adapters.icloud import sync as sync_module
    from calendar_domain.schedule_service import ScheduleService

    spent: dict[str, float] = defaultdict(float)

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start

        return wrapper

    patches = [
        (sync_module.CalendarFetcher, "_sync_collection", "listing: sync-collection REPORT (a first sync's brings the data)"),
        (DAVCalendar, "_multiget", "fetching: calendar-multiget REPORTs (HTTP + XML, in a thread)"),
        (parse_pool.ResourceParser, "parse", f"fetching + parsing, side by side ({PARSE_PROCESSES} parser processes)"),
        (ScheduleService, "record_changes", "recording: schedule.apply + save (events, snapshots)"),
    ]
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in patches]
    try:
        for owner, attr, name in patches:
            setattr(owner, attr, timed(name, getattr(owner, attr)))
        yield spent
    finally:
        for owner, attr, original in originals:
            setattr(owner, attr, original)


def phases_pass(data: DataSet, store: str) -> dict[str, Any]:
    raw = data.raw
    out: dict[str, Any] = {}
    with service(store, data.server.base_url, data) as svc:
        for label in ("first", "incremental"):
            if label == "incremental":
                raw.apply(data.changes)
            try:
                with phase_timers() as spent:
                    gc.collect()
                    start = time.perf_counter()
                    report = svc.sync()
                    total = time.perf_counter() - start
            finally:
                if label == "incremental":
                    raw.undo(data.changes)
            svc.settle(report.position)
            phases = dict(spent)
            outer = sum(seconds for name, seconds in spent.items() if "in a thread" not in name)  # not nested
            phases["other (sync state, schedule load, diff, ...)"] = total - outer
            out[label] = {"total_s": total, "phases_s": phases}
            print(f"\n  phases of the {label} sync (wall clock, no profiler): {total:.2f} s")
            for name, seconds in phases.items():
                print(f"    {seconds:7.2f} s  {seconds / total * 100:5.1f} %  {name}")
    return out


def profile_pass(data: DataSet, store: str, results_dir: Path, stamp: str) -> dict[str, Any]:
    raw = data.raw
    out: dict[str, Any] = {"phases": phases_pass(data, store)}
    with service(store, data.server.base_url, data) as svc:
        for label in ("first", "incremental"):
            if label == "incremental":
                raw.apply(data.changes)
            try:
                profiler = cProfile.Profile()
                gc.collect()
                start = time.perf_counter()
                profiler.enable()
                report = svc.sync()
                profiler.disable()
                elapsed = time.perf_counter() - start
            finally:
                if label == "incremental":
                    raw.undo(data.changes)
            svc.settle(report.position)
            path = results_dir / f"sync-profile-{label}-{store}-{stamp}.pstats"
            profiler.dump_stats(str(path))
            stats = pstats.Stats(profiler)
            total = stats.total_tt  # type: ignore[attr-defined]
            table = stats.stats  # type: ignore[attr-defined]
            areas: dict[str, float] = defaultdict(float)
            for func, (_, _, tt, _, _) in table.items():
                areas[_area(func)] += tt
            top_self = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:15]
            top_cum = sorted(
                ((f, s) for f, s in table.items() if "/src/" in f[0] or "site-packages" in f[0]),
                key=lambda item: item[1][3], reverse=True,
            )[:20]  # fmt: skip
            name = lambda f: f"{Path(f[0]).name}:{f[1]}({f[2]})" if f[0] != "~" else f[2]  # noqa: E731
            out[label] = {
                "wall_s": elapsed,
                "profiled_s": total,
                "pstats": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
                "areas": {a: round(v / total, 4) for a, v in sorted(areas.items(), key=lambda x: -x[1])},
                "top_self": [(name(f), round(s[2] / total, 4), s[1]) for f, s in top_self],
                "top_cumulative": [(name(f), round(s[3] / total, 4), s[1]) for f, s in top_cum],
            }
            print(f"\n  cProfile of the {label} sync: {elapsed:.2f} s wall under the profiler ({path.name})")
            print("  share of time by area (self time):")
            for area, share in list(out[label]["areas"].items())[:12]:
                print(f"    {share * 100:5.1f} %  {area}")
            print("  top functions by self time:")
            for fn, share, calls in out[label]["top_self"][:12]:
                print(f"    {share * 100:5.1f} %  {calls:>8} calls  {fn}")
            print("  top functions by cumulative time:")
            for fn, share, calls in out[label]["top_cumulative"][:14]:
                print(f"    {share * 100:5.1f} %  {calls:>8} calls  {fn}")
    return out


# --- main ---------------------------------------------------------------------------


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be positive")
    return number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=positive, default=5000, help="resources in the calendar (default 5000)")
    parser.add_argument("--recurring", type=int, default=None, help="of which recurring series (default 6%%)")
    parser.add_argument("--runs", type=positive, default=3, help="runs per figure; medians are reported (default 3)")
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--no-vdirsyncer", action="store_true", help="skip (d)")
    parser.add_argument("--no-memory", action="store_true", help="skip (c)")
    parser.add_argument("--no-tracemalloc", action="store_true", help="(c) without the tracemalloc child")
    parser.add_argument(
        "--parse-processes", type=int, default=None,
        help="the service's parser processes (default: the service's own default, CALSYNC_PARSE_PROCESSES)",
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile one first and one incremental sync")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def verdict(met: bool) -> str:
    return "goal met" if met else "goal MISSED"


def main(argv: list[str] | None = None) -> int:
    global PARSE_PROCESSES
    args = parse_args(argv)
    if args.child:
        return child_main(args.child)
    from server.config import Settings

    PARSE_PROCESSES = Settings.from_env().parse_processes if args.parse_processes is None else args.parse_processes
    print(f"service parser processes: {PARSE_PROCESSES}")
    from tests.support.caldav_servers import RadicaleServer

    recurring = args.recurring if args.recurring is not None else round(args.events * 0.06)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "bench": "sync",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "settings": {"events": args.events, "recurring": recurring, "runs": args.runs, "store": args.store},
    }
    print(f"sync bench: {args.events} events ({recurring} recurring), {args.runs} runs, store {args.store}", flush=True)
    try:
        with RadicaleServer() as server:
            data = load_radicale(server, args.events, recurring)
            sizes = [len(render(s).encode()) for s in data.specs]
            result["data"] = {
                "resources": data.count,
                "bytes_total": sum(sizes),
                "bytes_median": statistics.median(sizes),
                "series_with_exdate": sum(1 for s in data.specs if s.exdates),
                "series_with_overrides": sum(1 for s in data.specs if s.overrides),
                "write_seconds": round(data.load_seconds, 3),
                "radicale_warmup_seconds": {k: round(v, 3) for k, v in data.warmup_seconds.items()},
            }
            print(
                f"Radicale loaded: {data.count} resources, {sum(sizes) / MiB:.1f} MiB, written in "
                f"{data.load_seconds:.1f} s; warm-up: "
                + ", ".join(f"{k} {v:.1f} s" for k, v in data.warmup_seconds.items()),
                flush=True,
            )
            print("(a)+(b) timed runs:", flush=True)
            result["timed"] = timed_runs(data, args.store, args.runs)
            print("(b) counting the service's requests through the FaultProxy:", flush=True)
            result["requests"] = counted_pass(data, args.store)
            print(f"  first sync {result['requests']['first_sync_by_kind']}; incremental "
                  f"{result['requests']['incremental_sequence']}", flush=True)  # fmt: skip
            if not args.no_memory:
                print("(c) memory, in child processes:", flush=True)
                result["memory"] = memory_children(data, args.store, recurring, not args.no_tracemalloc)
            program = None if args.no_vdirsyncer else vdirsyncer_path()
            if program is not None:
                print(f"(d) {vdirsyncer_version(program)}:", flush=True)
                result["vdirsyncer"] = {"version": vdirsyncer_version(program), **vdirsyncer_runs(data, program, args.runs)}
            elif not args.no_vdirsyncer:
                print("(d) vdirsyncer is not installed: .venv/bin/pip install vdirsyncer", flush=True)
            if args.profile:
                result["profile"] = profile_pass(data, args.store, args.results_dir, stamp)
    except BenchError as failure:
        print(f"bench failed: {failure}", file=sys.stderr)
        return 1
    summary(result)
    path = args.results_dir / f"sync-{args.store}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


def summary(result: dict[str, Any]) -> None:
    m = result["timed"]["medians"]
    req = result["requests"]
    goals: dict[str, bool] = {}
    first_ratio = m["service_first_s"] / m["baseline_first_s"]
    incr_ratio = m["service_incremental_s"] / m["baseline_incremental_s"]
    goals["(a) first sync <= 1.5x baseline"] = first_ratio <= GOAL_FIRST
    goals["(b) incremental <= 3 requests"] = req["incremental_requests"] <= GOAL_REQUESTS
    goals["(b) incremental <= 2x baseline"] = incr_ratio <= GOAL_INCREMENTAL
    s = result["settings"]
    print(f"\n=== summary: {s['events']} events ({s['recurring']} recurring), store {s['store']}, "
          f"medians of {s['runs']} runs ===")  # fmt: skip
    print(f"{'':34}{'service':>12}{'baseline':>12}{'ratio':>9}  goal")
    print(f"{'(a) first full sync':34}{m['service_first_s']:>10.2f} s{m['baseline_first_s']:>10.2f} s"
          f"{first_ratio:>8.2f}x  <= {GOAL_FIRST}x: {verdict(first_ratio <= GOAL_FIRST)}")  # fmt: skip
    print(f"{'    per-run ratios (median)':34}{'':24}" + " ".join(f"{r:.2f}" for r in result["timed"]["runs"]["ratio_first"])
          + f" ({m['ratio_first']:.2f})")  # fmt: skip
    print(f"{'(b) incremental sync (10 changes)':34}{m['service_incremental_s'] * 1000:>9.0f} ms"
          f"{m['baseline_incremental_s'] * 1000:>9.0f} ms{incr_ratio:>8.2f}x  <= {GOAL_INCREMENTAL}x: "
          f"{verdict(incr_ratio <= GOAL_INCREMENTAL)}")  # fmt: skip
    print(f"{'    per-run ratios (median)':34}{'':24}"
          + " ".join(f"{r:.2f}" for r in result["timed"]["runs"]["ratio_incremental"])
          + f" ({m['ratio_incremental']:.2f})")  # fmt: skip
    print(f"{'(b) HTTP requests, incremental':34}{req['incremental_requests']:>12}{2:>12}{'':>9}  "
          f"<= {GOAL_REQUESTS}: {verdict(req['incremental_requests'] <= GOAL_REQUESTS)}")  # fmt: skip
    print(f"{'    HTTP requests, first sync':34}{req['first_sync_requests']:>12}{1:>12}")
    print(f"{'    projection catch-up after (a)':34}{m['service_first_projection_catch_up_s']:>10.2f} s  (not counted)")
    if "memory" in result:
        mem = result["memory"]
        svc, base = mem["service"], mem["baseline"]
        line = (f"{'(c) peak RSS during (a)':34}{svc['peak_rss'] / MiB:>8.0f} MiB{base['peak_rss'] / MiB:>8.0f} MiB"
                f"   service RSS before the sync {svc['rss_before'] / MiB:.0f} MiB")  # fmt: skip
        print(line)
        if "service-tracemalloc" in mem:
            traced = mem["service-tracemalloc"]
            print(f"{'    tracemalloc peak of the sync':34}{traced['tracemalloc_peak'] / MiB:>8.0f} MiB"
                  f"   (sync took {traced['seconds']:.1f} s under tracemalloc)")  # fmt: skip
    if "vdirsyncer" in result:
        v = result["vdirsyncer"]["medians"]
        faster_first = m["service_first_s"] < v["first_sync_s"]
        faster_incr = m["service_incremental_s"] < v["incremental_sync_s"]
        goals["(d) service faster than vdirsyncer, first sync"] = faster_first
        goals["(d) service faster than vdirsyncer, incremental"] = faster_incr
        print(f"{'':34}{'service':>12}{'vdirsyncer':>12}")
        print(f"{'(d) first sync':34}{m['service_first_s']:>10.2f} s{v['first_sync_s']:>10.2f} s"
              f"{'':9}  service faster: {verdict(faster_first)}")  # fmt: skip
        print(f"{'(d) incremental sync':34}{m['service_incremental_s']:>10.2f} s{v['incremental_sync_s']:>10.2f} s"
              f"{'':9}  service faster: {verdict(faster_incr)}")  # fmt: skip
        print(f"{'    vdirsyncer discover / start-up':34}{'':12}{v['discover_s']:>10.2f} s / {v['startup_s']:.2f} s"
              "  (start-up is inside its sync times)")  # fmt: skip
    busy = [m.get("foreign_cpu_cores", 0.0)]
    if "vdirsyncer" in result:
        busy.append(result["vdirsyncer"]["medians"].get("foreign_cpu_cores", 0.0))
    if max(busy) > 0.25:
        print(f"WARNING: other processes used {max(busy):.2f} cores (median) during the runs: "
              "the figures are disturbed, run again on a quiet machine")  # fmt: skip
    result["goals"] = goals
    missed = [g for g, ok in goals.items() if not ok]
    print("goals: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))


if __name__ == "__main__":
    sys.exit(main())
