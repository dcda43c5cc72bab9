"""A polite client: requests in flight per CalDAV host capped, a rate limit over all
hosts, and a host that asked us to wait (429, or 503 with Retry-After) left alone
until then, while every other host is polled as usual.

iCloud serves each account from one partition host (pNN-caldav.icloud.com) and
publishes no rate limit; its throttling is per host, and so is ours.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from adapters import metrics
from calendar_domain.errors import ProviderThrottled
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)
DEFAULT_RETRY_AFTER = 60.0  # a 429 that does not say how long


class HostPaused(ProviderThrottled):
    """Not sent: the host asked us to wait a while ago, and the while is not over."""


class HostGate:
    """``per_host``: requests in flight to one host at most; ``rate``: requests a
    second over every host (0: no limit), with bursts of up to ``burst``."""

    def __init__(
        self,
        *,
        per_host: int,
        rate: float = 0.0,
        burst: int = 10,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_host < 1 or rate < 0:
            raise ValueError("per_host must be at least 1 and rate not negative")
        self._per_host = per_host
        self._rate = rate
        self._burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._paused: dict[str, float] = {}  # host -> clock time until which it is left alone
        self._tokens = float(self._burst)
        self._refilled = clock()
        self.waiting: dict[str, int] = {}  # host -> requests waiting for a slot (tests, metrics)

    @contextmanager
    def request(self, url: str, *, insist: bool = False) -> Iterator[None]:
        """Around one request to ``url``'s host: refuses at once while the host asked
        us to wait (HostPaused, nothing sent; ``insist``: a user's SyncNow asks
        anyway, and the host says again if it still wants us to wait), else waits
        for a slot on the host and a token of the rate, and holds the slot until
        the answer."""
        host = _host(url)
        if not insist:
            self._check_paused(host)
        slot = self._slot(host)
        with self._lock:
            self.waiting[host] = self.waiting.get(host, 0) + 1
        try:
            slot.acquire()
        finally:
            with self._lock:
                self.waiting[host] -= 1
        try:
            self._take_token()
            yield
        finally:
            slot.release()

    def throttled(self, url: str, retry_after: float | None) -> None:
        """The host answered 429/503: leave it alone for ``retry_after`` seconds."""
        host = _host(url)
        wait = retry_after if retry_after is not None and retry_after > 0 else DEFAULT_RETRY_AFTER
        with self._lock:
            self._paused[host] = max(self._paused.get(host, 0.0), self._clock() + wait)
        metrics.THROTTLED.labels(host).inc()
        happened(log, "caldav.host_throttled", logging.WARNING, host=host, retry_after=round(wait, 1))

    def _check_paused(self, host: str) -> None:
        with self._lock:
            until = self._paused.get(host)
            if until is None:
                return
            left = until - self._clock()
            if left <= 0:
                del self._paused[host]
                return
        raise HostPaused(
            f"the calendar server at {host} asked us to wait; not asked again for {left:.0f}s", retry_after=left
        )

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            slot = self._slots.get(host)
            if slot is None:
                slot = self._slots[host] = threading.BoundedSemaphore(self._per_host)
            return slot

    def _take_token(self) -> None:
        """Token bucket: ``rate`` tokens a second, at most ``burst`` saved up."""
        if not self._rate:
            return
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
                self._refilled = now
                if self._tokens >= 1 - 1e-6:  # a token, give or take the float's rounding
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                short = (1 - self._tokens) / self._rate
            self._sleep(short)


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
