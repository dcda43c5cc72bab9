"""The polite client's gate: a throttled host is left alone until its time, others
are not; the rate limit spaces requests; each host has its own slots."""

from __future__ import annotations

import pytest

from adapters.icloud.throttle import HostGate, HostPaused


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_throttled_host_is_refused_until_its_retry_after_and_other_hosts_are_not() -> None:
    clock = Clock()
    gate = HostGate(per_host=2, clock=clock, sleep=clock.sleep)
    gate.throttled("https://p01-caldav.icloud.com/123/calendars/", retry_after=120)
    with pytest.raises(HostPaused) as refused:
        with gate.request("https://p01-caldav.icloud.com/123/calendars/home/"):
            pass
    assert refused.value.retry_after == 120
    with gate.request("https://p02-caldav.icloud.com/456/calendars/"):
        pass  # another partition host is asked as usual
    clock.now += 120
    with gate.request("https://p01-caldav.icloud.com/123/calendars/"):
        pass
    gate.throttled("https://p01-caldav.icloud.com/", retry_after=None)
    with pytest.raises(HostPaused) as refused:
        with gate.request("https://p01-caldav.icloud.com/"):
            pass
    assert refused.value.retry_after == 60, "a 429 that says nothing: a minute"


def test_the_rate_limit_spaces_requests_after_a_burst() -> None:
    clock = Clock()
    gate = HostGate(per_host=100, rate=50, burst=5, clock=clock, sleep=clock.sleep)
    for n in range(15):
        with gate.request(f"https://p{n % 3:02d}-caldav.icloud.com/"):
            pass
    assert clock.slept and len(clock.slept) == 10, "the burst of 5 goes at once, then one every 1/50 s"
    assert clock.now == pytest.approx(1000.0 + 10 / 50)


def test_each_host_has_its_own_slots() -> None:
    gate = HostGate(per_host=1)
    with gate.request("https://p01-caldav.icloud.com/a/"):
        with gate.request("https://p02-caldav.icloud.com/b/"):  # would block if the slot were shared
            pass
    with pytest.raises(ValueError):
        HostGate(per_host=0)
