from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.caldav_servers import RadicaleServer
from tests.support.fixtures import new_account
from tests.support.grpc_service import Service, running_service
from tests.support.stores import STORES, settings_for


@pytest.fixture(params=STORES)
def service(request: pytest.FixtureRequest, tmp_path: Path, radicale: RadicaleServer) -> Iterator[Service]:
    """The whole service on a free port, over SQLite or PostgreSQL, with Radicale as iCloud."""
    with settings_for(request.param, tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        with running_service(settings) as running:
            yield running


@pytest.fixture
def account(radicale: RadicaleServer) -> tuple[str, str]:
    """A fresh iCloud stand-in account with a Home, a read-only-looking Work calendar and a
    Reminders list (which is not a calendar)."""
    username, password = new_account(radicale)
    radicale.create_calendar(username, password, "home", "Home", color="#FF2968FF")
    radicale.create_calendar(username, password, "work", "Work", color="#1BADF8")
    radicale.create_reminders_list(username, password, "reminders", "Reminders")
    return username, password


@pytest.fixture
def embedded_service(tmp_path: Path, radicale: RadicaleServer) -> Iterator[Service]:
    """The service on the embedded store only, for behaviour that does not depend on it."""
    with settings_for("sqlite", tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        with running_service(settings) as running:
            yield running
