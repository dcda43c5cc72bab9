from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from adapters.persistence.connection_cache import ConnectionCache
from calendar_domain.connection import ConnectionStatus
from calendar_domain.connection_projection import ConnectionRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RECORD = ConnectionRecord("c1", "loc-1", "u1", "a@b.c", "acct", ConnectionStatus.ACTIVE, 1, NOW, NOW, 2, 7)


class CountingView:
    def __init__(self) -> None:
        self.rows = {"c1": RECORD}
        self.reads = 0
        self.during_read: Any = None

    def get_connection(self, sub_account_id: str, connection_id: str) -> ConnectionRecord | None:
        self.reads += 1
        row = self.rows.get(connection_id)
        if self.during_read is not None:
            self.during_read()
            self.during_read = None
        return row if row and row.sub_account_id == sub_account_id else None


def test_a_second_read_comes_from_memory_until_the_connection_changes() -> None:
    view = CountingView()
    cache = ConnectionCache(view)  # type: ignore[arg-type]
    assert cache.get_connection("loc-1", "c1") == RECORD
    assert cache.get_connection("loc-1", "c1") == RECORD
    assert view.reads == 1
    view.rows["c1"] = replace(RECORD, version=3)
    cache.changed("c1")
    assert cache.get_connection("loc-1", "c1").version == 3  # type: ignore[union-attr]
    assert view.reads == 2


def test_another_sub_account_never_sees_a_cached_connection() -> None:
    cache = ConnectionCache(CountingView())  # type: ignore[arg-type]
    assert cache.get_connection("loc-1", "c1") is not None
    assert cache.get_connection("loc-2", "c1") is None


def test_a_read_racing_with_a_change_does_not_keep_the_old_row() -> None:
    view = CountingView()
    cache = ConnectionCache(view)  # type: ignore[arg-type]

    def change_meanwhile() -> None:
        view.rows["c1"] = replace(RECORD, version=9)
        cache.changed("c1")

    view.during_read = change_meanwhile
    assert cache.get_connection("loc-1", "c1").version == 2  # type: ignore[union-attr]  # what it read
    assert cache.get_connection("loc-1", "c1").version == 9  # type: ignore[union-attr]  # not kept
