"""The event log as auditors and other services read it: which aggregate an event
belongs to, whose it is, and what it says, with secrets left out.

Pure mapping, no I/O: the history service reads the log and hands each domain
event here. Every aggregate's creation event names its sub-account, and the
sub-account of every later event is that of its aggregate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.utils import get_topic

from calendar_domain.configuration import CalendarConfiguration
from calendar_domain.connection import AccountLink, Connection
from calendar_domain.policy import SubAccountPolicy
from calendar_domain.schedule import UserSchedule


class AggregateKind(str, Enum):
    CONNECTION = "connection"
    ACCOUNT_LINK = "account_link"
    CALENDAR_CONFIGURATION = "calendar_configuration"
    USER_SCHEDULE = "user_schedule"
    SUB_ACCOUNT_POLICY = "sub_account_policy"


AGGREGATE_CLASSES: dict[AggregateKind, type[Aggregate]] = {
    AggregateKind.CONNECTION: Connection,
    AggregateKind.ACCOUNT_LINK: AccountLink,
    AggregateKind.CALENDAR_CONFIGURATION: CalendarConfiguration,
    AggregateKind.USER_SCHEDULE: UserSchedule,
    AggregateKind.SUB_ACCOUNT_POLICY: SubAccountPolicy,
}

# The envelope every event has; the history shows it as position, id, version, time.
_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
# References into the credential vault. Not passwords, but they name where one
# was kept, and nothing outside this service has any use for them.
SECRET_FIELDS = frozenset({"credential_ref", "replaced_credential_ref", "destroyed_credential_ref"})
# Classes the library defines on every aggregate class; they are never recorded.
_NOT_RECORDED = frozenset({"Event", "Created", "Snapshot"})


def event_classes(kind: AggregateKind) -> list[type[DomainEvent]]:
    """The event classes an aggregate of this kind records."""
    aggregate = AGGREGATE_CLASSES[kind]
    return [
        value
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, DomainEvent) and name not in _NOT_RECORDED
    ]


def _topics() -> dict[str, tuple[AggregateKind, bool]]:
    """topic -> (kind, whether it is the creation event)."""
    found: dict[str, tuple[AggregateKind, bool]] = {}
    for kind in AggregateKind:
        for cls in event_classes(kind):
            found[get_topic(cls)] = (kind, issubclass(cls, Aggregate.Created))
    return found


TOPICS = _topics()
CREATION_TOPICS = tuple(sorted(t for t, (_, created) in TOPICS.items() if created))


def topics_of(kinds: Iterable[AggregateKind]) -> tuple[str, ...]:
    wanted = set(kinds)
    return tuple(sorted(t for t, (kind, _) in TOPICS.items() if kind in wanted))


def kind_of(event: object) -> AggregateKind | None:
    found = TOPICS.get(get_topic(type(event)))
    return found[0] if found else None


@dataclass(frozen=True)
class Owner:
    """Whose an aggregate is: its kind and sub-account, from its creation event."""

    kind: AggregateKind
    sub_account_id: str


def owner_of_creation(event: object) -> Owner | None:
    """The owner named by a creation event (None for any other event)."""
    found = TOPICS.get(get_topic(type(event)))
    if found is None or not found[1]:
        return None
    return Owner(found[0], str(getattr(event, "sub_account_id", "")))


@dataclass(frozen=True, eq=False)
class RecordedEvent:
    """One event of the log as the history shows it.

    ``position`` is 0 when the event was read by its aggregate rather than
    through the log (the store reads an aggregate by id, not by position).
    Compared by identity, so that one record can key a cache of its renderings.
    """

    position: int
    aggregate_id: uuid.UUID
    kind: AggregateKind
    version: int
    event_type: str  # "Connection.Connected"
    recorded_at: datetime
    sub_account_id: str
    payload: Mapping[str, Any]


def recorded(event: Any, position: int, owner: Owner | None) -> RecordedEvent:
    """The history's view of a domain event: its envelope, and a payload without
    the envelope or any vault reference."""
    kind = owner.kind if owner else kind_of(event)
    if kind is None:
        raise ValueError(f"{type(event).__qualname__} is not an event of a known aggregate")
    payload = {k: v for k, v in vars(event).items() if k not in _ENVELOPE and k not in SECRET_FIELDS}
    return RecordedEvent(
        position=position,
        aggregate_id=event.originator_id,
        kind=kind,
        version=event.originator_version,
        event_type=type(event).__qualname__,
        recorded_at=event.timestamp,
        sub_account_id=owner.sub_account_id if owner else "",
        payload=payload,
    )


@dataclass(frozen=True)
class Scope:
    """What a reader may see and asked to see: sub-accounts (None: every one) and
    aggregate kinds (empty: every kind)."""

    sub_accounts: frozenset[str] | None = None
    kinds: frozenset[AggregateKind] = frozenset()

    def topics(self) -> tuple[str, ...]:
        """Topics to filter the log by in the database (empty: no filter)."""
        return topics_of(self.kinds) if self.kinds else ()

    def admits_owner(self, owner: Owner | None) -> bool:
        if owner is None:
            # An event of no known aggregate: only a reader of everything sees it.
            return self.sub_accounts is None and not self.kinds
        if self.kinds and owner.kind not in self.kinds:
            return False
        return self.sub_accounts is None or owner.sub_account_id in self.sub_accounts

    def admits(self, record: RecordedEvent) -> bool:
        return self.admits_owner(Owner(record.kind, record.sub_account_id))
