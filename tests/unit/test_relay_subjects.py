"""The relay's subject tokens: every sub-account id NATS could misread is encoded
reversibly, each id to one token; the relay's settings refuse what NATS would."""

from __future__ import annotations

import re

import pytest

from server.config import ConfigError, Settings
from server.relay import subject_token, token_text

NATS_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


@pytest.mark.parametrize(
    ("sub_account", "token"),
    [
        ("crm-1", "crm-1"),
        ("acme.eu:team@x_1", "acme_2Eeu_3Ateam_40x_5F1"),
        ("_2E", "_5F2E"),  # an id that looks encoded is not confused with "."
        ("a b*>\u00e9", "a_20b_2A_3E_C3_A9"),
        ("", "_"),
    ],
)
def test_a_sub_account_is_one_safe_token_and_back(sub_account: str, token: str) -> None:
    assert subject_token(sub_account) == token
    assert NATS_TOKEN.fullmatch(token)
    assert token_text(token) == sub_account


def test_distinct_ids_have_distinct_tokens() -> None:
    ids = ["a.b", "a_b", "a_2Eb", "a-b", "a:b", "ab", ""]
    assert len({subject_token(i) for i in ids}) == len(ids)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RELAY_STREAM", "events.all"),
        ("RELAY_STREAM", "with space"),
        ("RELAY_SUBJECT_PREFIX", "calsync.>"),
        ("RELAY_SUBJECT_PREFIX", "calsync..x"),
        ("RELAY_BATCH_SIZE", "0"),
        ("RELAY_MAX_IN_FLIGHT", "-1"),
    ],
)
def test_relay_settings_refuse_what_nats_would(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"CALSYNC_{name}"):
        Settings.from_env({f"CALSYNC_{name}": value})


def test_the_nats_url_is_shown_without_its_password() -> None:
    shown = Settings.from_env({"CALSYNC_NATS_URL": "nats://relay:s3cret@nats.internal:4222"}).public()
    assert shown["nats_url"] == "nats://nats.internal:4222"
