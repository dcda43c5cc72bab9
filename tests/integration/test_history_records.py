"""History records read from the stored state (``HistoryRecords``) are the
records of the library's domain events, on both stores: the same messages, typed
payloads and payload JSON; only events it cannot read itself go the library's way."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eventsourcing.persistence import MapperDeserialisationError
from eventsourcing.utils import get_topic

from adapters.persistence.history_records import HistoryRecords
from calendar_domain.application import CalendarIntegration
from calendar_domain.history import AggregateKind, Owner, RecordedEvent, kind_of, recorded
from calendar_domain.schedule import UserSchedule
from server.bootstrap import application_env
from server.history_convert import event_message
from tests.integration.test_availability_view import _LibraryWayCounted
from tests.support.stores import STORES, settings_for
from tests.unit.test_history_events import every_kind_of_event
from tests.unit.test_user_schedule import series

FETCHED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(params=STORES)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CalendarIntegration]:
    with settings_for(request.param, tmp_path / "data") as settings:
        application = CalendarIntegration(env=application_env(settings))
        try:
            yield application
        finally:
            application.close()


def _envelope(record: RecordedEvent) -> tuple[Any, ...]:
    return tuple(getattr(record, f.name) for f in dataclasses.fields(record) if f.name != "payload")


def _owner(app: CalendarIntegration, notification: Any) -> Owner:
    kind = kind_of(app.mapper.to_domain_event(notification))
    assert kind is not None
    return Owner(kind, "loc-1")


def test_every_kind_of_event_reads_as_the_librarys_event_would_without_it(app: CalendarIntegration) -> None:
    app.events.put(every_kind_of_event())
    notifications = app.recorder.select_notifications(start=1, limit=1000)
    assert len(notifications) == len(every_kind_of_event())
    library = _LibraryWayCounted(app.mapper)
    records = HistoryRecords(SimpleNamespace(mapper=library, recorder=app.recorder))  # type: ignore[arg-type]
    for notification in notifications:
        owner = _owner(app, notification)
        expected = recorded(app.mapper.to_domain_event(notification), notification.id, owner)
        record = records(notification, owner)
        assert _envelope(record) == _envelope(expected)
        assert event_message(record) == event_message(expected), expected.event_type
    assert library.decoded == []  # none of them through the library


def test_a_page_selected_as_rows_is_the_librarys_page(app: CalendarIntegration) -> None:
    app.events.put(every_kind_of_event())
    head = app.recorder.max_notification_id()
    some = (get_topic(UserSchedule.Started), get_topic(UserSchedule.AppointmentBooked))
    select = HistoryRecords(app).select
    for start, limit, stop, topics in ((0, 1000, head, ()), (3, 5, head, ()), (0, 1000, head - 4, some), (2, 1, head, some)):
        expected = app.recorder.select_notifications(
            start=start, limit=limit, stop=stop, topics=topics, inclusive_of_start=False
        )
        rows = select(start, limit, stop, topics)
        assert [tuple(row) for row in rows] == [
            (n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in expected
        ]
        assert rows and all(type(row.originator_id) is uuid.UUID for row in rows)


def test_times_and_ids_deep_inside_a_payload_read_as_the_librarys_would(app: CalendarIntegration) -> None:
    """Encoded values below an event's own fields (none of today's events has
    them, but a payload may grow some) are found and written alike."""
    imported = next(e for e in every_kind_of_event() if type(e) is UserSchedule.BlockedSlotImported)
    imported.series["seen"] = [{"at": FETCHED, "by": uuid.UUID(int=7)}, FETCHED.replace(tzinfo=None)]
    app.events.put([imported])
    [stored] = app.recorder.select_notifications(start=1, limit=1)
    owner = Owner(AggregateKind.USER_SCHEDULE, "loc-1")
    library = _LibraryWayCounted(app.mapper)
    record = HistoryRecords(SimpleNamespace(mapper=library, recorder=app.recorder))(stored, owner)  # type: ignore[arg-type]
    assert library.decoded == []
    assert record.payload["series"]["seen"] == [
        {"at": FETCHED.isoformat(), "by": "00000000-0000-0000-0000-000000000007"}, "2026-03-01T08:00:00",
    ]
    assert event_message(record) == event_message(recorded(app.mapper.to_domain_event(stored), stored.id, owner))


def test_an_import_of_an_earlier_version_goes_the_librarys_way_and_is_upcast(
    app: CalendarIntegration, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule = UserSchedule("loc-1", "u1")
    app.save(schedule)
    with monkeypatch.context() as patched:
        patched.setattr(UserSchedule.BlockedSlotImported, "class_version", 1)
        first_shape = ("href", "etag", "uid", "summary", "location", "recurring", "all_day", "ical")
        v1 = {k: v for k, v in series("/a.ics", "1").__dict__.items() if k in first_shape}
        schedule._imported("conn", "cal", {**v1, "first_start": "2026-03-02T09:00:00+00:00", "last_end": ""}, FETCHED)
        app.save(schedule)
    [stored] = app.recorder.select_notifications(start=2, limit=1)
    assert stored.topic == get_topic(UserSchedule.BlockedSlotImported)
    library = _LibraryWayCounted(app.mapper)
    owner = Owner(AggregateKind.USER_SCHEDULE, "loc-1")
    record = HistoryRecords(SimpleNamespace(mapper=library, recorder=app.recorder))(stored, owner)  # type: ignore[arg-type]
    assert library.decoded == [stored.topic]
    assert "occurrences" in record.payload["series"]  # upcast to the current shape
    assert event_message(record) == event_message(recorded(app.mapper.to_domain_event(stored), stored.id, owner))


def test_a_state_that_will_not_decode_fails_with_the_librarys_error(app: CalendarIntegration) -> None:
    app.save(UserSchedule("loc-1", "u1"))
    [stored] = app.recorder.select_notifications(start=1, limit=1)
    broken = dataclasses.replace(stored, state=stored.state[:-3])
    with pytest.raises(MapperDeserialisationError, match=str(stored.originator_id)):
        HistoryRecords(app)(broken, Owner(AggregateKind.USER_SCHEDULE, "loc-1"))
