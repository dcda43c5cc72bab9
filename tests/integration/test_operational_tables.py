"""The operational tables (vault, sync state) are created once however many
creators start at once: threads sharing a process's pool, and processes of a
fleet, each with its own (on PostgreSQL two CREATE TABLE IF NOT EXISTS at once
collide in the catalogue)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from adapters.persistence.sync_state import SyncState
from adapters.persistence.vault import CredentialVault
from server.bootstrap import operational_database, process_pool
from tests.support.stores import STORES, settings_for


@pytest.mark.parametrize("store", STORES)
def test_tables_made_by_many_creators_at_once(store: str, tmp_path: Path) -> None:
    with settings_for(store, tmp_path / "data", db_pool_size=8) as settings:
        shared = process_pool(settings) if store == "postgres" else None
        # four threads on one pool, four "processes" on pools of their own
        databases = [operational_database(settings, "vault", shared) for _ in range(4)]
        databases += [operational_database(settings, "vault") for _ in range(4)]
        vaults = [CredentialVault(db, bytes(32)) for db in databases]
        states = [SyncState(operational_database(settings, "sync", shared)) for _ in range(8)]
        start = threading.Barrier(len(vaults))
        failures: list[BaseException] = []

        def use(number: int) -> None:
            start.wait()
            try:
                vaults[number].store(f"ref-{number}", f"secret-{number}")
                states[number].ensure_accounts([f"account-{number}"], 0.0)
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)

        threads = [threading.Thread(target=use, args=(n,)) for n in range(len(vaults))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            assert failures == []
            assert [vaults[0].fetch(f"ref-{n}") for n in range(8)] == [f"secret-{n}" for n in range(8)]
        finally:
            for vault in vaults:
                vault.close()
            for state in states:
                state.close()
            if shared is not None:
                shared.close()
