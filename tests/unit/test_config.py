"""Settings come from the environment; a bad one is refused with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ConfigError, Settings, token_digest


def test_tokens_map_to_their_sub_accounts_and_are_kept_only_as_digests() -> None:
    settings = Settings.from_env({"CALSYNC_AUTH_TOKENS": '{"t0k3n": ["loc-1", "loc-2"], "admin": ["*"]}'})
    assert settings.auth_tokens == {
        token_digest("t0k3n"): frozenset({"loc-1", "loc-2"}),
        token_digest("admin"): frozenset({"*"}),
    }
    assert "t0k3n" not in repr(settings.auth_tokens)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CALSYNC_AUTH_TOKENS": "not json"}, "CALSYNC_AUTH_TOKENS"),
        ({"CALSYNC_AUTH_TOKENS": '{"t": "loc-1"}'}, "CALSYNC_AUTH_TOKENS"),
        ({"CALSYNC_EVENT_STORE": "mysql"}, "CALSYNC_EVENT_STORE"),
        ({"CALSYNC_EVENT_STORE": "postgres"}, "CALSYNC_POSTGRES_URL"),
        ({"CALSYNC_SYNC_INTERVAL": "-5"}, "CALSYNC_SYNC_INTERVAL"),
        ({"CALSYNC_CALDAV_TIMEOUT": "soon"}, "CALSYNC_CALDAV_TIMEOUT"),
        ({"CALSYNC_TLS_CERT_FILE": "cert.pem"}, "CALSYNC_TLS_KEY_FILE"),
        ({"CALSYNC_DB_POOL_SIZE": "3"}, "CALSYNC_DB_POOL_SIZE"),  # no room beside the held connections
        ({"CALSYNC_DB_POOL_SIZE": "ten"}, "CALSYNC_DB_POOL_SIZE"),
        ({"CALSYNC_DB_POOL_TIMEOUT": "0"}, "CALSYNC_DB_POOL_TIMEOUT"),
        ({"CALSYNC_DB_APPLICATION_PREFIX": "calsync eu"}, "CALSYNC_DB_APPLICATION_PREFIX"),
    ],
)
def test_a_bad_setting_is_refused_naming_its_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert named in str(caught.value)


def test_with_sqlite_the_keys_are_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    settings = Settings.from_env({"CALSYNC_DATA_DIR": str(tmp_path)})
    first = settings.key_bytes("cipher")
    assert len(first) == 32 and settings.key_bytes("cipher") == first
    assert (tmp_path / "keys" / "cipher.key").stat().st_mode & 0o777 == 0o600
    assert settings.key_bytes("vault") != first


def test_with_postgresql_the_keys_must_be_configured(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"CALSYNC_EVENT_STORE": "postgres", "CALSYNC_POSTGRES_URL": "postgresql://x@127.0.0.1/db", "CALSYNC_DATA_DIR": str(tmp_path)}
    )
    with pytest.raises(ConfigError, match="CALSYNC_CIPHER_KEY"):
        settings.key_bytes("cipher")
    bad = Settings.from_env({"CALSYNC_CIPHER_KEY": "bm90IGEga2V5"})
    with pytest.raises(ConfigError, match="16, 24 or 32 bytes"):
        bad.key_bytes("cipher")


def test_the_pool_and_the_application_name_come_from_the_environment() -> None:
    settings = Settings.from_env({"CALSYNC_DB_POOL_SIZE": "6", "CALSYNC_DB_APPLICATION_PREFIX": "calsync-eu"})
    assert settings.db_pool_size == 6 and settings.application_name == "calsync-eu-serve"
    default = Settings.from_env({})
    assert default.db_pool_size == 10 and default.application_name == "calsync-serve" and default.push_lease == 30


def test_the_bounds_of_what_syncs_record_about_appointments_are_settings() -> None:
    defaults = Settings.from_env({})
    assert (defaults.max_open_conflicts, defaults.max_held_spans) == (50, 400)
    chosen = Settings.from_env({"CALSYNC_MAX_OPEN_CONFLICTS": "3", "CALSYNC_MAX_HELD_SPANS": "7"})
    assert (chosen.max_open_conflicts, chosen.max_held_spans) == (3, 7)
    with pytest.raises(ConfigError, match="CALSYNC_MAX_OPEN_CONFLICTS"):
        Settings.from_env({"CALSYNC_MAX_OPEN_CONFLICTS": "0"})


def test_the_poller_is_sized_by_settings() -> None:
    settings = Settings.from_env({
        "CALSYNC_SYNC_CONCURRENCY": "128", "CALSYNC_SYNC_LEASE": "20", "CALSYNC_SYNC_VERIFY_EVERY": "1800",
        "CALSYNC_SYNC_ACTIVE_INTERVAL": "15", "CALSYNC_SYNC_ACTIVE_FOR": "600",
        "CALSYNC_CALDAV_HOST_CONCURRENCY": "16", "CALSYNC_CALDAV_RATE": "0",
    })
    assert (settings.sync_concurrency, settings.sync_lease, settings.sync_verify_every) == (128, 20.0, 1800.0)
    assert (settings.sync_active_interval, settings.sync_active_for) == (15.0, 600.0)
    assert (settings.caldav_host_concurrency, settings.caldav_rate) == (16, 0.0)
    for name, bad in (("SYNC_CONCURRENCY", "0"), ("SYNC_LEASE", "-1"), ("CALDAV_RATE", "fast")):
        with pytest.raises(ConfigError) as caught:
            Settings.from_env({f"CALSYNC_{name}": bad})
        assert f"CALSYNC_{name}" in str(caught.value)
