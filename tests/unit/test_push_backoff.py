"""Backoff of failed pushes: capped, jittered, never sooner than Retry-After."""

from __future__ import annotations

from adapters.icloud.pusher import BASE_DELAY, MAX_DELAY, backoff


def test_the_delay_grows_with_jitter_up_to_the_cap() -> None:
    for attempts in range(1, 20):
        ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** (attempts - 1))
        delays = [backoff(attempts) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len({backoff(3) for _ in range(20)}) > 1  # jittered


def test_retry_after_is_honoured_but_capped() -> None:
    assert backoff(1, retry_after=120) == 120
    assert backoff(1, retry_after=10 * MAX_DELAY) == MAX_DELAY
