"""The feed fetcher's idle connections: several kept per host (the poller fetches
many feeds of one host at once), bounded per host and in all, the oldest closed."""

from __future__ import annotations

from typing import Any

from adapters.feeds.fetch import _Pool


class _Conn:
    def __init__(self, host: str, n: int) -> None:
        self.host, self.n, self.closed = host, n, False

    def key(self) -> tuple[str, str, int, str]:
        return ("https", self.host, 443, "192.0.2.1")

    def close(self) -> None:
        self.closed = True


def _give(pool: _Pool, *conns: Any) -> None:
    for conn in conns:
        pool.give(conn)


def test_several_idle_connections_of_one_host_are_kept_and_taken_back() -> None:
    pool = _Pool(size=64, per_key=8)
    conns = [_Conn("feeds.example", n) for n in range(3)]
    _give(pool, *conns)
    taken = [pool.take("https", "feeds.example", 443, ["192.0.2.1"]) for _ in range(4)]
    assert taken[:3] == conns[::-1] and taken[3] is None  # the most recently used first
    assert not any(c.closed for c in conns)


def test_idle_connections_are_bounded_per_host_and_in_all_the_oldest_closed() -> None:
    pool = _Pool(size=5, per_key=3)
    one = [_Conn("one.example", n) for n in range(4)]
    _give(pool, *one)
    assert [c.closed for c in one] == [True, False, False, False]  # three per host
    two = [_Conn("two.example", n) for n in range(3)]
    _give(pool, *two)
    assert sum(not c.closed for c in one + two) == 5  # five in all
    assert one[1].closed and not two[0].closed  # the host used longest ago lost one
    pool.close()
    assert all(c.closed for c in one + two)
