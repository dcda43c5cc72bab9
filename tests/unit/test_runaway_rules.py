"""Recurrence rules that would make an expansion run for minutes (a hostile feed's
FREQ=SECONDLY, an hourly rule since 1900) are skipped with the reason; ordinary
ones, and bounded ones however old, are read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.icloud.resources import imported_series
from calendar_domain.schedule import ImportedSeries, SkippedResource


def _resource(rule: str, start: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:r\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{start}\r\nDURATION:PT15M\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.mark.parametrize(("rule", "start", "says"), [
    ("FREQ=SECONDLY", "20261207T090000Z", "times a day"),
    ("FREQ=MINUTELY;INTERVAL=5", "20261207T090000Z", "times a day"),
    ("FREQ=DAILY;BYHOUR=8,9,10,11,12,13,14,15,16,17;BYMINUTE=0,15,30,45", "20261207T090000Z", "times a day"),
    ("FREQ=HOURLY", "19000101T000000Z", "from its DTSTART"),
])
def test_a_runaway_rule_is_skipped_saying_why(rule: str, start: str, says: str) -> None:
    found = imported_series("/c/r.ics", '"e"', _resource(rule, start), "UTC", datetime.now(UTC))
    assert isinstance(found, SkippedResource) and says in found.reason


@pytest.mark.parametrize(("rule", "start"), [
    ("FREQ=HOURLY;BYHOUR=9,10,11", "20261207T090000Z"),
    ("FREQ=HOURLY;COUNT=50", "19000101T000000Z"),
    ("FREQ=DAILY", "19000101T000000Z"),
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "20200106T090000Z"),
    ("FREQ=YEARLY", "18000101T000000Z"),
])
def test_ordinary_and_bounded_rules_are_read(rule: str, start: str) -> None:
    found = imported_series("/c/r.ics", '"e"', _resource(rule, start), "UTC", datetime.now(UTC))
    assert isinstance(found, ImportedSeries), getattr(found, "reason", "")
