"""Connecting and syncing against answers shaped like iCloud's: a partition host,
the collection listed among its own changes, 404 propstats that are not deletions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from calendar_domain.connection_service import ConnectAccount
from server.bootstrap import Container, bootstrap
from tests.support import recorded_icloud as rec
from tests.support.recorded_icloud import RecordedICloud
from tests.support.stores import settings_for


@pytest.fixture
def icloud() -> Iterator[RecordedICloud]:
    with RecordedICloud() as server:
        yield server


@pytest.fixture
def container(icloud: RecordedICloud, tmp_path: Path) -> Iterator[Container]:
    with settings_for("sqlite", tmp_path, caldav_url=icloud.url, caldav_timeout=10, sync_enabled=False) as settings:
        made = bootstrap(settings)
        made.start()
        try:
            yield made
        finally:
            made.close()


def test_discovery_follows_the_partition_host_and_reads_apple_colours(icloud: RecordedICloud, container: Container) -> None:
    connection = container.connections.connect(ConnectAccount("loc-1", "u1", icloud.username, icloud.password)).connection
    [home] = connection.calendar_list()
    assert home.href == rec.CALENDAR and home.color == "#FF2968" and home.writable
    listeners = {listener for listener, _, _ in icloud.requests}
    assert listeners == {"front", "partition"}


def test_sync_skips_the_collection_itself_and_keeps_members_answered_with_a_404_propstat(
    icloud: RecordedICloud, container: Container
) -> None:
    connection = container.connections.connect(ConnectAccount("loc-1", "u1", icloud.username, icloud.password)).connection
    [home] = connection.calendar_list()
    container.configurations.add_conflict("loc-1", "u1", str(connection.id), home.calendar_id)
    container.scheduler.sync_now(str(connection.account_id), wait=10)
    schedule = container.schedules.schedule("loc-1", "u1")
    first = schedule.known(home.calendar_id)
    assert rec.CALENDAR not in first
    assert set(first) == {rec.DENTIST_HREF, rec.CHANGED_HREF, rec.DELETED_HREF}
    assert rec.PARTIAL_HREF not in first, "a member whose calendar-data is a 404 has nothing to import"

    report = container.scheduler.sync_now(str(connection.account_id), wait=10)
    assert not report.errors
    after = container.schedules.schedule("loc-1", "u1").known(home.calendar_id)
    assert rec.DELETED_HREF not in after, "a response-level 404 is a deletion"
    assert after[rec.DENTIST_HREF] == first[rec.DENTIST_HREF], "404 propstats of others delete nothing"
    assert after[rec.CHANGED_HREF].etag != first[rec.CHANGED_HREF].etag
    assert set(after) == {rec.DENTIST_HREF, rec.CHANGED_HREF}


def test_a_truncated_first_listing_is_followed_to_its_end(tmp_path: Path) -> None:
    """RFC 6578 3.6: a reply cut short says so with a 507 for the calendar and a
    token to go on from; every member is still imported, and the token kept is
    the last page's."""
    with RecordedICloud(truncate_first_listing=True) as icloud, settings_for(
        "sqlite", tmp_path, caldav_url=icloud.url, caldav_timeout=10, sync_enabled=False
    ) as settings:
        container = bootstrap(settings)
        container.start()
        try:
            connection = container.connections.connect(
                ConnectAccount("loc-1", "u1", icloud.username, icloud.password)
            ).connection
            [home] = connection.calendar_list()
            container.configurations.add_conflict("loc-1", "u1", str(connection.id), home.calendar_id)
            report = container.scheduler.sync_now(str(connection.account_id), wait=10)
            assert not report.errors, report.errors
            known = container.schedules.schedule("loc-1", "u1").known(home.calendar_id)
            assert set(known) == {rec.DENTIST_HREF, rec.CHANGED_HREF, rec.DELETED_HREF}
            reports = [path for _, method, path in icloud.requests if method == "REPORT" and path == rec.CALENDAR]
            assert len(reports) >= 3  # two listing pages and the multiget
            container.scheduler.sync_now(str(connection.account_id), wait=10)  # from the last page's token
            after = container.schedules.schedule("loc-1", "u1").known(home.calendar_id)
            assert rec.DELETED_HREF not in after
        finally:
            container.close()


class _LaggingConnections:
    """The connections read model as a SyncNow right after a connect meets it: the
    first time it is asked it has not read the connect yet (and catches up then)."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self.answers: list[list[str]] = []

    def connections_of_account(self, account_id: str) -> list[str]:
        if not self.answers:
            self.answers.append([])
            self._container.follower.catch_up()
            return []
        found = self._container.connection_view.connections_of_account(account_id)
        self.answers.append(found)
        return found

    def __getattr__(self, name: str) -> object:
        return getattr(self._container.connection_view, name)


def test_sync_now_waits_for_the_connections_model_to_list_a_new_connection(tmp_path: Path) -> None:
    with RecordedICloud() as icloud, settings_for(
        "sqlite", tmp_path, caldav_url=icloud.url, caldav_timeout=10, sync_enabled=False
    ) as settings:
        container = bootstrap(settings)
        container.start()
        try:
            container.follower.stop()  # the model lags: it has not read the connect
            connection = container.connections.connect(
                ConnectAccount("loc-1", "u1", icloud.username, icloud.password)
            ).connection
            [home] = connection.calendar_list()
            container.configurations.add_conflict("loc-1", "u1", str(connection.id), home.calendar_id)
            lagging = _LaggingConnections(container)
            container.scheduler._view = lagging  # type: ignore[assignment]
            report = container.scheduler.sync_now(str(connection.account_id), wait=10)
            assert lagging.answers[0] == [] and lagging.answers[-1] == [str(connection.id)]
            assert report.calendars_synced == 1 and not report.errors
            assert container.schedules.schedule("loc-1", "u1").known(home.calendar_id)
        finally:
            container.close()


class _BehindConnections:
    """The connections read model when a second sub-account has just connected the
    same account: it lists the first connection only, and reads the second's
    connect once it has been asked."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self.answers: list[list[str]] = []

    def connections_of_account(self, account_id: str) -> list[str]:
        found = self._container.connection_view.connections_of_account(account_id)
        self.answers.append(found)
        self._container.follower.catch_up()
        return found

    def __getattr__(self, name: str) -> object:
        return getattr(self._container.connection_view, name)


def test_sync_now_waits_for_the_connections_model_to_read_every_connection_made_before(tmp_path: Path) -> None:
    """A SyncNow right after another sub-account connected the same account syncs
    it for both (before, the model listed the first connection only, and the
    second user's calendar was left for the next poll)."""
    with RecordedICloud() as icloud, settings_for(
        "sqlite", tmp_path, caldav_url=icloud.url, caldav_timeout=10, sync_enabled=False
    ) as settings:
        container = bootstrap(settings)
        container.start()
        try:
            made = []
            for sub in ("loc-1", "loc-2"):
                if sub == "loc-2":
                    assert container.follower.wait_for(container.app.head_position(), 10)
                    container.follower.stop()  # the model has read loc-1's connect, not loc-2's
                connection = container.connections.connect(ConnectAccount(sub, "u1", icloud.username, icloud.password)).connection
                [home] = connection.calendar_list()
                container.configurations.add_conflict(sub, "u1", str(connection.id), home.calendar_id)
                made.append(str(connection.id))
            behind = _BehindConnections(container)
            container.scheduler._view = behind  # type: ignore[assignment]
            report = container.scheduler.sync_now(str(connection.account_id), wait=10)
            assert behind.answers[0] == made[:1] and sorted(behind.answers[-1]) == sorted(made)
            assert not report.errors
            for sub in ("loc-1", "loc-2"):
                assert container.schedules.schedule(sub, "u1").known(home.calendar_id), sub
        finally:
            container.close()
