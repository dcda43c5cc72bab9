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
    resources = [(f"/cal/{p.name}", f'"{p.name}"', p.read_text()) for p in sorted(CORPUS.glob("*.ics"))]
    assert any("malformed" in href for href, _, _ in resources)
    in_place = ResourceParser(0).parse(iter(resources), ZONES, FETCHED, len(resources))
    pool = ResourceParser(2, minimum=1)
    try:
        in_workers = pool.parse(iter(resources), ZONES, FETCHED, len(resources))
        assert pool.worker_pids()  # parsed elsewhere
    finally:
        pool.close()
    assert len(in_place) == 2 * len(resources)
    assert in_workers == in_place
