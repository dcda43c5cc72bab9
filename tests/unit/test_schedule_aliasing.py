"""Copies of a cached UserSchedule share its state (``UserSchedule.__deepcopy__``):
no command on a copy, saved or thrown away, may change the cached schedule or
another copy. Random command sequences through the real application (its cache
fast-forwarding the cached instance in place, snapshots every few events) check
after every step that the cached schedule, a replay of the log from scratch and
copies taken earlier all hold what they should."""

from __future__ import annotations

from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calendar_domain.application import CalendarIntegration
from calendar_domain.bookings import AppointmentDetails, Attendee, appointment_uid, first_conflict
from calendar_domain.errors import DomainError
from calendar_domain.icloud_changes import SyncRules
from calendar_domain.policy import ICloudChangePolicy
from calendar_domain.schedule import CalendarChanges, ImportedSeries, SkippedResource, UserSchedule

T0 = datetime(2030, 3, 4, 8, tzinfo=UTC)
Q = timedelta(minutes=15)
CALENDARS = ("home", "work")
_STATE = ("appointments", "crm_blocks", "resources", "checkpoints", "calendar_connections", "request_ids")


class _Snapshotting(CalendarIntegration):
    snapshotting_intervals = {UserSchedule: 3}  # snapshots taken (and restored) often


def _state(schedule: UserSchedule) -> dict[str, Any]:
    # a true copy of plain data, to compare with later
    return deepcopy({name: _plain(getattr(schedule, name)) for name in _STATE})


def _plain(value: Any) -> Any:
    if isinstance(value, dict) or type(value).__name__ == "mappingproxy":
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _conflicts(schedule: UserSchedule) -> list[Any]:
    """What the span index answers over the whole range the commands use."""
    return [schedule.conflict(*_span(probe, 3)) for probe in range(-8, 56, 2)]


def _replayed(app: CalendarIntegration, schedule_id: Any) -> UserSchedule:
    schedule: Any = None
    stored: Any
    for stored in app.events.get(schedule_id):
        schedule = stored.mutate(schedule)
    return schedule


def _span(n: int, length: int) -> tuple[datetime, datetime]:
    return T0 + n * Q, T0 + (n + length) * Q


def _series(href: str, etag: str, uid: str, n: int, length: int) -> ImportedSeries:
    start, end = _span(n, length)
    return ImportedSeries(
        href=href, etag=etag, uid=uid, summary="x", location="", recurring=False, all_day=False,
        first_start=start, last_end=end, ical="",
    )


def _run(schedule: UserSchedule, step: int, command: tuple[Any, ...]) -> None:
    kind, pick, n, length, variant = command
    appointments = sorted(schedule.appointments)
    chosen = appointments[pick % len(appointments)] if appointments else ""
    rules = SyncRules(icloud_changes=ICloudChangePolicy.RESTORE if variant % 2 else ICloudChangePolicy.FOLLOW_ICLOUD)
    calendar_id = CALENDARS[variant % 2]
    if kind == "book":
        details = AppointmentDetails("Visit", attendees=(Attendee("a@example.com", "A"),)) if variant % 2 else \
            AppointmentDetails("Visit")
        schedule.book(f"a{step}", *_span(n, length), details,
                      {"connection_id": "c1", "calendar_id": calendar_id}, ["x"] if variant else [], f"r{step}")
    elif kind == "reschedule" and chosen:
        schedule.reschedule(chosen, *_span(n, length), [], f"r{step}")
    elif kind == "cancel" and chosen:
        schedule.cancel(chosen, "gone", f"r{step}")
    elif kind == "block":
        schedule.create_block(f"b{step}", *_span(n, length), "hold", f"r{step}")
    elif kind == "unblock" and schedule.crm_blocks:
        blocks = sorted(schedule.crm_blocks)
        schedule.delete_block(blocks[pick % len(blocks)], f"r{step}")
    elif kind == "pushed" and chosen:
        record = schedule.appointments[chosen]
        where = record["calendar"].get("calendar_id") or calendar_id
        action = "deleted" if record["status"] == "cancelled" else "created"
        schedule.pushed(chosen, record["revision"], action, "c1", where, f"/{where}/{chosen}.ics", f'"e{step}"')
    elif kind == "push_failed" and chosen:
        record = schedule.appointments[chosen]
        schedule.push_failed(chosen, record["revision"], "boom", variant + 1, bool(variant % 2), None)
    elif kind == "import":
        known = sorted(schedule.resources.get(calendar_id, {}))
        changed = [_series(f"/{calendar_id}/e{(pick + i) % 6}.ics", f'"{step}"', f"e{(pick + i) % 6}", n + i, length)
                   for i in range(variant % 3 + 1)]
        skipped = [SkippedResource(f"/{calendar_id}/bad{pick % 2}.ics", f'"{step}"', "unparsable")] if variant == 3 else []
        deleted = [known[pick % len(known)]] if known and variant >= 2 else []
        schedule.apply("c1", CalendarChanges(calendar_id, changed, skipped, deleted, f"t{step}", T0), rules)
    elif kind == "icloud" and chosen:  # the appointment's own event moved or deleted in iCloud
        record = schedule.appointments[chosen]
        pushed = record.get("pushed") or {}
        if not pushed.get("href"):
            return
        where = pushed["calendar_id"]
        if variant >= 2:
            changes = CalendarChanges(where, [], [], [pushed["href"]], f"t{step}", T0)
        else:
            moved = _series(pushed["href"], f'"m{step}"', appointment_uid(chosen), n, length)
            changes = CalendarChanges(where, [moved], [], [], f"t{step}", T0)
        schedule.apply("c1", changes, rules)
    elif kind == "release":
        schedule.release(calendar_id, "no longer blocks")


COMMANDS = st.tuples(
    st.sampled_from(
        ["book", "reschedule", "cancel", "block", "unblock", "pushed", "push_failed", "import", "icloud", "release"]
    ),
    st.integers(0, 7),  # which appointment, block or resource
    st.integers(0, 40),  # where, in quarters of an hour
    st.integers(1, 8),  # how long
    st.integers(0, 3),  # the variant: calendar, policy, deletions
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(COMMANDS, st.integers(0, 3)), min_size=1, max_size=40))
def test_commands_on_copies_leave_the_cached_schedule_and_other_copies_as_they_were(
    steps: list[tuple[tuple[Any, ...], int]],
) -> None:
    app = _Snapshotting(env={"AGGREGATE_CACHE_MAXSIZE": "10", "IS_SNAPSHOTTING_ENABLED": "y"})
    schedule_id = UserSchedule.create_id("sub", "user")
    app.record(UserSchedule("sub", "user"))
    held: list[tuple[UserSchedule, dict[str, Any]]] = []  # copies kept aside, with what they held
    for step, (command, fate) in enumerate(steps):
        found = app.find(schedule_id, UserSchedule)
        assert found is not None
        held.append((found, {**_state(found), "conflicts": _conflicts(found)}))
        working = app.find(schedule_id, UserSchedule)
        assert working is not None
        try:
            _run(working, step, command)
            if fate == 0:
                raise DomainError("thrown away, as a command failing after its events")
        except DomainError:
            pass  # the copy is thrown away: nothing recorded
        else:
            app.record(working)
        cached = app.find(schedule_id, UserSchedule, read_only=True)
        assert cached is not None
        replayed = _replayed(app, schedule_id)
        assert _state(cached) == _state(replayed), f"step {step}: {command}"
        for copy, before in held:
            now = {**_state(copy), "conflicts": _conflicts(copy)}
            assert now == before, f"step {step}: {command} changed a copy taken earlier"
        for probe in range(0, 48, 6):
            window = _span(probe, 3)
            expected = first_conflict(*window, replayed.appointments, replayed.crm_blocks, "")
            assert cached.conflict(*window) == expected
            if fate != 0:
                assert working.conflict(*window) == expected
        held = held[-4:]
