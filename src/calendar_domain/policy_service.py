"""Application service for sub-account policies."""

from __future__ import annotations

from calendar_domain import values
from calendar_domain.application import CalendarIntegration
from calendar_domain.policy import SubAccountPolicy
from calendar_domain.idempotency import first_answer
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
        request_id = values.request_id("request_id", request_id)

        def change(policy: SubAccountPolicy) -> None:
            policy.set_stale_calendars_block(block, request_id)

        def attempt() -> int:
            policy = self.get(sub_account_id)
            if policy.has_seen(request_id):
                first_answer(self._app, policy, request_id, change, lambda: SubAccountPolicy(policy.sub_account_id))
                return self._app.head_position()
            change(policy)
            return self._app.record(policy)

        return retrying(attempt)
