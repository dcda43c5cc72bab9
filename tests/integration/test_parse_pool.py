"""Parsing in worker processes gives exactly what parsing in place gives: every
resource of the iCalendar corpus (the malformed ones too), in two time zones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.icloud import parse_pool
from adapters.icloud.parse_pool import ResourceParser

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "ical"
FETCHED = datetime(2026, 1, 10, tzinfo=UTC)
ZONES = ["America/New_York", "Europe/Berlin"]


def test_worker_processes_parse_the_corpus_as_this_process_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_pool, "CHUNK", 3)  # several tasks
    monkeypatch.setattr(parse_pool, "REPORT_EVERY", 4)  # several progress reports
    resources = [(f"/cal/{p.name}", f'"{p.name}"', p.read_text()) for p in sorted(CORPUS.glob("*.ics"))]
    assert any("malformed" in href for href, _, _ in resources)
    reported: dict[str, list[int]] = {"in place": [], "in workers": []}
    in_place = ResourceParser(0).parse(iter(resources), ZONES, FETCHED, len(resources), reported["in place"].append)
    pool = ResourceParser(2, minimum=1)
    try:
        in_workers = pool.parse(iter(resources), ZONES, FETCHED, len(resources), reported["in workers"].append)
        assert pool.worker_pids()  # parsed elsewhere
    finally:
        pool.close()
    assert len(in_place) == 2 * len(resources)
    assert in_workers == in_place
    # Progress: resources parsed so far, rising, up to all of them.
    for counts in reported.values():
        assert len(counts) > 1 and counts == sorted(set(counts)) and counts[-1] == len(resources)
