"""What an appointment does when its event is moved or deleted in iCloud.

DOMAIN.md, "When the two sides disagree": the calendar is the truth about the
user's time, so after the sync that sees the change every answer blocks what
the calendar shows. The sub-account's policy (``ICloudChangePolicy``) says what
happens to the CRM's appointment:

- follow iCloud: a move reschedules the appointment to the iCloud times, a
  deletion cancels it (events with cause ``icloud``); nothing is written back.
- restore: the CRM's version is written back by the pusher; until it is, the
  times the calendar shows block too ("held" spans of the appointment).

An appointment is restored whatever the policy when it cannot follow: a newer
change from the CRM is still waiting to be written (that write replaces the
user's change), the user turned the event into a series (one appointment is
one span; the service writes it back as the single event it was, and every busy
occurrence of the series blocks until then), or the calendar no longer shows it
busy (made a free all-day event, or shown as free: an appointment is busy time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from calendar_domain.busy import AllDayPolicy
from calendar_domain.conflicts import MAX_OPEN_CONFLICTS, blocks
from calendar_domain.policy import ICloudChangePolicy

# Causes recorded on reschedules and cancels.
CRM = "crm"
ICLOUD = "icloud"
# States of the appointment record's "icloud" entry ("outcome").
FOLLOWED, CANCELLED, RESTORING, RESTORED = "followed", "cancelled", "restoring", "restored"
# Spans held for a series turned from an appointment: the busy occurrences the
# import carried, at most this many by default (a year of a daily series).
MAX_HELD_SPANS = 400


@dataclass(frozen=True)
class SyncRules:
    """What a sync needs to know beyond the calendar's changes: the sub-account's
    policy for appointments changed in iCloud, the user's all-day policy (to tell
    busy occurrences from free ones), and the bounds of what it records (the
    settings CALSYNC_MAX_OPEN_CONFLICTS and CALSYNC_MAX_HELD_SPANS)."""

    icloud_changes: ICloudChangePolicy = ICloudChangePolicy.FOLLOW_ICLOUD
    all_day_policy: AllDayPolicy = AllDayPolicy.FOLLOW_TRANSP
    max_open_conflicts: int = MAX_OPEN_CONFLICTS  # per appointment
    max_held_spans: int = MAX_HELD_SPANS  # per appointment being restored


def follows(record: dict[str, Any], rules: SyncRules, unfollowable: bool = False) -> bool:
    """Whether the appointment follows the change in iCloud (else it is restored);
    ``unfollowable``: the event became what one appointment cannot be (a series,
    or not busy, ``shown_busy``)."""
    written = (record.get("pushed") or {}).get("revision") == record["revision"]
    return (
        rules.icloud_changes is ICloudChangePolicy.FOLLOW_ICLOUD
        and record["status"] == "booked"
        and written
        and not unfollowable
    )


def shown_busy(occurrences: Iterable[list[Any]] | None, rules: SyncRules) -> bool:
    """Whether the calendar shows the appointment's event busy: some occurrence
    blocks by the user's rules (an event that carried none is taken as busy). One
    made an all-day event shown as free, or shown as free, is not; an appointment
    is a busy span, so that cannot be followed."""
    if occurrences is None:
        return True
    return any(blocks(flags, rules.all_day_policy) for _, _, flags, *_ in occurrences)


def restoring(record: dict[str, Any]) -> bool:
    """Whether the CRM's version is waiting to be written back to iCloud."""
    return bool((record.get("icloud") or {}).get("outcome") == RESTORING)


def held_spans(
    span: tuple[datetime, datetime], occurrences: Iterable[list[Any]] | None, rules: SyncRules
) -> list[list[str]]:
    """The times the changed event takes on the calendar, as [start, end] ISO pairs:
    its busy occurrences when it carries them, else its own span."""
    if occurrences is None:
        return [[span[0].isoformat(), span[1].isoformat()]]
    held = [
        [datetime.fromtimestamp(start, UTC).isoformat(), datetime.fromtimestamp(end, UTC).isoformat()]
        for start, end, flags, *_ in occurrences
        if blocks(flags, rules.all_day_policy)
    ]
    return held[: rules.max_held_spans]
