"""Which imported events block time (DOMAIN.md, "What comes in from iCloud").

Pure rules over plain values: the iCloud adapter extracts TRANSP, STATUS and
whether an occurrence is all-day; these functions decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class AllDayPolicy(str, Enum):
    """How all-day events count, per user: Apple clients often hide TRANSP."""

    FOLLOW_TRANSP = "follow_transp"
    ALWAYS_BUSY = "always_busy"
    ALWAYS_FREE = "always_free"


class BusyRule(str, Enum):
    """The rule that decided, kept with every busy or free answer for explanations."""

    OPAQUE = "opaque"  # TRANSP:OPAQUE, or no TRANSP (RFC 5545 3.8.2.7 default)
    TRANSPARENT = "transparent"  # TRANSP:TRANSPARENT: shown, keeps time open
    CANCELLED = "cancelled"  # STATUS:CANCELLED never blocks
    ALL_DAY_ALWAYS_BUSY = "all_day_always_busy"
    ALL_DAY_ALWAYS_FREE = "all_day_always_free"


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of an imported event, in UTC (all-day ones too: midnight to
    midnight in the zone they were resolved in)."""

    uid: str
    start: datetime
    end: datetime
    all_day: bool
    transparent: bool
    cancelled: bool
    # RFC 5545 RECURRENCE-ID of this occurrence in UTC ISO form; "" for a single event.
    recurrence_id: str
    summary: str
    location: str


def busy_rule(
    *, transparent: bool, cancelled: bool, all_day: bool, policy: AllDayPolicy
) -> tuple[bool, BusyRule]:
    """Whether an occurrence blocks time, and the rule that says so."""
    if cancelled:
        return False, BusyRule.CANCELLED
    if all_day and policy is AllDayPolicy.ALWAYS_BUSY:
        return True, BusyRule.ALL_DAY_ALWAYS_BUSY
    if all_day and policy is AllDayPolicy.ALWAYS_FREE:
        return False, BusyRule.ALL_DAY_ALWAYS_FREE
    if transparent:
        return False, BusyRule.TRANSPARENT
    return True, BusyRule.OPAQUE
