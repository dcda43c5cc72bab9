"""ReadAhead: messages made in a thread ahead of the caller, in order, up to the
marked one; after it the caller's thread goes on; errors and early stops are
the caller's as if there were no thread."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from server.read_ahead import ReadAhead


class Source:
    """Numbered messages; notes which thread made each, and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.made_by: list[str] = []
        self.closed = threading.Event()

    def messages(self) -> Generator[int, None, None]:
        try:
            for n in range(self.count):
                if n == self.fail_at:
                    raise LookupError(f"no message {n}")
                self.made_by.append(threading.current_thread().name)
                yield n
        finally:
            self.closed.set()


def test_messages_come_in_order_made_ahead_until_the_marked_one_then_by_the_caller() -> None:
    source = Source(10)
    assert list(ReadAhead(source.messages(), lambda n: n == 5)) == list(range(10))
    caller = threading.current_thread().name
    assert set(source.made_by[:6]) == {"stream-read-ahead"}
    assert source.made_by[6:] == [caller] * 4
    assert source.closed.is_set()


def test_without_a_marked_message_every_message_is_made_ahead() -> None:
    source = Source(7)
    assert list(ReadAhead(source.messages(), lambda n: False, depth=1)) == list(range(7))
    assert set(source.made_by) == {"stream-read-ahead"}


def test_an_error_while_reading_ahead_reaches_the_caller_after_the_messages_before_it() -> None:
    source = Source(10, fail_at=3)
    received = []
    with pytest.raises(LookupError, match="no message 3"):
        for n in ReadAhead(source.messages(), lambda n: False):
            received.append(n)
    assert received == [0, 1, 2]


def test_a_caller_that_stops_early_leaves_no_thread_and_closes_the_source() -> None:
    source = Source(1000)
    messages = iter(ReadAhead(source.messages(), lambda n: False, depth=2))
    assert [next(messages), next(messages)] == [0, 1]
    messages.close()  # as gRPC does with a cancelled call's response iterator
    assert source.closed.is_set()
    assert len(source.made_by) <= 5  # at most a few ahead
    assert not [t for t in threading.enumerate() if t.name == "stream-read-ahead"]
