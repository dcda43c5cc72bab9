"""Availability as of a past time: what the service would have answered at T.

The events known at T of one user's schedule and configuration, and of the
sub-account's policy, are projected into a fresh, private availability view by
the same projection the live read model uses; free slots are then computed by
the same service with its clock set to T. Calendar freshness comes from the log
too: each calendar's last recorded sync before T, and its connection's status
then. "Why was I double-booked last Tuesday" gets the answer the service gave.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import project_aggregate
from eventsourcing.persistence import Tracking

from calendar_domain import values
from calendar_domain.application import CalendarIntegration
from calendar_domain.availability import Busy
from calendar_domain.availability_projection import AvailabilityProjection, SeriesExpander
from calendar_domain.availability_service import (
    AvailabilityReadModel,
    AvailabilityService,
    CalendarState,
    FreeSlots,
    Provenance,
    Window,
)
from calendar_domain.configuration import CalendarConfiguration
from calendar_domain.connection import Connection
from calendar_domain.errors import InvalidValue
from calendar_domain.policy import SubAccountPolicy
from calendar_domain.schedule import UserSchedule


@dataclass(frozen=True)
class PastAvailability:
    at: datetime
    position: int  # the last log position recorded at or before ``at``
    slots: FreeSlots
    # everything in the window that took time then, with where it came from
    busy: list[tuple[Busy, Provenance]]


class _StatesAt:
    """Calendar health at T, from the log: last recorded sync, connection status."""

    def __init__(self, app: CalendarIntegration, synced: dict[str, float], at: datetime) -> None:
        self._app = app
        self._synced = synced
        self._at = at
        self._statuses: dict[str, str] = {}  # connection id -> status at T

    def state(self, sub_account_id: str, connection_id: str, calendar_id: str) -> CalendarState:
        if connection_id not in self._statuses:
            known = [e for e in self._app.events.get(uuid.UUID(connection_id)) if _time(e) <= self._at]
            connection: Connection | None = project_aggregate(None, known) if known else None  # type: ignore[assignment]
            self._statuses[connection_id] = connection.status.value if connection else "unknown"
        status = self._statuses[connection_id]
        return CalendarState(status, self._synced.get(calendar_id) if status != "unknown" else None)


class AvailabilityHistory:
    def __init__(
        self,
        app: CalendarIntegration,
        new_view: Callable[[], Any],
        expander: SeriesExpander,
        *,
        stale_after: float,
        max_window_days: int,
    ) -> None:
        """``new_view``: an empty availability view of its own (in memory)."""
        self._app = app
        self._new_view = new_view
        self._expander = expander
        self._stale_after = stale_after
        self._max_window_days = max_window_days

    def free_slots_at(
        self,
        sub_account_id: str,
        user_id: str,
        at: datetime | None,
        start: datetime | None,
        end: datetime | None,
        viewer_user_id: str = "",
    ) -> PastAvailability:
        sub_account_id = values.opaque_id("sub_account_id", sub_account_id)
        user_id = values.opaque_id("user_id", user_id)
        if at is None:
            raise InvalidValue("as_of_time", "as_of_time is required")
        events = self._known_at(sub_account_id, user_id, at)
        view = self._new_view()
        try:
            projection = AvailabilityProjection(view, self._expander)
            projection.process_batch([(e, Tracking(self._app.name, i + 1)) for i, e in enumerate(events)])
            synced = {
                e.calendar_id: e.fetched_at.timestamp()
                for e in events
                if isinstance(e, UserSchedule.CalendarSynced)
            }
            position = self._position_at(at)
            service = AvailabilityService(
                view,
                _StatesAt(self._app, synced, at),
                self._expander,
                position=lambda: position,
                stale_after=self._stale_after,
                max_window_days=self._max_window_days,
                clock=at.timestamp,
            )
            window: Window = service.window(start, end)
            slots = service.free_slots(sub_account_id, user_id, window)
            taken = sorted(
                (b for b in slots.view.busy if b.start < window.end and window.start < b.end),
                key=lambda b: (b.start, b.end),
            )
            busy = [(b, service.provenance(slots.view, b, viewer_user_id)) for b in taken]
        finally:
            view.datastore.close()
        return PastAvailability(at, position, slots, busy)

    def _known_at(self, sub_account_id: str, user_id: str, at: datetime) -> list[Any]:
        ids = (
            UserSchedule.create_id(sub_account_id, user_id),
            CalendarConfiguration.create_id(sub_account_id, user_id),
            SubAccountPolicy.create_id(sub_account_id),
        )
        known = [e for aggregate_id in ids for e in self._app.events.get(aggregate_id) if _time(e) <= at]
        # each aggregate's events keep their order; across aggregates, time orders them
        return sorted(known, key=_time)

    def _position_at(self, at: datetime) -> int:
        """The last log position recorded at or before ``at`` (a binary search:
        positions follow recording time)."""
        low, high = 0, self._app.head_position()
        while low < high:
            middle = (low + high + 1) // 2
            found = self._app.recorder.select_notifications(start=middle, limit=1, stop=high)
            if found and _time(self._app.mapper.to_domain_event(found[0])) <= at:
                low = found[0].id
            else:
                high = middle - 1
        return low


def _time(domain_event: Any) -> datetime:
    moment: datetime = domain_event.timestamp
    return moment


__all__ = ["AvailabilityHistory", "AvailabilityReadModel", "PastAvailability"]
