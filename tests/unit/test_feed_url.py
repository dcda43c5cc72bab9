"""feed_url's normalisation and refusals, feed_host, and the public-address rule."""

from __future__ import annotations

import pytest

from adapters.feeds.fetch import feed_host, feed_url, is_public_address
from calendar_domain.errors import InvalidValue


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("webcal://Example.COM/holidays.ics", "https://example.com/holidays.ics"),
        ("webcals://example.com/h.ics", "https://example.com/h.ics"),
        ("  HTTPS://example.com/h.ics?token=abc  ", "https://example.com/h.ics?token=abc"),
        ("WebCal://example.com:443/h.ics", "https://example.com/h.ics"),
        ("http://example.com:80/h.ics", "http://example.com/h.ics"),
        ("https://example.com:8443/h.ics", "https://example.com:8443/h.ics"),
        ("https://user:pa%40ss@Example.com/h.ics", "https://user:pa%40ss@example.com/h.ics"),
        ("https://example.com/h.ics#part", "https://example.com/h.ics"),
        ("https://example.com", "https://example.com/"),
        ("https://[2001:DB8::1]:8080/h.ics", "https://[2001:db8::1]:8080/h.ics"),
        ("https://bücher.example/h.ics", "https://xn--bcher-kva.example/h.ics"),
    ],
)
def test_feed_url_normalises(typed: str, normalised: str) -> None:
    assert feed_url("url", typed) == normalised


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("ftp://example.com/h.ics", "scheme ftp is not supported"),
        ("example.com/h.ics", "must start with https://"),
        ("https:///h.ics", "has no host"),
        ("webcal://", "has no host"),
        ("https://example.com/" + "a" * 2100, "longer than 2048"),
        ("https://example.com/h ics", "whitespace or control"),
        ("https://example.com/h\x00.ics", "whitespace or control"),
        ("https://example.com/h\r\nX: y", "whitespace or control"),
        ("https://example.com:99999/h.ics", "invalid port"),
        ("", "empty"),
    ],
)
def test_feed_url_refuses(typed: str, says: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        feed_url("feed_url", typed)
    assert refused.value.field == "feed_url"
    assert says in refused.value.message


def test_a_refusal_never_echoes_the_path_or_query() -> None:
    with pytest.raises(InvalidValue) as refused:
        feed_url("url", "https://example.com:99999/secret-token?key=hunter2")
    assert "secret" not in refused.value.message and "hunter2" not in refused.value.message
    assert "example.com" in refused.value.message


def test_feed_host_is_host_and_port_only() -> None:
    assert feed_host("https://user:pw@example.com/secret?token=1") == "example.com"
    assert feed_host("http://127.0.0.1:8080/x") == "127.0.0.1:8080"
    assert feed_host("https://[::1]:8443/x") == "[::1]:8443"


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "127.0.0.1", "127.8.9.10",
        "169.254.169.254", "100.64.0.1", "100.127.255.254", "::1", "fc00::1", "fd12:3456::1",
        "fe80::1", "fe80::1%eth0", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "0.0.0.0", "::",
        "224.0.0.1", "239.255.255.250", "ff02::1", "255.255.255.255", "240.0.0.1",
        "64:ff9b::7f00:1", "2002:7f00:1::1", "not an address",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(address)
