"""The SubAccountPolicy aggregate: rules one sub-account sets for all its users.

Whether the last known busy times of a stale calendar (its connection needs
reconnecting, or it has not synced for a while) still block. By default they do
(fail closed): offering a time that is really taken is worse than hiding a free
one for a while.

What an appointment does when the user moves or deletes its event in iCloud
(DOMAIN.md, "When the two sides disagree"): follow iCloud (the default: a move
reschedules it, a deletion cancels it) or restore the CRM's version there.
"""

from __future__ import annotations

import uuid
from enum import Enum

from eventsourcing.domain import Aggregate, event

from calendar_domain.idempotency import RemembersRequests

POLICY_NAMESPACE = uuid.UUID("3b9d6c2e-8f1a-4e7b-a5c4-2d1e0f9a8b7c")


class ICloudChangePolicy(str, Enum):
    """What the CRM's appointment does when its event is changed in iCloud."""

    FOLLOW_ICLOUD = "follow_icloud"
    RESTORE = "restore"


class SubAccountPolicy(RemembersRequests, Aggregate):
    # Policies recorded before this rule existed restore from snapshots without it.
    icloud_changes = ICloudChangePolicy.FOLLOW_ICLOUD

    class Started(Aggregate.Created):
        sub_account_id: str

    class StaleCalendarPolicySet(Aggregate.Event):
        stale_calendars_block: bool
        request_id: str

    class ICloudChangePolicySet(Aggregate.Event):
        icloud_changes: str  # an ICloudChangePolicy value
        request_id: str

    @staticmethod
    def create_id(sub_account_id: str) -> uuid.UUID:
        return uuid.uuid5(POLICY_NAMESPACE, sub_account_id)

    @event(Started)
    def __init__(self, sub_account_id: str) -> None:
        self.sub_account_id = sub_account_id
        self.stale_calendars_block = True
        self.request_ids: list[str] = []

    def set_stale_calendars_block(self, block: bool, request_id: str = "") -> bool:
        if block is self.stale_calendars_block:
            return False
        self._stale_policy_set(block, request_id)
        return True

    @event(StaleCalendarPolicySet)
    def _stale_policy_set(self, stale_calendars_block: bool, request_id: str) -> None:
        self.stale_calendars_block = stale_calendars_block
        self._remember(request_id)

    def set_icloud_changes(self, policy: ICloudChangePolicy, request_id: str = "") -> bool:
        if policy is self.icloud_changes:
            return False
        self._icloud_changes_set(policy.value, request_id)
        return True

    @event(ICloudChangePolicySet)
    def _icloud_changes_set(self, icloud_changes: str, request_id: str) -> None:
        self.icloud_changes = ICloudChangePolicy(icloud_changes)
        self._remember(request_id)
