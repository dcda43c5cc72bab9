"""Making a stream's next messages while gRPC sends the last ones.

gRPC's synchronous server sends one message of a response stream at a time and
waits until the transport has taken it before asking for the next, so a stream
whose messages take time to make (a replay decodes and converts every event of
the log) leaves the connection idle while it makes one, and itself idle while
one is sent. Here a thread makes messages a few ahead, until the one the caller
says ends the hurry (a replay's caught-up message); from there the caller's own
thread goes on with the same iterator (no thread waits beside a live stream).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL = 0.1  # seconds between looks at whether the caller left, while the queue is full


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


class ReadAhead(Generic[T]):
    """Iterates ``messages`` with up to ``depth`` of them made ahead in a thread,
    up to and including the first for which ``last_ahead`` is true; then in the
    iterating thread. Errors reach the iterating thread as they were raised.
    When the caller stops early, the thread stops and closes ``messages``."""

    def __init__(
        self, messages: Generator[T, None, None], last_ahead: Callable[[T], bool], depth: int = 2
    ) -> None:
        self._messages = messages
        self._last_ahead = last_ahead
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._left = threading.Event()

    def __iter__(self) -> Iterator[T]:
        thread = threading.Thread(target=self._make, name="stream-read-ahead", daemon=True)
        thread.start()
        handed_over = False
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield item  # type: ignore[misc]
                if self._last_ahead(item):  # type: ignore[arg-type]
                    break
            thread.join()  # it has let go of the iterator
            handed_over = True
            yield from self._messages
        finally:
            if not handed_over:
                self._left.set()
                thread.join()
            else:
                self._messages.close()

    def _make(self) -> None:
        try:
            for message in self._messages:
                if not self._put(message):
                    self._messages.close()
                    return
                if self._last_ahead(message):
                    return
            self._put(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the iterating thread
            self._put(_Failed(error))

    def _put(self, item: object) -> bool:
        """False once the caller has left."""
        while not self._left.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False
