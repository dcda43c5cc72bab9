from __future__ import annotations

import pytest

from calendar_domain.busy import AllDayPolicy, BusyRule, busy_rule


@pytest.mark.parametrize(
    ("transparent", "cancelled", "all_day", "policy", "expected"),
    [
        (False, False, False, AllDayPolicy.FOLLOW_TRANSP, (True, BusyRule.OPAQUE)),
        (True, False, False, AllDayPolicy.FOLLOW_TRANSP, (False, BusyRule.TRANSPARENT)),
        (False, True, False, AllDayPolicy.ALWAYS_BUSY, (False, BusyRule.CANCELLED)),
        (True, False, True, AllDayPolicy.ALWAYS_BUSY, (True, BusyRule.ALL_DAY_ALWAYS_BUSY)),
        (False, False, True, AllDayPolicy.ALWAYS_FREE, (False, BusyRule.ALL_DAY_ALWAYS_FREE)),
        (True, False, True, AllDayPolicy.FOLLOW_TRANSP, (False, BusyRule.TRANSPARENT)),
        (False, False, True, AllDayPolicy.FOLLOW_TRANSP, (True, BusyRule.OPAQUE)),
        (True, False, False, AllDayPolicy.ALWAYS_BUSY, (False, BusyRule.TRANSPARENT)),
    ],
)
def test_busy_follows_status_then_the_all_day_policy_then_transp(
    transparent: bool, cancelled: bool, all_day: bool, policy: AllDayPolicy, expected: tuple[bool, BusyRule]
) -> None:
    assert busy_rule(transparent=transparent, cancelled=cancelled, all_day=all_day, policy=policy) == expected
