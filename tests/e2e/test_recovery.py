"""Recovery is immediate: new credentials for a connection that needed
reconnecting sync the account at once and reset its backoff, without SyncNow."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import sync_pb2 as sy
from tests.e2e.test_sync_api import connect_and_block
from tests.support.caldav_servers import RadicaleServer
from tests.support.fault_proxy import FaultProxy
from tests.support.grpc_service import auth, running_service
from tests.support.stores import STORES, settings_for
from tests.support.waiting import wait_for


@pytest.mark.parametrize("store", STORES)
def test_new_credentials_sync_at_once_and_reset_the_backoff(
    store: str, tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    with FaultProxy.for_server(radicale) as proxy:
        with settings_for(store, tmp_path / "data", caldav_url=proxy.url, caldav_timeout=10) as settings:
            # polls an hour apart: only the new credentials can make the account sync now
            with running_service(replace(settings, sync_interval=3600)) as service:
                connection_id, _ = connect_and_block(service, account, "loc-1")
                sync_now = sy.SyncNowRequest(sub_account_id="loc-1", connection_id=connection_id)
                assert service.sync.SyncNow(sync_now, metadata=auth()).calendars_synced == 1
                proxy.fail_with(401)  # Apple revoked the app-specific password
                assert service.sync.SyncNow(sync_now, metadata=auth()).calendars_synced == 0
                state = service.container.sync_state
                account_id = str(service.container.connections.get("loc-1", connection_id).account_id)
                # a refused password is no failure to back off from (the account waits
                # for new credentials), so make it one: the account backed off as well
                state.release(account_id, "", time.time() + 900, 3)
                assert state.failures(account_id) == 3
                next_due, _ = state.lease_of(account_id)
                assert next_due > time.time() + 300  # not polled on its own for a long while

                proxy.clear()
                replaced_at = time.time()
                replaced = service.connections.ReplaceCredentials(
                    pb.ReplaceCredentialsRequest(
                        sub_account_id="loc-1", connection_id=connection_id, app_password=account[1]
                    ),
                    metadata=auth(),
                )
                assert replaced.connection.status == pb.CONNECTION_STATUS_ACTIVE

                def synced_again() -> bool:
                    health = state.health(account_id)
                    return bool(health) and all(h.last_success_at >= replaced_at for h in health.values())

                wait_for(synced_again, "the account to sync after its new credentials")
                assert state.failures(account_id) == 0
