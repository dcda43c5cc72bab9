"""The read model's lock on both stores: users share it, a rebuild holds it alone,
and a user that comes during a rebuild waits for it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.persistence.model_lock import ModelInUse, ModelLock
from server.bootstrap import build_model_lock
from tests.support.stores import STORES, settings_for
from tests.support.waiting import wait_for


@pytest.fixture(params=STORES)
def new_lock(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], ModelLock]]:
    """Makes the availability model's lock as each process does, on one store."""
    made: list[ModelLock] = []
    with settings_for(request.param, tmp_path / "data") as settings:

        def make() -> ModelLock:
            made.append(build_model_lock(settings, "availability"))
            return made[-1]

        try:
            yield make
        finally:
            for lock in made:
                lock.release()


def test_users_share_the_lock_and_a_rebuild_needs_it_alone(new_lock: Callable[[], ModelLock]) -> None:
    server, projection, rebuild = new_lock(), new_lock(), new_lock()
    assert server.try_share() and projection.try_share()
    with pytest.raises(ModelInUse, match="in use by another process"):
        rebuild.take_alone()
    server.release()
    with pytest.raises(ModelInUse):
        rebuild.take_alone()
    projection.release()
    rebuild.take_alone()
    assert not new_lock().try_share()
    with pytest.raises(ModelInUse):
        new_lock().take_alone()
    rebuild.release()
    assert new_lock().try_share()


def test_a_user_that_comes_during_a_rebuild_waits_for_it(
    new_lock: Callable[[], ModelLock], caplog: pytest.LogCaptureFixture
) -> None:
    rebuild, server = new_lock(), new_lock()
    rebuild.take_alone()
    shared = threading.Event()

    def start_server() -> None:
        server.share()
        shared.set()

    with caplog.at_level(logging.WARNING, logger="adapters.persistence.model_lock"):
        thread = threading.Thread(target=start_server, daemon=True)
        thread.start()
        wait_for(lambda: any("being rebuilt; waiting" in r.getMessage() for r in caplog.records), "the server to wait")
        assert not shared.is_set() and not server.held
        rebuild.release()
        thread.join(30)
    assert shared.is_set() and server.held
