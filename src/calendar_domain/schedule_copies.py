"""Cheap copies of a UserSchedule: a copy shares the schedule's state, and a
calendar's resource entries are copied by whichever side changes them first."""

from __future__ import annotations

import copy
import uuid
from datetime import date, datetime
from typing import Any, Self

from calendar_domain.schedule_parts import SchedulePart


class CopiedCheaply(SchedulePart):
    """How a UserSchedule is copied (a part of it)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """The repository hands out a copy of the cached schedule for every command
        and read, so a copy must cost nothing like the schedule's size (a user
        with 10,000 imported events and 2,000 past appointments: 45 ms a copy,
        most of a booking). The state is shared, not copied: appointments, CRM
        blocks, checkpoints and request ids are never changed in place (every
        change assigns a new value), and each calendar's resource entries are
        copied by whichever side changes them first (both give up changing them
        in place here). Anything else is copied as plain data."""
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        self._own_calendars: set[str] = set()
        for name, value in self.__dict__.items():
            clone.__dict__[name] = value if name in _SHARED_STATE else _copied(value, memo)
        clone._own_calendars = set()
        clone._span_index = self._spans()  # built once for the cached schedule, then shared
        return clone

    def _entries_to_change(self, calendar_id: str) -> dict[str, list[str]]:
        """The calendar's entries (made if missing), this instance's own to change in
        place: the first change after a copy copies them (and the calendars'
        mapping) once; the changes after that are made in place, so a first sync of
        thousands of resources is not copied once per resource."""
        own: set[str] | None = getattr(self, "_own_calendars", None)
        if own is None:
            own = self._own_calendars = set()
        if calendar_id not in own:
            self.resources = {**self.resources, calendar_id: dict(self.resources.get(calendar_id, {}))}
            own.add(calendar_id)
        return self.resources[calendar_id]


# Never changed in place (see UserSchedule.__deepcopy__): shared by a copy.
_SHARED_STATE = frozenset(
    {"resources", "appointments", "crm_blocks", "request_ids", "checkpoints", "calendar_connections"}
)


_IMMUTABLE = (str, int, float, bool, type(None), datetime, date, uuid.UUID)


def _copied(value: Any, memo: dict[int, Any]) -> Any:
    """A deep copy of plain data (dicts, lists, immutable scalars), fast."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is dict:
        return {key: _copied(item, memo) for key, item in value.items()}
    if kind is list:
        return [_copied(item, memo) for item in value]
    return copy.deepcopy(value, memo)
