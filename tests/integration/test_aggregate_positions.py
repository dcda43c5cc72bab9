"""The log position of aggregates' last events, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.persistence.aggregate_positions import last_position
from calendar_domain.application import CalendarIntegration
from calendar_domain.policy import SubAccountPolicy
from calendar_domain.schedule import UserSchedule
from server.bootstrap import application_env
from tests.support.stores import STORES, settings_for


@pytest.mark.parametrize("store", STORES)
def test_the_last_position_is_that_of_the_latest_event_of_any_aggregate_given(store: str, tmp_path: Path) -> None:
    with settings_for(store, tmp_path) as settings:
        app = CalendarIntegration(env=application_env(settings))
        try:
            mine, theirs = UserSchedule("loc-1", "u1"), UserSchedule("loc-1", "u2")
            never = SubAccountPolicy.create_id("loc-1")
            assert last_position(app, [mine.id, never]) == 0
            first = app.record(mine)
            app.record(theirs)
            assert last_position(app, [mine.id, never]) == first
            mine.create_block("b1", *_span(), "", "")
            later = app.record(mine)
            theirs.create_block("b2", *_span(), "", "")
            app.record(theirs)
            assert first < later < app.head_position()
            assert last_position(app, [mine.id, never]) == later
            assert last_position(app, [mine.id, theirs.id]) == app.head_position()
        finally:
            app.close()


def _span() -> tuple[datetime, datetime]:
    return datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 10, tzinfo=UTC)
