"""Application service for the history: pages of the log, one aggregate's events,
and an aggregate's state as of a version or a time, all rebuilt from the log.

Filtering happens before decoding where it can: aggregate kinds become topics
the database filters by, and sub-accounts are looked up by aggregate id in an
index of creation events (``Owners``), so a tenant reading a busy log decrypts
only its own events.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.application import AggregateNotFoundError, project_aggregate
from eventsourcing.persistence import Notification

from calendar_domain.application import CalendarIntegration
from calendar_domain.errors import NotFound
from calendar_domain.history import (
    AGGREGATE_CLASSES,
    CREATION_TOPICS,
    AggregateKind,
    Owner,
    RecordedEvent,
    Scope,
    owner_of_creation,
    recorded,
)

_BATCH = 500


class LoggedEvent(Protocol):
    """An event as stored in the log (the library's ``Notification``, or a row
    with the same fields)."""

    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> Any: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


# Makes the history's record of an event of the log (its owner known).
Decode = Callable[[Any, "Owner | None"], RecordedEvent]
# Selects the events in (start, stop] of the log of these topics (all: empty), at most limit.
Select = Callable[[int, int, int, tuple[str, ...]], Sequence[LoggedEvent]]


class Owners:
    """aggregate id -> Owner, learnt from the creation events of the log.

    Kept in memory: one small entry per aggregate. It is complete up to
    ``position``; ``ensure`` reads the creation events it has not seen yet
    (only those topics, so this stays cheap however long the log is).
    """

    def __init__(self, app: CalendarIntegration) -> None:
        self._app = app
        self._owners: dict[uuid.UUID, Owner] = {}
        self._position = 0
        self._lock = threading.Lock()

    def ensure(self, position: int) -> None:
        if self._position >= position:
            return
        with self._lock:
            while self._position < position:
                batch = self._app.recorder.select_notifications(
                    start=self._position, limit=_BATCH, stop=position,
                    topics=CREATION_TOPICS, inclusive_of_start=False,
                )
                for notification in batch:
                    owner = owner_of_creation(self._app.mapper.to_domain_event(notification))
                    if owner is not None:
                        self._owners[notification.originator_id] = owner  # type: ignore[index]
                self._position = batch[-1].id if len(batch) == _BATCH else position

    def learn(self, after: int, upto: int, events: list[tuple[Any, Any]]) -> None:
        """Learns from every event of the log in (after, upto], already decoded by a
        follower; reads the database instead when the index is not up to ``after``."""
        with self._lock:
            if self._position >= after:
                for aggregate_id, event in events:
                    owner = owner_of_creation(event)
                    if owner is not None:
                        self._owners[aggregate_id] = owner
                self._position = max(self._position, upto)
                return
        self.ensure(upto)

    def get(self, aggregate_id: Any) -> Owner | None:
        return self._owners.get(aggregate_id)


@dataclass(frozen=True)
class LogPage:
    events: list[RecordedEvent]
    # Every event up to here that the scope admits is in ``events`` (or before).
    position: int
    head: int


@dataclass(frozen=True)
class AggregateState:
    kind: AggregateKind
    aggregate: Any
    version: int
    recorded_at: datetime


class HistoryService:
    def __init__(self, app: CalendarIntegration, decode: Decode | None = None, select: Select | None = None) -> None:
        """``select`` and ``decode``: how pages of the log are read and become
        records; by default through the library's notifications and domain events
        (an adapter may read the stored rows and states faster)."""
        self._app = app
        self.owners = Owners(app)
        self._decode: Decode = decode or self._recorded
        self._select: Select = select or self._notifications

    def head_position(self) -> int:
        return self._app.head_position()

    # -- the log ---------------------------------------------------------------------

    def read(self, after: int, limit: int, scope: Scope, *, scan_limit: int = 20 * _BATCH) -> LogPage:
        """Up to ``limit`` events after ``after`` that the scope admits, in log order.

        Reads at most about ``scan_limit`` notifications, so a sparse filter over a
        long log answers with fewer events (or none) and the position reached.
        """
        head = self._app.head_position()
        position, scanned = after, 0
        found: list[RecordedEvent] = []
        topics = scope.topics()
        while len(found) < limit and position < head and scanned < scan_limit:
            batch = self._select(position, _BATCH, head, topics)
            if batch:
                self.owners.ensure(batch[-1].id)
            for notification in batch:
                owner = self.owners.get(notification.originator_id)
                if scope.admits_owner(owner):
                    found.append(self._decode(notification, owner))
                position = notification.id
                if len(found) == limit:
                    break
            scanned += len(batch)
            if len(batch) < _BATCH and len(found) < limit:
                position = head  # nothing else the filter admits up to the head
        return LogPage(found, position, head)

    def records(self, notifications: Sequence[Notification], *, after: int) -> list[RecordedEvent]:
        """Every one of these notifications as a record, for a follower that reads
        the whole log in order: ``notifications`` are all there is after ``after``."""
        if not notifications:
            return []
        decoded = [(n, self._app.mapper.to_domain_event(n)) for n in notifications]
        self.owners.learn(after, notifications[-1].id, [(n.originator_id, e) for n, e in decoded])
        return [recorded(e, n.id, self.owners.get(n.originator_id)) for n, e in decoded]

    def _notifications(self, start: int, limit: int, stop: int, topics: tuple[str, ...]) -> Sequence[LoggedEvent]:
        return self._app.recorder.select_notifications(
            start=start, limit=limit, stop=stop, topics=topics, inclusive_of_start=False
        )

    def _recorded(self, notification: Any, owner: Owner | None) -> RecordedEvent:
        return recorded(self._app.mapper.to_domain_event(notification), notification.id, owner)

    # -- one aggregate -----------------------------------------------------------------

    def owner(self, aggregate_id: uuid.UUID, scope: Scope) -> Owner:
        """The aggregate's owner; NotFound when it does not exist or is not in scope
        (another tenant's aggregate is indistinguishable from none)."""
        owner = self.owners.get(aggregate_id)
        if owner is None:
            self.owners.ensure(self._app.head_position())
            owner = self.owners.get(aggregate_id)
        if owner is None or not scope.admits_owner(owner):
            raise NotFound(f"aggregate {aggregate_id} not found", aggregate_id=str(aggregate_id))
        return owner

    def aggregate_events(
        self, aggregate_id: uuid.UUID, scope: Scope, after_version: int, limit: int
    ) -> list[RecordedEvent]:
        owner = self.owner(aggregate_id, scope)
        events = self._app.events.get(aggregate_id, gt=after_version or None, limit=limit)
        return [recorded(e, 0, owner) for e in events]

    def state(
        self,
        aggregate_id: uuid.UUID,
        scope: Scope,
        *,
        version: int | None = None,
        at: datetime | None = None,
    ) -> AggregateState:
        """The aggregate as it was at ``version``, or after the last event recorded
        at or before ``at``, or now."""
        owner = self.owner(aggregate_id, scope)
        if at is not None:
            aggregate: Any = self._as_of_time(aggregate_id, at)
        else:
            aggregate = self._as_of_version(aggregate_id, version)
        if not isinstance(aggregate, AGGREGATE_CLASSES[owner.kind]):  # pragma: no cover - ids are unique
            raise NotFound(f"aggregate {aggregate_id} not found", aggregate_id=str(aggregate_id))
        return AggregateState(owner.kind, aggregate, aggregate.version, aggregate.modified_on)

    def _as_of_version(self, aggregate_id: uuid.UUID, version: int | None) -> Any:
        try:
            aggregate: Any = self._app.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise NotFound(f"aggregate {aggregate_id} not found", aggregate_id=str(aggregate_id)) from None
        if version is not None and aggregate.version < version:
            raise NotFound(
                f"aggregate {aggregate_id} has no version {version} (its last is {aggregate.version})",
                aggregate_id=str(aggregate_id), version=str(version),
            )
        return aggregate

    def _as_of_time(self, aggregate_id: uuid.UUID, at: datetime) -> Any:
        known: list[Any] = []
        for event in self._app.events.get(aggregate_id):
            if getattr(event, "timestamp") > at:
                break
            known.append(event)
        if not known:
            raise NotFound(
                f"aggregate {aggregate_id} did not exist at {at.isoformat()}",
                aggregate_id=str(aggregate_id), time=at.isoformat(),
            )
        return project_aggregate(None, known)
