"""Per-resource cost of ``parse_resource`` against a plain ``Calendar.from_ical``.

Generates realistic iCloud-shaped resources - mostly single timed events in
Europe/Berlin with the VTIMEZONE Apple writes, some all-day events, about 5 %
weekly/daily RRULE series (a few EXDATEs, one override; COUNT, UNTIL or open-ended),
some with X-APPLE properties, VALARMs and ATTENDEEs - and prints, for singles and
for series separately, the median time per resource of ``Calendar.from_ical`` and
of ``parse_resource``, and their ratio.

Goal: singles within ~1.5x of from_ical, series within ~5 ms.

Run from the repository root:

    .venv/bin/python bench/ical_parse.py             # 5,000 resources, 5 rounds
    .venv/bin/python bench/ical_parse.py --count 1000 --rounds 3
    .venv/bin/python bench/ical_parse.py --profile   # cProfile of parse_resource
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from icalendar import Calendar  # noqa: E402

from adapters.icloud.ical import parse_resource  # noqa: E402

DEFAULT_TZ = "Europe/Berlin"

VTIMEZONE_BERLIN = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
DTSTART:19810329T020000
TZNAME:MESZ
TZOFFSETTO:+0200
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
DTSTART:19961027T030000
TZNAME:MEZ
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
"""

HEADER = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Apple Inc.//macOS 15.3//EN
CALSCALE:GREGORIAN
"""

APPLE_EXTRAS = """X-APPLE-CREATOR-IDENTITY:com.apple.mobilecal
X-APPLE-CREATOR-TEAM-IDENTITY:0000000000
X-APPLE-STRUCTURED-LOCATION;VALUE=URI;X-ADDRESS="Alexanderplatz 1\\\\n10178 B
 erlin\\\\nGermany";X-APPLE-MAPKIT-HANDLE=CAESvAEIrk0aEgkAAAAAAEJKQBEAAAAAANk
 qQCIXCgdHZXJtYW55EgJERRoGQmVybGluKgxBbGV4YW5kZXJwbGF0ejIeQWxleGFuZGVycGxhd
 HogMQ==;X-APPLE-RADIUS=141.1781;X-APPLE-REFERENCEFRAME=1;X-TITLE=Alexander
 platz:geo:52.521918,13.413215
X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC
"""

PEOPLE = """ORGANIZER;CN=Max Mustermann;EMAIL=max@example.com;SCHEDULE-STATUS=1.2:mailt
 o:max@example.com
ATTENDEE;CN=Anna Beispiel;CUTYPE=INDIVIDUAL;EMAIL=anna@example.com;PARTSTAT
 =ACCEPTED;ROLE=REQ-PARTICIPANT;SCHEDULE-STATUS=2.0:mailto:anna@example.com
ATTENDEE;CN=Max Mustermann;CUTYPE=INDIVIDUAL;EMAIL=max@example.com;PARTSTAT
 =ACCEPTED;ROLE=CHAIR:mailto:max@example.com
"""

ALARMS = """BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Reminder
TRIGGER:-PT15M
UID:{uid}-A1
X-WR-ALARMUID:{uid}-A1
END:VALARM
BEGIN:VALARM
ACTION:NONE
TRIGGER;VALUE=DATE-TIME:19760401T005545Z
X-APPLE-DEFAULT-ALARM:TRUE
X-WR-ALARMUID:{uid}-A2
END:VALARM
"""

SUMMARIES = ("Team sync", "Coffee with Anna", "Dentist", "Quarterly review", "1:1", "Workshop")


def _local(dt: datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%S")


def _extras(rng: random.Random, uid: str) -> str:
    text = ""
    if rng.random() < 0.4:
        text += APPLE_EXTRAS
    if rng.random() < 0.3:
        text += PEOPLE
    if rng.random() < 0.5:
        text += ALARMS.format(uid=uid)
    return text


def _common(rng: random.Random, uid: str) -> str:
    summary = rng.choice(SUMMARIES)
    location = "LOCATION:Room %d\n" % rng.randint(1, 9) if rng.random() < 0.5 else ""
    return (
        f"UID:{uid}\nDTSTAMP:20260101T120000Z\nCREATED:20251201T081512Z\n"
        f"LAST-MODIFIED:20251201T081545Z\nSEQUENCE:0\nSUMMARY:{summary}\n{location}"
        "TRANSP:OPAQUE\n"
    )


def _wrap(body: str, with_tz: bool = True) -> bytes:
    text = HEADER + (VTIMEZONE_BERLIN if with_tz else "") + body + "END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def single_timed(rng: random.Random, i: int) -> bytes:
    uid = f"{i:08X}-3C2D-4E8B-9F0A-1D2C3B4A5E6F"
    start = datetime(2025, 1, 1, 7) + timedelta(days=rng.randint(0, 730), minutes=15 * rng.randint(0, 44))
    end = start + timedelta(minutes=rng.choice((15, 30, 60, 90, 120)))
    body = (
        f"BEGIN:VEVENT\n{_common(rng, uid)}"
        f"DTSTART;TZID=Europe/Berlin:{_local(start)}\nDTEND;TZID=Europe/Berlin:{_local(end)}\n"
        f"{_extras(rng, uid)}END:VEVENT\n"
    )
    return _wrap(body)


def single_all_day(rng: random.Random, i: int) -> bytes:
    uid = f"{i:08X}-ALLD-4E8B-9F0A-1D2C3B4A5E6F"
    start = date(2025, 1, 1) + timedelta(days=rng.randint(0, 730))
    end = start + timedelta(days=rng.choice((1, 1, 1, 2, 3)))
    body = (
        f"BEGIN:VEVENT\n{_common(rng, uid)}"
        f"DTSTART;VALUE=DATE:{start:%Y%m%d}\nDTEND;VALUE=DATE:{end:%Y%m%d}\n"
        f"{_extras(rng, uid)}END:VEVENT\n"
    )
    return _wrap(body, with_tz=False)


def series(rng: random.Random, i: int) -> bytes:
    uid = f"{i:08X}-SERI-4E8B-9F0A-1D2C3B4A5E6F"
    daily = rng.random() < 0.3
    step = timedelta(days=1 if daily else 7)
    start = datetime(2024, 1, 1, 9) + timedelta(days=rng.randint(0, 700), minutes=30 * rng.randint(0, 16))
    end = start + timedelta(minutes=rng.choice((15, 30, 60)))
    ending = rng.choice(("COUNT", "UNTIL", "OPEN", "OPEN"))
    rule = "FREQ=DAILY" if daily else "FREQ=WEEKLY"
    if ending == "COUNT":
        rule += f";COUNT={rng.randint(5, 60)}"
    elif ending == "UNTIL":
        until = start + step * rng.randint(5, 60)
        rule += f";UNTIL={until.strftime('%Y%m%dT%H%M%S')}Z"
    exdates = sorted({rng.randint(1, 4) for _ in range(rng.randint(0, 3))})
    exdate_lines = "".join(
        f"EXDATE;TZID=Europe/Berlin:{_local(start + step * k)}\n" for k in exdates
    )
    body = (
        f"BEGIN:VEVENT\n{_common(rng, uid)}"
        f"DTSTART;TZID=Europe/Berlin:{_local(start)}\nDTEND;TZID=Europe/Berlin:{_local(end)}\n"
        f"RRULE:{rule}\n{exdate_lines}{_extras(rng, uid)}END:VEVENT\n"
    )
    if rng.random() < 0.7:  # one moved occurrence
        original = start + step * 2
        moved = original + timedelta(hours=2)
        body += (
            f"BEGIN:VEVENT\n{_common(rng, uid)}"
            f"RECURRENCE-ID;TZID=Europe/Berlin:{_local(original)}\n"
            f"DTSTART;TZID=Europe/Berlin:{_local(moved)}\n"
            f"DTEND;TZID=Europe/Berlin:{_local(moved + (end - start))}\nEND:VEVENT\n"
        )
    return _wrap(body)


def generate(count: int, seed: int = 5000) -> tuple[list[bytes], list[bytes]]:
    """(singles, series): ~5 % series, ~15 % all-day, the rest timed singles."""
    rng = random.Random(seed)
    singles: list[bytes] = []
    recurring: list[bytes] = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.05:
            recurring.append(series(rng, i))
        elif roll < 0.20:
            singles.append(single_all_day(rng, i))
        else:
            singles.append(single_timed(rng, i))
    return singles, recurring


def _per_resource(func, resources: list[bytes], rounds: int) -> list[float]:
    """Each resource's best-of-rounds time (seconds); noise hits both functions alike."""
    best = [float("inf")] * len(resources)
    for _ in range(rounds):
        gc.collect()
        for index, data in enumerate(resources):
            started = time.perf_counter()
            func(data)
            best[index] = min(best[index], time.perf_counter() - started)
    return best


def _from_ical(data: bytes) -> None:
    Calendar.from_ical(data)


def _parse(data: bytes) -> None:
    parse_resource(data, default_tz=DEFAULT_TZ)


def _report(label: str, resources: list[bytes], rounds: int) -> tuple[float, float]:
    if not resources:
        print(f"{label}: none generated")
        return 0.0, 0.0
    # Interleave the two measurements round by round so drift affects both.
    base = [float("inf")] * len(resources)
    ours = [float("inf")] * len(resources)
    for _ in range(rounds):
        base = [min(a, b) for a, b in zip(base, _per_resource(_from_ical, resources, 1))]
        ours = [min(a, b) for a, b in zip(ours, _per_resource(_parse, resources, 1))]
    base_ms = statistics.median(base) * 1000
    ours_ms = statistics.median(ours) * 1000
    print(
        f"{label:8s} n={len(resources):5d}  from_ical {base_ms:7.3f} ms  "
        f"parse_resource {ours_ms:7.3f} ms  ratio {ours_ms / base_ms:5.2f}x  "
        f"(p90 parse {sorted(ours)[int(len(ours) * 0.9)] * 1000:.3f} ms)"
    )
    return base_ms, ours_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000, help="resources to generate")
    parser.add_argument("--rounds", type=int, default=5, help="best-of rounds per resource")
    parser.add_argument("--profile", action="store_true", help="cProfile parse_resource")
    args = parser.parse_args()

    singles, recurring = generate(args.count)
    # Warm up imports and caches the way a running service would have them.
    for data in singles[:20] + recurring[:5]:
        _parse(data)
        _from_ical(data)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for data in singles + recurring:
            _parse(data)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return 0

    print(f"{args.count} resources: {len(singles)} singles, {len(recurring)} series; "
          f"median of per-resource best-of-{args.rounds}")
    _report("singles", singles, args.rounds)
    _, series_ms = _report("series", recurring, args.rounds)
    # The whole import as one pass each (a first sync), best of two, alternating.
    everything = singles + recurring
    totals = {"from_ical": float("inf"), "parse_resource": float("inf")}
    for _ in range(2):
        for label, func in (("from_ical", _from_ical), ("parse_resource", _parse)):
            gc.collect()
            started = time.perf_counter()
            for data in everything:
                func(data)
            totals[label] = min(totals[label], time.perf_counter() - started)
    print(f"total    from_ical {totals['from_ical']:6.2f} s  parse_resource "
          f"{totals['parse_resource']:6.2f} s  ratio "
          f"{totals['parse_resource'] / totals['from_ical']:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
