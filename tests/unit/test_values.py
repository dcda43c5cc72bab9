from __future__ import annotations

import pytest

from calendar_domain import values
from calendar_domain.errors import InvalidValue


@pytest.mark.parametrize("password", ["abcd-efgh-ijkl-mnop", "  abcd-efgh-ijkl-mnop "])
def test_an_app_specific_password_has_four_groups_of_four_lowercase_letters(password: str) -> None:
    assert values.app_password("app_password", password) == "abcd-efgh-ijkl-mnop"


@pytest.mark.parametrize(
    "password", ["", "hunter2", "ABCD-EFGH-IJKL-MNOP", "abcdefghijklmnop", "abcd-efgh-ijkl-mno1"]
)
def test_anything_else_is_refused_without_echoing_it(password: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        values.app_password("app_password", password)
    assert caught.value.field == "app_password"
    if password:
        assert password not in caught.value.message


def test_the_same_apple_id_in_any_case_is_one_account() -> None:
    assert values.account_id_for("Ann@Example.com") == values.account_id_for(" ann@example.com")


@pytest.mark.parametrize("value", ["", "a b", "x" * 129, "-leading", "semi;colon"])
def test_opaque_ids_must_be_printable_bounded_and_plain(value: str) -> None:
    with pytest.raises(InvalidValue):
        values.opaque_id("user_id", value)


def test_apple_ids_must_look_like_e_mail_addresses() -> None:
    assert values.apple_id("apple_id", "ann@example.com") == "ann@example.com"
    for bad in ["", "ann", "ann@", "@example.com", "ann@example"]:
        with pytest.raises(InvalidValue):
            values.apple_id("apple_id", bad)
