"""Application service for sub-account policies."""

from __future__ import annotations

from collections.abc import Callable

from calendar_domain import values
from calendar_domain.application import CalendarIntegration
from calendar_domain.idempotency import first_answer
from calendar_domain.policy import ICloudChangePolicy, SubAccountPolicy
from calendar_domain.retry import retrying


class PolicyService:
    def __init__(self, app: CalendarIntegration) -> None:
        self._app = app

    def get(self, sub_account_id: str) -> SubAccountPolicy:
        sub_account_id = values.opaque_id("sub_account_id", sub_account_id)
        found = self._app.find(SubAccountPolicy.create_id(sub_account_id), SubAccountPolicy)
        return found if found is not None else SubAccountPolicy(sub_account_id)

    def set_stale_calendars_block(self, sub_account_id: str, block: bool, request_id: str = "") -> int:
        """Returns the log position of the change (the head when nothing changed)."""
        return self._change(sub_account_id, request_id, lambda p, r: p.set_stale_calendars_block(block, r))

    def set_icloud_changes(self, sub_account_id: str, policy: ICloudChangePolicy, request_id: str = "") -> int:
        """What appointments do when their events change in iCloud; returns the log
        position of the change (the head when nothing changed)."""
        return self._change(sub_account_id, request_id, lambda p, r: p.set_icloud_changes(policy, r))

    def _change(self, sub_account_id: str, request_id: str, change: Callable[[SubAccountPolicy, str], bool]) -> int:
        request_id = values.request_id("request_id", request_id)

        def attempt() -> int:
            policy = self.get(sub_account_id)
            if policy.has_seen(request_id):
                # a retry (or the same id for another request: refused)
                first_answer(
                    self._app, policy, request_id, lambda p: change(p, request_id),
                    lambda: SubAccountPolicy(policy.sub_account_id),
                )
                return self._app.head_position()
            change(policy, request_id)
            return self._app.record(policy)

        return retrying(attempt)
