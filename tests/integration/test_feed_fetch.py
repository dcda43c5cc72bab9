"""The feed fetcher against a real loopback HTTP server (tests/support/feed_server.py)."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence

import pytest

from prometheus_client import REGISTRY

from adapters.feeds.fetch import (
    FeedAddressNotAllowed,
    FeedFetcher,
    FeedRefused,
    FeedSettings,
    Validators,
)
from adapters.icloud.throttle import HostGate, HostPaused
from calendar_domain.errors import ProviderThrottled, ProviderUnavailable
from tests.support.feed_server import FeedServer

ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n"
LOOPBACK = FeedSettings(timeout=10.0, allow_private=True)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
def fetcher() -> Iterator[FeedFetcher]:
    with FeedFetcher(LOOPBACK) as made:
        yield made


def resolving(names: dict[str, str]) -> tuple[list[str], Callable[[str, int], Sequence[str]]]:
    """A resolver of the test's names (IP literals resolve to themselves); the list records every lookup."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return [names.get(host, host)]

    return asked, resolve


def test_a_conditional_get_answers_304_and_keeps_the_validators(server: FeedServer, fetcher: FeedFetcher) -> None:
    server.set("/h.ics", ICS)
    first = fetcher.fetch(server.url("/h.ics"))
    assert not first.not_modified and first.body == ICS.encode()
    assert first.validators.etag.startswith('"') and first.validators.last_modified
    assert first.requests == 1

    second = fetcher.fetch(server.url("/h.ics"), first.validators)
    assert second.not_modified and second.body == b""
    assert second.validators == first.validators
    sent = server.requests_to("/h.ics")[-1].headers
    assert sent["if-none-match"] == first.validators.etag
    assert sent["if-modified-since"] == first.validators.last_modified
    assert sent["accept"] == "text/calendar, */*;q=0.5"
    assert sent["accept-encoding"] == "gzip, deflate"
    assert sent["user-agent"] == "calendar-integration"

    server.set("/h.ics", ICS.replace("test", "changed"))
    third = fetcher.fetch(server.url("/h.ics"), second.validators)
    assert not third.not_modified and b"changed" in third.body
    assert third.validators.etag != first.validators.etag


def test_last_modified_alone_is_a_validator(server: FeedServer, fetcher: FeedFetcher) -> None:
    server.set("/h.ics", ICS, etag=False)
    first = fetcher.fetch(server.url("/h.ics"))
    assert first.validators.etag == "" and first.validators.last_modified
    second = fetcher.fetch(server.url("/h.ics"), first.validators)
    assert second.not_modified
    assert "if-none-match" not in server.requests_to("/h.ics")[-1].headers


def test_polls_of_an_unchanged_feed_reuse_one_connection(server: FeedServer, fetcher: FeedFetcher) -> None:
    server.set("/h.ics", ICS)
    validators = fetcher.fetch(server.url("/h.ics")).validators
    for _ in range(5):
        assert fetcher.fetch(server.url("/h.ics"), validators).not_modified
    assert server.connections == 1


def test_a_connection_the_server_closed_while_idle_is_replaced(server: FeedServer, fetcher: FeedFetcher) -> None:
    server.set("/h.ics", ICS)
    validators = fetcher.fetch(server.url("/h.ics")).validators
    server.close_connections()
    answer = fetcher.fetch(server.url("/h.ics"), validators)
    assert answer.not_modified and answer.requests == 1
    assert server.connections == 2


def test_a_redirect_is_followed_and_counted(server: FeedServer, fetcher: FeedFetcher) -> None:
    server.set("/new.ics", ICS)
    server.redirect("/old.ics", "/moved.ics", status=301)
    server.redirect("/moved.ics", server.url("/new.ics"), status=307)
    answer = fetcher.fetch(server.url("/old.ics"), Validators(etag='"stale"'))
    assert answer.body == ICS.encode()
    assert answer.requests == 3
    assert answer.final_url == server.url("/new.ics")
    assert all(seen.headers.get("if-none-match") == '"stale"' for seen in server.requests)


def test_a_redirect_loop_is_refused(server: FeedServer, fetcher: FeedFetcher) -> None:
    server.redirect("/a.ics", "/b.ics")
    server.redirect("/b.ics", "/a.ics")
    with pytest.raises(FeedRefused, match=r"redirected more than 5 times"):
        fetcher.fetch(server.url("/a.ics"))
    assert len(server.requests) == 6


def test_a_redirect_to_another_scheme_is_refused(server: FeedServer, fetcher: FeedFetcher) -> None:
    server.redirect("/h.ics", "file:///etc/passwd")
    with pytest.raises(FeedRefused, match=r"redirected to a file URL"):
        fetcher.fetch(server.url("/h.ics"))


def test_a_private_address_is_refused_unless_allowed(server: FeedServer) -> None:
    server.set("/h.ics", ICS)
    url = server.url("/h.ics", host="feed.example")
    asked, resolve = resolving({"feed.example": "127.0.0.1"})
    with FeedFetcher(FeedSettings(), resolve=resolve) as strict:
        with pytest.raises(FeedAddressNotAllowed) as refused:
            strict.fetch(url + "?token=secret")
    assert refused.value.message == (
        f"the feed's host feed.example resolves to a private address (127.0.0.1); only public addresses are fetched"
    )
    assert server.requests == []
    with FeedFetcher(LOOPBACK, resolve=resolve) as loose:
        answer = loose.fetch(url)
    assert answer.body == ICS.encode()
    # One lookup per fetch, and the connection went to the address it gave: "feed.example" is in no DNS.
    assert asked == ["feed.example", "feed.example"]
    assert server.requests[-1].headers["host"] == f"feed.example:{server.port}"


def test_a_redirect_to_a_private_address_is_refused(server: FeedServer) -> None:
    """public.example counts as public here (the loopback server stands in for the internet);
    private.example resolves to another loopback address, which does not."""
    server.redirect("/h.ics", server.url("/inside.ics", host="private.example"))
    server.set("/inside.ics", ICS)
    _, resolve = resolving({"public.example": "127.0.0.1", "private.example": "127.0.0.2"})
    fetcher = FeedFetcher(FeedSettings(), resolve=resolve, public=lambda address: address == "127.0.0.1")
    with fetcher, pytest.raises(FeedAddressNotAllowed, match=r"private.example resolves to a private address"):
        fetcher.fetch(server.url("/h.ics", host="public.example"))
    assert [seen.path for seen in server.requests] == ["/h.ics"]


@pytest.mark.parametrize("content_length", [True, False])
def test_a_body_above_the_cap_is_refused(server: FeedServer, content_length: bool) -> None:
    server.sized("/big.ics", 300_000, content_length=content_length)
    server.sized("/fits.ics", 100_000, content_length=content_length)
    with FeedFetcher(FeedSettings(allow_private=True, max_bytes=100_000)) as fetcher:
        with pytest.raises(FeedRefused, match=r"the feed at 127.0.0.1:\d+ is larger than 100000 bytes"):
            fetcher.fetch(server.url("/big.ics"))
        assert len(fetcher.fetch(server.url("/fits.ics")).body) == 100_000


def test_a_gzip_bomb_is_refused_and_gzip_is_decoded(server: FeedServer) -> None:
    server.set("/bomb.ics", b"\0" * 20_000_000, encoding="gzip")
    server.set("/small.ics", ICS * 100, encoding="gzip")
    server.set("/deflate.ics", ICS * 100, encoding="deflate")
    with FeedFetcher(FeedSettings(allow_private=True, max_bytes=1_000_000)) as fetcher:
        with pytest.raises(FeedRefused, match=r"larger than 1000000 bytes"):
            fetcher.fetch(server.url("/bomb.ics"))
        assert fetcher.fetch(server.url("/small.ics")).body == (ICS * 100).encode()
        assert fetcher.fetch(server.url("/deflate.ics")).body == (ICS * 100).encode()


def test_a_body_that_does_not_decode_is_refused(server: FeedServer, fetcher: FeedFetcher) -> None:
    server.answer("/h.ics", 200, {"Content-Encoding": "gzip"}, body=b"this is not gzip at all")
    with pytest.raises(FeedRefused, match=r"does not decode as gzip"):
        fetcher.fetch(server.url("/h.ics"))


def test_garbage_is_fetched_as_it_is(server: FeedServer, fetcher: FeedFetcher) -> None:
    server.garbage("/h.ics", size=5000)
    assert len(fetcher.fetch(server.url("/h.ics")).body) == 5000


@pytest.mark.parametrize("after_bytes", [None, 100])
def test_a_stalled_server_meets_the_deadline(server: FeedServer, after_bytes: int | None) -> None:
    server.stall("/h.ics", after_bytes=after_bytes)
    with FeedFetcher(FeedSettings(allow_private=True, timeout=0.5)) as fetcher:
        with pytest.raises(ProviderUnavailable, match=r"the feed at 127.0.0.1:\d+ did not answer within 0.5s") as late:
            fetcher.fetch(server.url("/h.ics"))
    assert not isinstance(late.value, ProviderThrottled)


def test_the_deadline_covers_a_slow_resolver() -> None:
    gate = threading.Event()

    def resolve(host: str, port: int) -> Sequence[str]:
        gate.wait()
        return ["127.0.0.1"]

    try:
        with FeedFetcher(FeedSettings(allow_private=True, timeout=0.3), resolve=resolve) as fetcher:
            with pytest.raises(ProviderUnavailable, match=r"did not answer within 0.3s"):
                fetcher.fetch("https://slow.example/h.ics")
    finally:
        gate.set()


@pytest.mark.parametrize(("status", "error", "says"), [
    (404, FeedRefused, "answered HTTP 404"),
    (410, FeedRefused, "answered HTTP 410"),
    (403, FeedRefused, "answered HTTP 403"),
    (500, ProviderUnavailable, "answered HTTP 500"),
    (503, ProviderUnavailable, "answered HTTP 503"),
])
def test_error_statuses(server: FeedServer, fetcher: FeedFetcher, status: int, error: type[Exception], says: str) -> None:
    server.answer("/h.ics", status)
    with pytest.raises(error) as raised:
        fetcher.fetch(server.url("/h.ics?token=secret"))
    assert not isinstance(raised.value, ProviderThrottled)
    assert str(raised.value) == f"the feed at 127.0.0.1:{server.port} {says}"


def test_503_with_retry_after_is_throttled_and_tells_the_gate(server: FeedServer) -> None:
    server.answer("/h.ics", 503, {"Retry-After": "120"})
    server.answer("/slow.ics", 429)
    gate = HostGate(per_host=2)
    with FeedFetcher(LOOPBACK, gate) as fetcher:
        with pytest.raises(ProviderThrottled) as throttled:
            fetcher.fetch(server.url("/h.ics"))
        assert throttled.value.retry_after == 120
        # The host is left alone now; a user's insisting fetch asks anyway.
        with pytest.raises(HostPaused):
            fetcher.fetch(server.url("/slow.ics"))
        assert len(server.requests) == 1
        with pytest.raises(ProviderThrottled) as again:
            fetcher.fetch(server.url("/slow.ics"), insist=True)
        assert again.value.retry_after is None
    assert len(server.requests) == 2


def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        with FeedFetcher(LOOPBACK) as fetcher, pytest.raises(ProviderUnavailable, match=r"refused the connection"):
            fetcher.fetch(f"http://127.0.0.1:{port}/h.ics")


def test_concurrent_fetches(server: FeedServer, fetcher: FeedFetcher) -> None:
    for n in range(8):
        server.set(f"/{n}.ics", ICS.replace("test", f"test{n}"))
    bodies: dict[int, bytes] = {}
    failures: list[BaseException] = []

    def poll(n: int) -> None:
        try:
            for _ in range(5):
                bodies[n] = fetcher.fetch(server.url(f"/{n}.ics")).body
        except BaseException as exc:  # noqa: BLE001 (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=poll, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert bodies == {n: ICS.replace("test", f"test{n}").encode() for n in range(8)}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """A test CA and a certificate it signed for feed.example: (ca, cert, key) file paths."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "feed test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "feed.example")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("feed.example")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(paths[0]), str(paths[1]), str(paths[2])


@pytest.fixture
def tls_server(certificates: tuple[str, str, str]) -> Iterator[FeedServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates[1], certificates[2])
    with FeedServer(tls=context) as running:
        yield running


def test_https_is_checked_against_the_host_name_at_the_checked_address(
    tls_server: FeedServer, certificates: tuple[str, str, str]
) -> None:
    tls_server.set("/h.ics", ICS)
    trusting = ssl.create_default_context(cafile=certificates[0])
    _, resolve = resolving({"feed.example": "127.0.0.1", "other.example": "127.0.0.1"})
    with FeedFetcher(LOOPBACK, resolve=resolve, tls=trusting) as fetcher:
        answer = fetcher.fetch(tls_server.url("/h.ics", host="feed.example").replace("https", "webcals", 1))
        assert answer.body == ICS.encode()
        assert answer.final_url == tls_server.url("/h.ics", host="feed.example")
        assert tls_server.tls_server_names == ["feed.example"]
        with pytest.raises(ProviderUnavailable, match=r"the TLS connection to the feed at other.example:\d+ failed"):
            fetcher.fetch(tls_server.url("/h.ics", host="other.example"))
    with FeedFetcher(LOOPBACK, resolve=resolve) as system_cas:
        with pytest.raises(ProviderUnavailable, match=r"the TLS connection to the feed at feed.example:\d+ failed"):
            system_cas.fetch(tls_server.url("/h.ics", host="feed.example"))
    assert len(tls_server.requests) == 1


def test_a_fetch_logs_its_host_only_and_is_counted(
    server: FeedServer, fetcher: FeedFetcher, caplog: pytest.LogCaptureFixture
) -> None:
    def counted(outcome: str) -> float:
        return REGISTRY.get_sample_value("calsync_feed_requests_total", {"outcome": outcome}) or 0.0

    before = {outcome: counted(outcome) for outcome in ("ok", "not_modified", "refused")}
    bytes_before = REGISTRY.get_sample_value("calsync_feed_bytes_total") or 0.0
    server.set("/h.ics", ICS)
    server.answer("/gone.ics", 410)
    caplog.set_level(logging.DEBUG, logger="adapters.feeds.fetch")
    answer = fetcher.fetch(server.url("/h.ics?token=s3cret"))
    fetcher.fetch(server.url("/h.ics?token=s3cret"), answer.validators)
    with pytest.raises(FeedRefused):
        fetcher.fetch(server.url("/gone.ics?token=s3cret"))
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        f"feed.fetched host=127.0.0.1:{server.port} status=200 bytes={len(ICS)} requests=1",
        f"feed.fetched host=127.0.0.1:{server.port} status=304 bytes=0 requests=1",
        f"feed.failed host=127.0.0.1:{server.port} outcome=refused requests=1",
    ]
    assert {outcome: counted(outcome) - before[outcome] for outcome in before} == {"ok": 1, "not_modified": 1, "refused": 1}
    assert (REGISTRY.get_sample_value("calsync_feed_bytes_total") or 0.0) - bytes_before == len(ICS)
